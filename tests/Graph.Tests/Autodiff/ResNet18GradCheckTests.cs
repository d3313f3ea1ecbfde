using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>Runs only where the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 has been restored.</summary>
public sealed class ResNet18FactAttribute : SkippableFactAttribute
{
    public static readonly string ModelPath = Path.Combine(
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    public ResNet18FactAttribute()
    {
        if (!File.Exists(ModelPath))
            Skip = $"ResNet18.onnx not found at {ModelPath}: restore NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 to run this test";
    }
}

public sealed class ResNet18GradCheckTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>The opset-8 CNTK ResNet18 (BatchNormalization 'spatial', asymmetric pads) imports, differentiates and
    /// matches finite differences on a few elements of each kind of parameter.</summary>
    [ResNet18Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var model = OnnxModels.Load(ResNet18FactAttribute.ModelPath);
        var convs = model.Graph.Node.Where(n => n.OpType == "Conv").ToList();
        var norms = model.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        string[] checkedNames =
        [
            convs[0].Input[1], convs[10].Input[1],
            norms[0].Input[2], norms[^1].Input[1], norms[^1].Input[2],
        ];
        // ONNX Runtime has no float64 Conv kernel, so this runs on the PyTorch float64 reference. Moving a first-layer
        // parameter by h moves thousands of ReLU inputs, some across zero: a step of 1e-6 keeps those kinks rare, and the
        // loss's rounding noise at that step (~1e-10) is ~1e-6 of the absolute floor, hence a tolerance of 1e-5.
        var result = Support.GradientTesting.Run(model, null, new GradCheckOptions
        {
            Parameters = checkedNames, MaxElementsPerTensor = 1, Step = 1e-6, Tolerance = 1e-5,
        });
        output.WriteLine(result.ToString());
        Assert.Equal(GradCheckBackend.PyTorch, result.Backend);
        Assert.Equal(checkedNames.Length, result.Parameters.Count);
        Assert.True(result.Passed, result.ToString());
        Assert.All(result.GradientModel.Graph.Node, n => Assert.Equal("", n.Domain));
    }
}
