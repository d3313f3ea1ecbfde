using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training.Tests;

public sealed class PreprocessingContractTests
{
    private static readonly string[] Classes = ["left", "middle", "right"];

    /// <summary>8-bit "images" of 16 pixels: class c is bright in its third of the row, dim elsewhere.</summary>
    private static InMemoryDataset Bytes(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new byte[n * 16];
        var y = new long[n];
        for (var i = 0; i < n; i++)
        {
            var c = rng.Next(3);
            y[i] = c;
            for (var j = 0; j < 16; j++) x[i * 16 + j] = (byte)(j * 3 / 16 == c ? 150 + rng.Next(106) : rng.Next(90));
        }
        return new InMemoryDataset(DataArrays.Of(DataArray.Create(x, n, 16)), DataArrays.Of(DataArray.Create(y, n)), classNames: Classes);
    }

    private static InMemoryDataset AsFloats(InMemoryDataset data, float factor) =>
        new(DataArrays.Of(DataArray.Create(data.Features.ToFloat32().Select(v => v * factor).ToArray(), [.. data.Features.Shape])), data.Targets);

    private static Sequential Mlp() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, 16], Name = "pixels" }), new Dense(8, "relu", name: "hidden"), new Dense(3, "softmax", name: "classes"),
    ]);

    private static Trainer Compiled(Model model)
    {
        var t = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 5);
        t.Compile(new Adam { LearningRate = 0.01 }, "sparse_categorical_crossentropy", ["accuracy"]);
        return t;
    }

    private static float[] Run(Onnx.ModelProto model, string input, float[] x, int rows)
    {
        using var session = Ort.Session(model);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(x, [rows, 16]))]);
        return results.First().AsTensor<float>().ToArray();
    }

    [Fact]
    public void ByteDataTrainsAsIfTheUserHadDividedBy255()
    {
        var data = Bytes(200, 1);
        using var raw = Compiled(Mlp());
        var fromBytes = raw.Fit(data, new FitOptions { Epochs = 3, BatchSize = 20, Verbose = 0 });
        using var scaled = Compiled(Mlp());
        var fromFloats = scaled.Fit(AsFloats(data, 1f / 255f), new FitOptions { Epochs = 3, BatchSize = 20, Verbose = 0 });

        var s = raw.Preprocessing!.For("pixels");
        Assert.Equal(1f / 255f, s.Scale);
        Assert.Equal([0.0, 255.0], s.Range);
        Assert.Equal(1f, scaled.Preprocessing!.For("pixels").Scale); // float data is the user's own business
        for (var e = 0; e < 3; e++) Assert.Equal(fromFloats["loss"][e], fromBytes["loss"][e], 5);
        Assert.True(fromBytes["loss"][0] < 1.5, $"first loss {fromBytes["loss"][0]}: unscaled 0–255 inputs would start far higher");
        Assert.True(raw.Preprocessing.Outputs[raw.OutputNames[0]] is { Classifier: true } o && o.ClassNames!.SequenceEqual(Classes));
    }

    [Fact]
    public void AStreamOfBatchesGetsTheSameRuleFromItsFirstBatch()
    {
        var data = Bytes(200, 1);
        using var streamed = Compiled(Mlp());
        var fromStream = streamed.Fit(data.Batches(20), null, new FitOptions { Epochs = 2, Verbose = 0 });
        using var scaled = Compiled(Mlp());
        var fromFloats = scaled.Fit(AsFloats(data, 1f / 255f).Batches(20), null, new FitOptions { Epochs = 2, Verbose = 0 });
        Assert.Equal(1f / 255f, streamed.Preprocessing!.For("pixels").Scale);
        for (var e = 0; e < 2; e++) Assert.Equal(fromFloats["loss"][e], fromStream["loss"][e], 5);
    }

    [Fact]
    public void TheExportedModelFoldsTheScaleAndTakesRawValues()
    {
        var data = Bytes(120, 2);
        var model = Mlp();
        using var trainer = Compiled(model);
        trainer.Fit(data, new FitOptions { Epochs = 2, BatchSize = 20, Verbose = 0 });
        var folded = trainer.ToOnnx();
        OnnxChecker.Check(folded);
        var first = folded.Graph.Node[0];
        Assert.Equal("Mul", first.OpType);
        Assert.Equal("pixels", first.Input[0]);
        Assert.Equal("pixels", folded.Graph.Input.Single().Name); // callers keep the input name

        var test = Bytes(7, 3);
        var rawValues = test.Features.ToFloat32();
        var fromRaw = Run(folded, "pixels", rawValues, 7);
        var unfolded = Run(model.ToOnnx(), "pixels", rawValues.Select(v => v * (1f / 255f)).ToArray(), 7);
        Assert.Equal(unfolded, fromRaw);
        Assert.Equal(fromRaw, trainer.Predict(test.Features)[0]);

        var meta = folded.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal((1f / 255f).ToString("R", System.Globalization.CultureInfo.InvariantCulture), meta[PreprocessingContract.ScaleKey]);
        Assert.Equal("[0,255]", meta[PreprocessingContract.InputRangeKey]);
        Assert.Equal("[\"left\",\"middle\",\"right\"]", meta[PreprocessingContract.ClassNamesKey]);
        var read = PreprocessingContract.FromOnnx(folded)!;
        Assert.True(read.Folded);
        Assert.Equal(1f / 255f, read.For("pixels").Scale);
        Assert.Equal(Classes, read.Outputs[trainer.OutputNames[0]].ClassNames);
    }

    [Fact]
    public void AnOffsetFoldsAsMulThenAdd()
    {
        var model = Mlp();
        using var trainer = Compiled(model);
        trainer.Preprocessing = new PreprocessingContract(
            new Dictionary<string, InputScaling> { ["pixels"] = new(1f / 127.5f, -1f, [0, 255]) }, new Dictionary<string, OutputLabels>());
        var data = Bytes(60, 4);
        var history = trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 20, Verbose = 0 });
        Assert.True(double.IsFinite(history["loss"][0]));
        var folded = trainer.ToOnnx();
        OnnxChecker.Check(folded);
        Assert.Equal(["Mul", "Add"], folded.Graph.Node.Take(2).Select(n => n.OpType));
        var x = data.Features.ToFloat32()[..(16 * 3)];
        var expected = Run(model.ToOnnx(), "pixels", x.Select(v => v * (1f / 127.5f) + -1f).ToArray(), 3);
        Assert.Equal(expected, Run(folded, "pixels", x, 3));
    }

    [Fact]
    public void AnExplicitRescaleReplacesTheRuleAndMustStayTheSame()
    {
        var data = Bytes(60, 5);
        using var trainer = Compiled(Mlp());
        trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 20, Verbose = 0, Rescale = 0.5 });
        Assert.Equal(0.5f, trainer.Preprocessing!.For("pixels").Scale);
        trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 20, Verbose = 0, Rescale = 0.5 });
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 20, Verbose = 0, Rescale = 0.25 }));
        Assert.Contains("rescale 0.25 differs", e.Message);
    }

    [Fact]
    public void IntegerInputsAreNeverScaled()
    {
        var pixels = Input.Of([16], "pixels");
        var ids = Input.Of([3], "ids", DataType.Int64);
        var h = new Concatenate().Apply(pixels, new Flatten(new FlattenConfig()).Apply(new Embedding(10, 2).Apply(ids)));
        var model = new Functional([pixels, ids], [new Dense(3, "softmax").Apply(h)]);
        var inputs = DataArrays.Named(("pixels", DataArray.Create(new byte[32], 2, 16)), ("ids", DataArray.Create(new byte[6], 2, 3)));
        var contract = PreprocessingContract.Resolve(model, [new LossSpec("mse")], inputs, null, null);
        Assert.Equal(["pixels"], contract.Inputs.Keys);
        Assert.False(contract.Outputs.Values.Single().Classifier);
        Assert.Equal(2f, PreprocessingContract.Resolve(model, [], inputs, null, 2).For("pixels").Scale);
    }

    [Fact]
    public void OlderFilesRecordAnUnfoldedScale()
    {
        var meta = new Dictionary<string, string> { [PreprocessingContract.ScaleKey] = "0.003921569", [PreprocessingContract.ClassNamesKey] = "[\"a\",\"b\"]" };
        var c = PreprocessingContract.FromMetadata(meta, ["x"], ["y"])!;
        Assert.False(c.Folded);
        Assert.Equal(0.003921569f, c.For("x").Scale);
        Assert.Equal(["a", "b"], c.Outputs["y"].ClassNames);
        Assert.Null(PreprocessingContract.FromMetadata(new Dictionary<string, string>()));
    }
}
