using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Support;

/// <summary>A few-channel stand-in for CNTK's ResNet18 in the same ONNX form (opset 8, BatchNormalization with
/// 'spatial', stride-2 convolutions with CNTK's asymmetric pads, fixed batch 1): a stem, then one downsampling residual
/// block between <see cref="BlockInput"/> and <see cref="BlockOutput"/> (3×3 stride 2 → BN → ReLU → 3×3 → BN, plus a
/// 1×1 stride-2 projection → BN, added, ReLU), then a 3×3 average pool.</summary>
public static class TinyResNet
{
    public const string Image = "image";
    public const string BlockInput = "stem_relu";
    public const string BlockOutput = "block_relu";
    public const string Output = "pooled";
    public const int Channels = 2;
    public const int Width = 4;
    public const int Side = 6;

    public static ModelProto Build(int seed = 3)
    {
        var graph = new GraphProto { Name = "tiny_resnet" };
        var rng = new Random(seed);
        float[] Random(int n, double scale, double offset = 0) => Enumerable.Range(0, n).Select(_ => (float)(offset + scale * (rng.NextDouble() * 2 - 1))).ToArray();
        void Init(string name, float[] data, params long[] dims) => graph.Initializer.Add(Tensors.Create(name, data, dims));
        void Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var n = new NodeProto { OpType = op, Name = name, Output = { output } };
            n.Input.AddRange(inputs);
            n.Attribute.AddRange(attributes);
            graph.Node.Add(n);
        }
        void Conv(string name, string x, int inChannels, int k, int stride, long[] pads)
        {
            Init(name + "_W", Random(Width * inChannels * k * k, 0.4), Width, inChannels, k, k);
            Node("Conv", name, [x, name + "_W"], name, Attr.Ints("kernel_shape", [k, k]), Attr.Ints("strides", [stride, stride]),
                Attr.Ints("pads", pads), Attr.Ints("dilations", [1, 1]), Attr.Int("group", 1));
        }
        void Norm(string name, string x)
        {
            Init(name + "_scale", Random(Width, 0.3, 1), Width);
            Init(name + "_bias", Random(Width, 0.2), Width);
            Init(name + "_mean", Random(Width, 0.2), Width);
            Init(name + "_var", Random(Width, 0.3, 1), Width);
            Node("BatchNormalization", name, [x, name + "_scale", name + "_bias", name + "_mean", name + "_var"], name,
                Attr.Int("spatial", 1), Attr.Float("epsilon", 1e-5f), Attr.Float("momentum", 0.9f));
        }

        Conv("stem_conv", Image, Channels, 3, 1, [1, 1, 1, 1]);
        Norm("stem_bn", "stem_conv");
        Node("Relu", "stem_relu", ["stem_bn"], BlockInput);
        Conv("block_conv1", BlockInput, Width, 3, 2, [1, 1, 0, 0]);
        Norm("block_bn1", "block_conv1");
        Node("Relu", "block_relu1", ["block_bn1"], "block_relu1");
        Conv("block_conv2", "block_relu1", Width, 3, 1, [1, 1, 1, 1]);
        Norm("block_bn2", "block_conv2");
        Conv("block_proj", BlockInput, Width, 1, 2, [0, 0, 0, 0]);
        Norm("block_proj_bn", "block_proj");
        Node("Add", "block_add", ["block_bn2", "block_proj_bn"], "block_add");
        Node("Relu", "block_relu", ["block_add"], BlockOutput);
        Node("AveragePool", "pool", [BlockOutput], Output, Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [1, 1]),
            Attr.Ints("pads", [0, 0, 0, 0]), Attr.Int("count_include_pad", 0));

        graph.Input.Add(OnnxModels.ValueInfo(Image, DataType.Float, Shape.Of(1, Channels, Side, Side)));
        graph.Output.Add(OnnxModels.ValueInfo(Output, DataType.Float, Shape.Of(1, Width, 1, 1)));
        var model = OnnxModels.NewModel(graph);
        model.IrVersion = 3;
        model.OpsetImport.Clear();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 8 });
        return model;
    }

    /// <summary>The block's float initializers: 3 convolutions and 3 BatchNorms of 4 tensors each.</summary>
    public static IReadOnlyList<string> BlockInitializers(ModelProto model) =>
        model.Graph.Initializer.Select(t => t.Name).Where(n => n.StartsWith("block_", StringComparison.Ordinal)).ToList();

    /// <summary>Uniform images in [0, 1).</summary>
    public static float[] Images(int n, int seed) => Reference.Random(n * Channels * Side * Side, seed, 0.5f).Select(v => v + 0.5f).ToArray();
}
