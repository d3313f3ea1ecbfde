using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using Onnx;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>The PyTorch float64 reference evaluator against ONNX's own node tests (Debian libonnx-testdata): every test
/// whose ops it implements either matches the expected outputs or is refused with a message (an attribute combination
/// it does not implement) — never a silently different result.</summary>
public sealed class TorchReferenceConformanceTests(ITestOutputHelper output)
{
    private const string NodeTests = "/usr/share/libonnx-testdata/data/node";

    private static readonly HashSet<DataType> Plain = [DataType.Float, DataType.Double, DataType.Int64, DataType.Int32, DataType.Bool];

    /// <summary>Node tests whose expected output the float64 reference cannot reproduce, with the reason.</summary>
    private static readonly Dictionary<string, string> KnownDifferences = new[]
    {
        "test_blackmanwindow_expanded", "test_blackmanwindow_symmetric_expanded", "test_hammingwindow_expanded",
        "test_hammingwindow_symmetric_expanded", "test_hannwindow_expanded", "test_hannwindow_symmetric_expanded",
    }.ToDictionary(n => n, _ => "onnx 1.12's expected window is ~7e-5 off the exact one (e.g. Hann symmetric N=10, n=7: " +
        "0.5 − 0.5·cos(2π·7/9) = 0.4131759; expected 0.4132468); the float64 evaluation gives the exact value", StringComparer.Ordinal)
        .Concat(new[] { "test_resize_downsample_scales_linear_align_corners", "test_resize_downsample_scales_cubic_align_corners" }
            .ToDictionary(n => n, _ => "align_corners with a fractional n·scale: the node test divides by n·scale − 1 (4 × 0.6 − 1 = 1.4), " +
                "the operator text, ONNX Runtime and the Resize gradient rule by the output length − 1 (2 − 1 = 1)", StringComparer.Ordinal))
        .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    [SkippableFact]
    public void NodeTestsOfImplementedOpsMatchOrAreRefused()
    {
        Assert.True(Directory.Exists(NodeTests), $"{NodeTests} is missing: install Debian's libonnx-testdata");
        if (TorchReference.Unavailable() is { } why) throw new SkipException(why);
        var ops = TorchReference.Ops();
        var cases = new List<(string Name, TorchReference.Job Job, List<TensorProto> Expected)>();
        foreach (var dir in Directory.GetDirectories(NodeTests).Order(StringComparer.Ordinal))
        {
            var model = OnnxModels.Load(Path.Combine(dir, "model.onnx"));
            if (!model.Graph.Node.All(n => ops.Contains(n.OpType) && n.Domain is "" or "ai.onnx")) continue;
            if (model.OpsetImport.Any(o => o.Domain is "" or "ai.onnx" && o.Version > 17)) continue;
            var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
            var inputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
            if (inputs.Concat(model.Graph.Output).Any(v => v.Type?.TensorType is not { } t || !Plain.Contains((DataType)t.ElemType))) continue;
            if (model.Graph.Node.Any(n => n.OpType.StartsWith("Random", StringComparison.Ordinal) || n.OpType == "Bernoulli")) continue;
            var data = Path.Combine(dir, "test_data_set_0");
            var feeds = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
            var files = Directory.GetFiles(data, "input_*.pb").Order(StringComparer.Ordinal).ToList();
            for (var i = 0; i < files.Count && i < inputs.Count; i++) feeds[inputs[i].Name] = TensorProto.Parser.ParseFrom(File.ReadAllBytes(files[i]));
            var expected = Directory.GetFiles(data, "output_*.pb").Order(StringComparer.Ordinal).Select(f => TensorProto.Parser.ParseFrom(File.ReadAllBytes(f))).ToList();
            cases.Add((Path.GetFileName(dir), new TorchReference.Job(model, feeds, model.Graph.Output.Select(o => o.Name).ToList()), expected));
        }
        Assert.True(cases.Count > 300, $"only {cases.Count} node tests use implemented ops");

        var results = TorchReference.Run(cases.Select(c => c.Job).ToList());
        var refused = new List<string>();
        var problems = new List<string>();
        var matched = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var (name, job, expected) = cases[i];
            var r = results[i];
            string? difference = null;
            if (r.Error is { } error)
            {
                // A loud refusal is what the reference promises for what it does not implement.
                refused.Add($"{name}: {error.Split('\n')[0]}");
                continue;
            }
            for (var k = 0; k < expected.Count && difference is null; k++)
                difference = Compare(r.Outputs[job.Outputs[k]], expected[k]) is { } d ? $"output {k} ({job.Outputs[k]}): {d}" : null;
            var known = KnownDifferences.ContainsKey(name);
            if (difference is null && known) problems.Add($"{name} now matches: remove it from {nameof(KnownDifferences)}");
            else if (difference is not null && !known) problems.Add($"{name}: {difference}");
            else if (difference is null) matched++;
        }
        output.WriteLine($"{cases.Count} node tests with implemented ops: {matched} match, {refused.Count} refused, {KnownDifferences.Count} known differences");
        foreach (var r in refused) output.WriteLine("refused " + r);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Null when equal: same dims, floats within 1e-4 relative + 1e-5 absolute (expected data is float32), the rest exact.</summary>
    private static string? Compare(TensorProto actual, TensorProto expected)
    {
        if (!actual.Dims.SequenceEqual(expected.Dims)) return $"dims [{string.Join(",", actual.Dims)}], expected [{string.Join(",", expected.Dims)}]";
        var type = (DataType)expected.DataType;
        if (type is DataType.Float or DataType.Double)
        {
            var a = Tensors.ToDoubles(actual);
            var b = Tensors.ToDoubles(expected);
            for (var i = 0; i < a.Length; i++)
            {
                if (double.IsNaN(a[i]) && double.IsNaN(b[i]) || a[i] == b[i]) continue;
                if (!(Math.Abs(a[i] - b[i]) <= 1e-5 + 1e-4 * Math.Abs(b[i]))) return $"element {i}: {a[i]} vs expected {b[i]}";
            }
            return null;
        }
        var x = Tensors.ToLongs(actual);
        var y = Tensors.ToLongs(expected);
        return x.SequenceEqual(y) ? null : $"values [{string.Join(",", x.Take(8))}…] vs expected [{string.Join(",", y.Take(8))}…]";
    }
}
