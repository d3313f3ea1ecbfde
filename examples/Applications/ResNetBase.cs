using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Onnx;
using NeuralService.Training.Data;
using Onnx;

namespace NeuralService.Applications;

/// <summary>ML.NET's pretrained ResNet18 split in two at the input of its last residual stage (layer4, 512 channels):
/// the frozen bottom (ResNetPreprocess's BGR mean subtraction, the stem, layer1–3) as an ONNX Runtime session with a
/// symbolic batch, and layer4 as an <see cref="ImportedBlock"/> to train. CNTK named the values; these are the two
/// cut points (ReLU347 ends layer3, ReLU393 ends layer4 before the 7×7 average pool).</summary>
public sealed class ResNetBase : IDisposable
{
    public const string ImageInput = "Input247";
    public const string Layer4Input = "ReLU347_Output_0";
    public const string Layer4Output = "ReLU393_Output_0";
    public const int Size = 224;
    public static readonly int[] Layer4InputShape = [256, 14, 14];

    private readonly InferenceSession _bottom;

    public ResNetBase(string directory, int threads = 0)
    {
        var resnet = OnnxModels.Load(Path.Combine(directory, "ResNet18Onnx", "ResNet18.onnx"));
        var prep = OnnxModels.Load(Path.Combine(directory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        Bottom = BottomModel(prep, resnet);
        Top = GraphCut.Of(resnet, Layer4Input, Layer4Output);
        using var options = new SessionOptions();
        if (threads > 0) options.IntraOpNumThreads = threads;
        _bottom = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(Bottom), options);
    }

    /// <summary>[batch, 3, 224, 224] RGB 0..255 → layer4's input [batch, 256, 14, 14].</summary>
    public ModelProto Bottom { get; }

    /// <summary>layer4: [batch, 256, 14, 14] → [batch, 512, 7, 7].</summary>
    public GraphCut Top { get; }

    public static ModelProto BottomModel(ModelProto prep, ModelProto resnet)
    {
        var g = new GraphBuilder();
        var image = g.AddInput("image", TensorProto.Types.DataType.Float, Shape.Of(Dim.Batch, 3, Size, Size));
        Value Constant(TensorProto t) => g.Constant(t.Clone(), t.Name);
        var prepped = GraphCut.Of(prep, prep.Graph.Input.Single(i => prep.Graph.Initializer.All(t => t.Name != i.Name)).Name, prep.Graph.Output.Single().Name)
            .Emit(g, image, Constant);
        var features = GraphCut.Of(resnet, ImageInput, Layer4Input).Emit(g, prepped, Constant);
        g.AddOutput(features, "layer4_input");
        return g.ToModel("resnet18_bottom");
    }

    /// <summary>Runs the frozen bottom on grey 28×28 images [n, 28, 28(, 1)] (0..255), upsampled to 224×224 and copied
    /// into the three channels; returns [n, 256, 14, 14].</summary>
    public DataArray Features(DataArray images, int batch = 16)
    {
        var n = images.Count;
        var pixels = images.ToFloat32();
        var side = images.Shape[1];
        var per = Layer4InputShape.Aggregate(1, (p, d) => p * d);
        var result = new float[n * per];
        var name = _bottom.InputMetadata.Keys.Single();
        for (var start = 0; start < n; start += batch)
        {
            var count = Math.Min(batch, n - start);
            var input = new DenseTensor<float>([count, 3, Size, Size]);
            for (var i = 0; i < count; i++)
                Upsample(pixels.AsSpan((start + i) * side * side, side * side), side, input.Buffer.Span.Slice(i * 3 * Size * Size, 3 * Size * Size));
            using var outputs = _bottom.Run([NamedOnnxValue.CreateFromTensor(name, input)]);
            outputs.First().AsTensor<float>().ToArray().CopyTo(result, start * per);
        }
        return DataArray.Create(result, [n, .. Layer4InputShape]);
    }

    /// <summary>side×side → 224×224 bilinear (pixel centres aligned, edges clamped), the grey value in all three channels.</summary>
    public static void Upsample(ReadOnlySpan<float> image, int side, Span<float> chw)
    {
        var ratio = (float)side / Size;
        for (var oy = 0; oy < Size; oy++)
        {
            var fy = Math.Clamp((oy + 0.5f) * ratio - 0.5f, 0, side - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, side - 1);
            var wy = fy - y0;
            for (var ox = 0; ox < Size; ox++)
            {
                var fx = Math.Clamp((ox + 0.5f) * ratio - 0.5f, 0, side - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, side - 1);
                var wx = fx - x0;
                var v = (1 - wy) * ((1 - wx) * image[y0 * side + x0] + wx * image[y0 * side + x1]) + wy * ((1 - wx) * image[y1 * side + x0] + wx * image[y1 * side + x1]);
                for (var c = 0; c < 3; c++) chw[c * Size * Size + oy * Size + ox] = v;
            }
        }
    }

    public void Dispose() => _bottom.Dispose();
}

/// <summary>Batches of an image dataset (augmented afresh each epoch when it is an <see cref="ImageDataGenerator"/> flow)
/// turned into layer4 inputs by the frozen bottom. A cache of bottom features would hold one augmentation only, so
/// they are recomputed every epoch.</summary>
public sealed class BottomFeatureDataset(IDataset images, ResNetBase resnet) : IDataset
{
    public IReadOnlyList<int> FeatureShape => ResNetBase.Layer4InputShape;
    public int? BatchCount => images.BatchCount;

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        foreach (var b in images.GetBatches(epoch))
            yield return new Batch(resnet.Features(b.Features), b.Labels, b.SampleWeights);
    }
}
