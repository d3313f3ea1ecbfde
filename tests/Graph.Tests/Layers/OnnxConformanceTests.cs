using NeuralService.Graph.Layers;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Layers;

/// <summary>Cross-check against ONNX's conformance data (Debian's libonnx-testdata, pytorch-converted): each case's
/// weights are loaded into OUR layer (channels_first) and its recorded output must be reproduced within 1e-4.
/// Cases that Keras cannot express are left out: test_Conv2d_dilated, test_Conv2d_padding, test_Conv3d_stride_padding,
/// test_MaxPool3d_stride_padding (symmetric pads that differ from TensorFlow's 'same', which puts the odd pad at the
/// end), test_ConvTranspose2d and test_ConvTranspose2d_no_bias (PyTorch crops a pad from both sides and adds
/// output_padding; Keras's 'same' crops 0 at the start for these sizes), test_MaxPool1d_stride_padding_dilation and
/// test_MaxPool2d_stride_padding_dilation (Keras pools have no dilation), and the BatchNorm training-mode cases
/// (PyTorch's running variance is unbiased, Keras's is biased).</summary>
public sealed class OnnxConformanceTests
{
    private const string Root = "/usr/share/libonnx-testdata/data/pytorch-converted";

    public static TheoryData<string> Cases => new()
    {
        "test_Conv1d", "test_Conv1d_dilated", "test_Conv1d_groups", "test_Conv1d_pad1", "test_Conv1d_pad1size1",
        "test_Conv1d_pad2", "test_Conv1d_pad2size1", "test_Conv1d_stride",
        "test_Conv2d", "test_Conv2d_depthwise", "test_Conv2d_depthwise_padded", "test_Conv2d_depthwise_strided",
        "test_Conv2d_depthwise_with_multiplier", "test_Conv2d_groups", "test_Conv2d_groups_thnn", "test_Conv2d_no_bias",
        "test_Conv2d_strided",
        "test_Conv3d", "test_Conv3d_dilated", "test_Conv3d_dilated_strided", "test_Conv3d_groups", "test_Conv3d_no_bias",
        "test_Conv3d_stride",
        "test_MaxPool1d", "test_MaxPool1d_stride", "test_MaxPool2d", "test_MaxPool3d", "test_MaxPool3d_stride",
        "test_AvgPool1d", "test_AvgPool1d_stride", "test_AvgPool2d", "test_AvgPool2d_stride", "test_AvgPool3d",
        "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input",
        "test_BatchNorm1d_3d_input_eval", "test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval",
        "test_BatchNorm3d_eval", "test_BatchNorm3d_momentum_eval",
    };

    private static TensorProto ReadTensor(string path) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));

    private static int[] Ints(NodeProto node, string name, int n, int fill) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.Select(v => (int)v).ToArray() : Enumerable.Repeat(fill, n).ToArray();

    /// <summary>Keras's padding name for ONNX pads: all zero is 'valid'; TensorFlow's 'same' pads for these sizes are 'same'.</summary>
    private static string PaddingOf(int[] pads, int[] spatial, int[] kernel, int[] strides, int[] dilations, string caseName)
    {
        if (pads.All(p => p == 0)) return "valid";
        var r = spatial.Length;
        for (var i = 0; i < r; i++)
        {
            var (b, e) = ConvReference.SamePads(spatial[i], kernel[i], strides[i], dilations[i]);
            if (b != pads[i] || e != pads[i + r]) throw new Xunit.Sdk.XunitException($"{caseName}: pads [{string.Join(",", pads)}] are not Keras 'same'");
        }
        return "same";
    }

    [Fact]
    public void CoversAtLeastTenCases() => Assert.True(Cases.Count<object[]>() >= 10);

    [Theory]
    [MemberData(nameof(Cases))]
    public void OurLayerReproducesTheRecordedOutput(string caseName)
    {
        var dir = Path.Combine(Root, caseName);
        var model = OnnxModels.Load(Path.Combine(dir, "model.onnx"));
        var input = ReadTensor(Path.Combine(dir, "test_data_set_0", "input_0.pb"));
        var output = ReadTensor(Path.Combine(dir, "test_data_set_0", "output_0.pb"));
        var dims = Tensors.DimsOf(input).Select(d => (int)d).ToArray();
        var weights = model.Graph.Initializer.ToDictionary(t => t.Name, Tensors.ToFloats);
        var spatial = dims[2..];
        var r = spatial.Length;
        var node = model.Graph.Node.First(n => n.OpType is "Conv" or "MaxPool" or "AveragePool" or "BatchNormalization");

        Layer layer;
        Action assign = () => { };
        switch (node.OpType)
        {
            case "Conv":
            {
                var w = model.Graph.Initializer.First(t => t.Name == node.Input[1]);
                var wDims = Tensors.DimsOf(w).Select(d => (int)d).ToArray();
                var kernel = wDims[2..];
                var strides = Ints(node, "strides", r, 1);
                var dilations = Ints(node, "dilations", r, 1);
                var group = (int)(node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1);
                var padding = PaddingOf(Ints(node, "pads", 2 * r, 0), spatial, kernel, strides, dilations, caseName);
                var bias = node.Input.Count > 2 ? weights[node.Input[2]] : null;
                if (group == dims[1] && group > 1 && r == 2)
                {
                    var dw = new DepthwiseConv2D(new DepthwiseConvConfig
                    {
                        DepthMultiplier = wDims[0] / dims[1], KernelSize = kernel, Strides = strides, DilationRate = dilations,
                        Padding = padding, DataFormat = "channels_first", UseBias = bias is not null,
                    });
                    layer = dw;
                    assign = () => { dw.Kernel.Assign(weights[node.Input[1]]); if (bias is not null) dw.Bias!.Assign(bias); };
                    break;
                }
                var c = new ConvConfig
                {
                    Filters = wDims[0], KernelSize = kernel, Strides = strides, DilationRate = dilations, Groups = group,
                    Padding = padding, DataFormat = "channels_first", UseBias = bias is not null,
                };
                BaseConv conv = r switch { 1 => new Conv1D(c), 2 => new Conv2D(c), _ => new Conv3D(c) };
                layer = conv;
                assign = () => { conv.Kernel.Assign(weights[node.Input[1]]); if (bias is not null) conv.Bias!.Assign(bias); };
                break;
            }
            case "MaxPool" or "AveragePool":
            {
                // The 1-D average pools were exported as 2-D pools over an unsqueezed trailing axis.
                var kernel = Ints(node, "kernel_shape", r, 1)[..r];
                var strides = Ints(node, "strides", kernel.Length, 1)[..r];
                var pads = Ints(node, "pads", 2 * kernel.Length, 0);
                var n = pads.Length / 2;
                var padding = PaddingOf([.. pads[..r], .. pads[n..(n + r)]], spatial, kernel, strides, Enumerable.Repeat(1, r).ToArray(), caseName);
                var c = new PoolingConfig { PoolSize = kernel, Strides = strides, Padding = padding, DataFormat = "channels_first" };
                layer = (node.OpType, r) switch
                {
                    ("MaxPool", 1) => new MaxPooling1D(c),
                    ("MaxPool", 2) => new MaxPooling2D(c),
                    ("MaxPool", _) => new MaxPooling3D(c),
                    (_, 1) => new AveragePooling1D(c),
                    (_, 2) => new AveragePooling2D(c),
                    _ => new AveragePooling3D(c),
                };
                break;
            }
            default:
            {
                var epsilon = node.Attribute.First(a => a.Name == "epsilon").F;
                var bn = new BatchNormalization(axis: 1, epsilon: epsilon);
                layer = bn;
                assign = () =>
                {
                    bn.Gamma!.Assign(weights[node.Input[1]]);
                    bn.Beta!.Assign(weights[node.Input[2]]);
                    bn.MovingMean.Assign(weights[node.Input[3]]);
                    bn.MovingVariance.Assign(weights[node.Input[4]]);
                };
                break;
            }
        }

        var (y, yDims) = LayerHarness.Run(layer, Tensors.ToFloats(input), dims, assign);
        Assert.Equal(Tensors.DimsOf(output).Select(d => (int)d).ToArray(), yDims);
        Reference.AssertClose(Tensors.ToFloats(output), y, 1e-4, caseName);
    }
}
