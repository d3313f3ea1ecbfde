using System.Collections.Concurrent;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using NeuralService.Graph.Onnx;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Tests.Support;
using Onnx;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Engine;

/// <summary>ONNX's own node tests (Debian libonnx-testdata) through the whole path: import into the registry, load
/// in the engine, one request through the batcher, outputs compared with the expected ones.</summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    private const string NodeTests = "/usr/share/libonnx-testdata/data/node";
    private const double RelativeTolerance = 1e-3, AbsoluteTolerance = 1e-4;

    private enum Outcome { Match, Mismatch, OrtCannotLoad, NonTensorIo, ImportRefused, EngineError }

    [Fact]
    public async Task Node_tests_that_onnx_runtime_loads_match_their_expected_outputs()
    {
        Assert.True(Directory.Exists(NodeTests), $"{NodeTests} is missing: install Debian's libonnx-testdata");
        var cases = Directory.GetDirectories(NodeTests).Order(StringComparer.Ordinal).ToList();
        Assert.True(cases.Count > 500, $"only {cases.Count} cases in {NodeTests}");
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxQueueDelay = TimeSpan.Zero }, cacheBytes: 1 << 20,
            ortLogLevel: OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        var results = new ConcurrentDictionary<string, (Outcome Outcome, string Detail)>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, async (dir, ct) =>
        {
            var name = Path.GetFileName(dir);
            try { results[name] = await RunCaseAsync(f, dir, name); }
            catch (Exception e) { results[name] = (Outcome.EngineError, $"{e.GetType().Name}: {e.Message}"); }
        });

        var counts = Enum.GetValues<Outcome>().ToDictionary(o => o, o => results.Values.Count(r => r.Outcome == o));
        var loadable = counts[Outcome.Match] + counts[Outcome.Mismatch] + counts[Outcome.ImportRefused] + counts[Outcome.EngineError];
        var summary = $"conformance: {cases.Count} node tests; ONNX Runtime cannot load {counts[Outcome.OrtCannotLoad]}; " +
            $"non-tensor inputs/outputs {counts[Outcome.NonTensorIo]}; of {loadable} loadable tensor models {counts[Outcome.Match]} match, " +
            $"{counts[Outcome.Mismatch]} differ, {counts[Outcome.ImportRefused]} refused by import, {counts[Outcome.EngineError]} failed in the engine";
        var report = new StringBuilder(summary).AppendLine().AppendLine();
        foreach (var outcome in Enum.GetValues<Outcome>().Where(o => o != Outcome.Match))
        {
            report.AppendLine($"## {outcome}");
            foreach (var (name, r) in results.Where(r => r.Value.Outcome == outcome).OrderBy(r => r.Key, StringComparer.Ordinal))
                report.AppendLine($"{name}: {r.Detail.ReplaceLineEndings(" ")}");
            report.AppendLine();
        }
        var reportPath = Path.Combine(AppContext.BaseDirectory, "conformance-report.txt");
        File.WriteAllText(reportPath, report.ToString());
        output.WriteLine(summary);
        output.WriteLine($"report: {reportPath}");
        Console.WriteLine(summary);
        Assert.True(counts[Outcome.Match] >= 0.9 * loadable, $"{summary}; see {reportPath}");
    }

    private static async Task<(Outcome, string)> RunCaseAsync(EngineFixture f, string dir, string name)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, "model.onnx"));
        try
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
                IntraOpNumThreads = 1,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, // the error is in the report
            };
            using var session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            return (Outcome.OrtCannotLoad, e.Message);
        }
        var model = ModelProto.Parser.ParseFrom(bytes);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var inputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Concat(model.Graph.Output).Any(v => v.Type?.ValueCase != TypeProto.ValueOneofCase.TensorType))
            return (Outcome.NonTensorIo, "sequence, optional or map values");

        NeuralService.Inference.Registry.ModelVersion version;
        try
        {
            version = await f.Registry.RegisterAsync(name, bytes);
        }
        catch (InferenceServiceException e)
        {
            return (Outcome.ImportRefused, e.Message);
        }
        var data = Path.Combine(dir, "test_data_set_0");
        var feeds = Directory.GetFiles(data, "input_*.pb").OrderBy(Index)
            .Select((p, i) => ToNamed(Load(p), inputs[i].Name, (DataType)inputs[i].Type.TensorType.ElemType)).ToList();
        var expected = Directory.GetFiles(data, "output_*.pb").OrderBy(Index).Select(p => Load(p)).ToList();
        IReadOnlyList<NamedTensor> actual;
        try
        {
            actual = await f.Engine.InferAsync(version, feeds);
        }
        catch (InferenceServiceException e)
        {
            return (Outcome.EngineError, e.Message);
        }
        finally
        {
            await f.Registry.DeleteModelAsync(name, force: true);
        }
        if (actual.Count != expected.Count) return (Outcome.Mismatch, $"{actual.Count} outputs, expected {expected.Count}");
        for (var i = 0; i < expected.Count; i++)
            if (Compare(actual[i], expected[i]) is { } problem) return (Outcome.Mismatch, $"output {i} ({actual[i].Name}): {problem}");
        return (Outcome.Match, "");
    }

    /// <summary>onnx 1.12's test data stores bfloat16 tensors as uint16 bit patterns; read them as the model declares.</summary>
    private static DataType BitPattern(DataType stored, DataType declared) =>
        stored == DataType.Uint16 && declared == DataType.Bfloat16 ? DataType.Bfloat16 : stored;

    private static int Index(string path) => int.Parse(Path.GetFileNameWithoutExtension(path).Split('_')[1]);

    private static TensorProto Load(string path) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));

    private static NamedTensor ToNamed(TensorProto t, string name, DataType declared)
    {
        var type = BitPattern((DataType)t.DataType, declared);
        return type == DataType.String
            ? new NamedTensor(name, type, t.Dims.ToArray(), strings: Tensors.ToStrings(t))
            : new NamedTensor(name, type, t.Dims.ToArray(), Tensors.Bytes(t));
    }

    /// <summary>Null when equal: same type and dims, floats within 1e-3 relative + 1e-4 absolute, the rest exact.</summary>
    private static string? Compare(NamedTensor actual, TensorProto expected)
    {
        var type = BitPattern((DataType)expected.DataType, actual.ElementType);
        if (actual.ElementType != type) return $"type {actual.ElementType}, expected {type}";
        if (!actual.Dims.SequenceEqual(expected.Dims)) return $"dims [{string.Join(",", actual.Dims)}], expected [{string.Join(",", expected.Dims)}]";
        if (type == DataType.String)
            return actual.Strings!.SequenceEqual(Tensors.ToStrings(expected)) ? null : "strings differ";
        var want = Tensors.Bytes(expected);
        if (!DataTypes.IsFloat(type)) return actual.Data!.SequenceEqual(want) ? null : "values differ";
        var a = ToDoubles(actual.Data!, type);
        var b = ToDoubles(want, type);
        for (var i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) && double.IsNaN(b[i])) continue;
            if (a[i] == b[i]) continue; // equal infinities
            if (!(Math.Abs(a[i] - b[i]) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(b[i])))
                return $"element {i}: {a[i]} vs expected {b[i]}";
        }
        return null;
    }

    private static double[] ToDoubles(byte[] bytes, DataType type) => type switch
    {
        DataType.Float => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray().Select(v => (double)v).ToArray(),
        DataType.Double => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray(),
        DataType.Float16 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(v => (double)v).ToArray(),
        // bfloat16 is the upper half of a float32.
        DataType.Bfloat16 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes).ToArray()
            .Select(v => (double)BitConverter.Int32BitsToSingle(v << 16)).ToArray(),
        _ => throw new NotSupportedException(type.ToString()),
    };
}
