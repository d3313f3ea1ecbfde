using System.Diagnostics;
using System.Text.Json;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>The Scan gradients of LSTM and GRU against PyTorch's float64 autograd of the same recurrence (Debian's
/// python3-torch; torch_grad.py beside this file), for loss = Σ y ⊙ P over the returned sequence.</summary>
public sealed class ScanTorchGradientTests
{
    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void MatchesPyTorchAutograd(string kind)
    {
        const int batch = 3, time = 6, features = 4, units = 5;
        RecurrentLayer layer = kind == "lstm" ? new LSTM(units, returnSequences: true) : new GRU(units, returnSequences: true);
        var model = RecurrentHarness.Model(layer, null, features);
        RecurrentHarness.Randomize(model, 31);
        var x = Reference.Random(batch * time * features, 32);
        var projection = Reference.Random(batch * time * units, 33);

        var g = new GraphBuilder();
        var trace = model.Trace(g, new CallContext(training: true));
        var p = g.Constant(projection, [batch, time, units], "projection");
        var loss = g.Node1("ReduceSum", [g.Node1("Mul", [trace.Outputs[0], p])], [Onnx.Attr.Int("keepdims", 0)]);
        var weights = layer.Weights.ToDictionary(w => w.ShortName, w => Layer.WeightValue(g, w));
        var input = trace.Inputs[0];
        var grads = Gradients.Build(g, loss, [input, .. weights.Values]);
        g.AddOutput(grads[input.Name], "d_x");
        foreach (var (name, v) in weights) g.AddOutput(grads[v.Name], "d_" + name);
        var onnx = g.ToModel();
        OnnxChecker.Check(onnx);
        var ours = Ort.Run(onnx, (input.Name, x, [batch, time, features]));

        var reference = Torch(new Dictionary<string, object>
        {
            ["kind"] = kind, ["batch"] = batch, ["time"] = time, ["features"] = features, ["units"] = units,
            ["x"] = x, ["projection"] = projection,
            ["kernel"] = layer.Weights.Single(w => w.ShortName == "kernel").Data,
            ["recurrent_kernel"] = layer.Weights.Single(w => w.ShortName == "recurrent_kernel").Data,
            ["bias"] = layer.Weights.Single(w => w.ShortName == "bias").Data,
        });
        Reference.AssertClose(reference["x"], ours["d_x"].Data, 1e-4, "dx");
        foreach (var name in new[] { "kernel", "recurrent_kernel", "bias" })
            Reference.AssertClose(reference[name], ours["d_" + name].Data, 1e-4, "d" + name);
    }

    private static Dictionary<string, float[]> Torch(Dictionary<string, object> input)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "Graph.Tests", "Layers", "Recurrent", "torch_grad.py");
        var psi = new ProcessStartInfo(OnnxChecker.Python, script)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        process.StandardInput.Write(JsonSerializer.Serialize(input));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"torch_grad.py failed: {stderr}");
        return JsonSerializer.Deserialize<Dictionary<string, double[]>>(stdout)!
            .ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => (float)v).ToArray());
    }
}
