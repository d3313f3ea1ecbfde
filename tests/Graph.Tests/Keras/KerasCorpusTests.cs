using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Tests.Specs;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

/// <summary>Real configurations saved by Keras 2.0–3.14: each imports, reports exactly Keras's parameter count
/// (index.json's total_params), and exports a valid ONNX graph that runs.</summary>
public sealed class KerasCorpusTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        RepoPaths.KerasCorpusFiles();
        var index = Path.Combine(RepoPaths.KerasCorpus, "index.json");
        foreach (var entry in JsonNode.Parse(File.ReadAllText(index))!.AsArray()) data.Add(entry!["file"]!.GetValue<string>());
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void CorpusModelImportsWithKerasParameterCountAndExports(string file)
    {
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.KerasCorpus, "index.json")))!.AsArray()
            .Single(e => e!["file"]!.GetValue<string>() == file)!;
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.KerasCorpus, file));
        Assert.Equal(index["total_params"]!.GetValue<long>(), model.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var batch = onnx.Graph.Input[0].Type.TensorType.Shape.Dim[0].HasDimValue ? (int)onnx.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue : 2;
        SeedSpecsTests.RunWithRandomInputs(onnx, batch);
    }
}
