using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Bad data fails before the first step, with a message naming the problem.</summary>
public sealed class TrainerValidationTests
{
    private static Trainer Compiled()
    {
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(3, "softmax")]);
        var t = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu });
        t.Compile(new Sgd(), "sparse_categorical_crossentropy", ["accuracy"]);
        return t;
    }

    private static string FitError(InMemoryDataset data)
    {
        using var t = Compiled();
        var e = Assert.ThrowsAny<ArgumentException>(() => t.Fit(data, new FitOptions { Verbose = 0 }));
        Assert.Equal(0, t.Step);
        return e.Message;
    }

    [Fact]
    public void MismatchedLengthsAreRefused() =>
        Assert.Contains("labels have 2 samples but features have 3", Assert.Throws<ArgumentException>(() =>
            new InMemoryDataset(DataArray.Create(new float[12], 3, 4), DataArray.Create(new long[2], 2))).Message);

    [Fact]
    public void LabelsOutOfRangeAreNamed() =>
        Assert.Contains("label 7 of sample 1 is not a class index in [0, 3)",
            FitError(new InMemoryDataset(DataArray.Create(new float[8], 2, 4), DataArray.Create(new long[] { 0, 7 }, 2))));

    [Fact]
    public void NaNInFeaturesIsNamed()
    {
        var x = new float[8];
        x[5] = float.NaN;
        Assert.Contains("sample 1 holds a non-finite value", FitError(new InMemoryDataset(DataArray.Create(x, 2, 4), DataArray.Create(new long[] { 0, 1 }, 2))));
    }

    [Fact]
    public void WrongSampleShapesAreNamed() =>
        Assert.Contains("samples are shaped (5) but the model's input",
            FitError(new InMemoryDataset(DataArray.Create(new float[10], 2, 5), DataArray.Create(new long[] { 0, 1 }, 2))));
}
