using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>GradCheck on the ONNX conformance models converted from PyTorch (opset 6, upgraded on import):
/// gradients w.r.t. their initializers and float inputs, at the inputs of test_data_set_0.</summary>
public sealed class GradCheckTests
{
    private const string Data = "/usr/share/libonnx-testdata/data";

    public static (ModelProto Model, Dictionary<string, TensorProto> Inputs) Load(string dir)
    {
        var model = OnnxModels.Load(Path.Combine(dir, "model.onnx"));
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var inputNames = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToList();
        var inputs = new Dictionary<string, TensorProto>();
        for (var i = 0; i < inputNames.Count; i++)
        {
            var path = Path.Combine(dir, "test_data_set_0", $"input_{i}.pb");
            if (File.Exists(path)) inputs[inputNames[i]] = TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        return (model, inputs);
    }

    /// <summary>A cross-section of the 106 pytorch-converted / pytorch-operator models that pass (every model whose ops have
    /// rules and whose recorded inputs are usable): every op family, 1-D/2-D/3-D, strides, pads, dilations, groups.</summary>
    public static IEnumerable<object[]> PassingModels() => new[]
    {
        "pytorch-converted/test_AvgPool1d_stride", "pytorch-converted/test_AvgPool2d", "pytorch-converted/test_AvgPool3d_stride",
        "pytorch-converted/test_BatchNorm1d_3d_input_eval", "pytorch-converted/test_BatchNorm2d_momentum_eval",
        "pytorch-converted/test_BatchNorm3d_eval", "pytorch-converted/test_ConstantPad2d",
        "pytorch-converted/test_Conv1d_dilated", "pytorch-converted/test_Conv1d_groups",
        "pytorch-converted/test_Conv2d_depthwise_strided", "pytorch-converted/test_Conv2d_padding",
        "pytorch-converted/test_Conv2d_strided", "pytorch-converted/test_Conv3d_dilated_strided",
        "pytorch-converted/test_Conv3d_stride_padding", "pytorch-converted/test_ConvTranspose2d", "pytorch-converted/test_ELU",
        "pytorch-converted/test_Embedding", "pytorch-converted/test_GLU_dim", "pytorch-converted/test_LeakyReLU_with_negval",
        "pytorch-converted/test_Linear", "pytorch-converted/test_Linear_no_bias", "pytorch-converted/test_LogSoftmax",
        "pytorch-converted/test_MaxPool1d_stride_padding_dilation", "pytorch-converted/test_MaxPool2d",
        "pytorch-converted/test_MaxPool3d_stride_padding", "pytorch-converted/test_PReLU_1d_multiparam",
        "pytorch-converted/test_PReLU_3d", "pytorch-converted/test_PixelShuffle",
        "pytorch-converted/test_PoissonNLLLLoss_no_reduce", "pytorch-converted/test_SELU", "pytorch-converted/test_Softmin",
        "pytorch-converted/test_Softplus", "pytorch-converted/test_Softsign", "pytorch-converted/test_ZeroPad2d",
        "pytorch-converted/test_log_softmax_dim3", "pytorch-converted/test_softmax_functional_dim3",
        "pytorch-operator/test_operator_addmm", "pytorch-operator/test_operator_basic", "pytorch-operator/test_operator_chunk",
        "pytorch-operator/test_operator_clip", "pytorch-operator/test_operator_concat2",
        "pytorch-operator/test_operator_convtranspose", "pytorch-operator/test_operator_index",
        "pytorch-operator/test_operator_max", "pytorch-operator/test_operator_maxpool", "pytorch-operator/test_operator_mm",
        "pytorch-operator/test_operator_params", "pytorch-operator/test_operator_permute2",
        "pytorch-operator/test_operator_reduced_mean_keepdim", "pytorch-operator/test_operator_reduced_sum",
        "pytorch-operator/test_operator_repeat_dim_overflow", "pytorch-operator/test_operator_symbolic_override_nested",
        "pytorch-operator/test_operator_view",
        "node/test_instancenorm_example", "node/test_instancenorm_epsilon",
        "pytorch-converted/test_ReflectionPad2d", "pytorch-converted/test_ReplicationPad2d", "pytorch-operator/test_operator_pad",
    }.Select(d => new object[] { d });

    /// <summary>All the models in one batch (one PyTorch reference process for those ONNX Runtime cannot run in float64);
    /// gradients w.r.t. initializers and float inputs, every element up to 64 per tensor, sampled above.</summary>
    [SkippableFact]
    public void ConformanceModelsPass()
    {
        var dirs = PassingModels().Select(d => (string)d[0]).ToList();
        var requests = dirs.Select(d =>
        {
            var (model, inputs) = Load(Path.Combine(Data, d));
            return new GradCheckRequest(model, inputs, new GradCheckOptions { Wrt = GradCheckWrt.All, MaxElementsPerTensor = 64 });
        }).ToList();
        var results = GradientTesting.Run(requests);
        var failures = dirs.Zip(results).Where(r => !r.Second.Passed || r.Second.Parameters.Count == 0).Select(r => $"{r.First}: {r.Second}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.All(results.SelectMany(r => r.GradientModel.Graph.Node), n => Assert.Equal("", n.Domain));
    }

    /// <summary>These models' test_data_set_0 inputs are uninitialized memory (values like 1e+198), so they run on random inputs.</summary>
    [SkippableTheory]
    [InlineData("pytorch-operator/test_operator_add_broadcast")]
    [InlineData("pytorch-operator/test_operator_add_size1_right_broadcast")]
    [InlineData("pytorch-operator/test_operator_add_size1_singleton_broadcast")]
    [InlineData("pytorch-operator/test_operator_addconstant")]
    public void LegacyBroadcastModelsPassOnRandomInputs(string dir)
    {
        var (model, _) = Load(Path.Combine(Data, dir));
        var result = GradientTesting.Run(model, null, new GradCheckOptions { Wrt = GradCheckWrt.All });
        Assert.Equal(GradCheckBackend.OnnxRuntime, result.Backend);
        Assert.True(result.Passed, result.ToString());
    }
}
