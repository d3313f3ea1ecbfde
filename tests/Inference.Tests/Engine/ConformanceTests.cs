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
/// in the engine, one request through the batcher, outputs compared with the expected ones. Every case matches except
/// those listed, each with its reason, in KnownFailures.</summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    private const string NodeTests = "/usr/share/libonnx-testdata/data/node";
    private const double RelativeTolerance = 1e-3, AbsoluteTolerance = 1e-4;

    private enum Outcome { Match, Mismatch, OrtCannotLoad, NonTensorIo, ImportRefused, EngineError }

    [Fact]
    public async Task Node_tests_match_their_expected_outputs_except_the_known_failures()
    {
        Assert.True(Directory.Exists(NodeTests), $"{NodeTests} is missing: install Debian's libonnx-testdata");
        var cases = Directory.GetDirectories(NodeTests).Order(StringComparer.Ordinal).ToList();
        Assert.True(cases.Count > 500, $"only {cases.Count} cases in {NodeTests}");
        // The cache counts measured memory (about 1 MiB per small session): it still evicts, every few dozen models.
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxQueueDelay = TimeSpan.Zero }, cacheBytes: 64 << 20,
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

        // Every case that does not match is named in KnownFailures with its outcome; a new failure, a known failure that
        // now passes (remove it from the list) or one that fails differently all fail the test.
        var problems = new List<string>();
        foreach (var (name, r) in results.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var known = KnownFailures.TryGetValue(name, out var k) ? k : ((Outcome, string)?)null;
            if (r.Outcome == Outcome.Match && known is { } fixedCase && !MachineDependent.Contains(name))
                problems.Add($"{name} now matches: remove it from {nameof(KnownFailures)} ({fixedCase.Item2})");
            else if (r.Outcome != Outcome.Match && known is null)
                problems.Add($"{name}: new failure, {r.Outcome}: {r.Detail.ReplaceLineEndings(" ")}");
            else if (r.Outcome != Outcome.Match && known is { } other && other.Item1 != r.Outcome)
                problems.Add($"{name}: {r.Outcome} ({r.Detail.ReplaceLineEndings(" ")}), listed as {other.Item1}");
        }
        problems.AddRange(KnownFailures.Keys.Where(n => !results.ContainsKey(n)).Select(n => $"{n}: listed in {nameof(KnownFailures)} but not in {NodeTests}"));
        Assert.True(problems.Count == 0, $"{summary}; see {reportPath}\n" + string.Join("\n", problems));
    }

    private const string RandomDraw = "a random draw: ONNX Runtime's generator is not the one that made the expected output";
    private const string NoOrtKernel = "ONNX Runtime 1.31 (CPU) has no kernel for these types";
    private const string NotTensors = "sequence or optional inputs/outputs: the engine serves tensors only";

    /// <summary>Known failures that pass on a machine that has what they lack (here: the en_US.UTF-8 locale).</summary>
    private static readonly HashSet<string> MachineDependent = new(StringComparer.Ordinal)
    {
        "test_strnormalizer_export_monday_casesensintive_lower", "test_strnormalizer_export_monday_casesensintive_upper",
        "test_strnormalizer_export_monday_empty_output", "test_strnormalizer_export_monday_insensintive_upper_twodim",
    };

    /// <summary>The node tests that do not match, each with its outcome and the reason.</summary>
    private static readonly Dictionary<string, (Outcome, string)> KnownFailures = new (string Name, Outcome Outcome, string Reason)[]
    {
        ("test_bernoulli", Outcome.Mismatch, RandomDraw), ("test_bernoulli_double", Outcome.Mismatch, RandomDraw),
        ("test_bernoulli_double_expanded", Outcome.Mismatch, RandomDraw), ("test_bernoulli_expanded", Outcome.Mismatch, RandomDraw),
        ("test_bernoulli_seed", Outcome.Mismatch, RandomDraw), ("test_bernoulli_seed_expanded", Outcome.Mismatch, RandomDraw),
        ("test_training_dropout", Outcome.Mismatch, RandomDraw), ("test_training_dropout_default", Outcome.Mismatch, RandomDraw),
        ("test_training_dropout_default_mask", Outcome.Mismatch, RandomDraw), ("test_training_dropout_mask", Outcome.Mismatch, RandomDraw),
        ("test_cast_FLOAT_to_BFLOAT16", Outcome.Mismatch, "ONNX Runtime rounds float→bfloat16 to nearest even; onnx 1.12's expected data truncates"),
        ("test_cast_FLOAT_to_STRING", Outcome.Mismatch, "float→string formatting: ONNX Runtime prints different digits than numpy"),
        ("test_castlike_FLOAT_to_STRING", Outcome.Mismatch, "float→string formatting: ONNX Runtime prints different digits than numpy"),
        ("test_castlike_FLOAT_to_STRING_expanded", Outcome.Mismatch, "float→string formatting: ONNX Runtime prints different digits than numpy"),
        ("test_dft", Outcome.Mismatch, "ONNX Runtime's float DFT leaves ~1e-4 where the exact result is 0, beyond the 1e-4 absolute tolerance"),
        ("test_dft_axis", Outcome.Mismatch, "ONNX Runtime's float DFT leaves ~1e-4 where the exact result is 0, beyond the 1e-4 absolute tolerance"),
        ("test_maxunpool_export_with_output_shape", Outcome.Mismatch, "ONNX Runtime places MaxUnpool values by index in the padded output_shape differently from onnx's reference"),
        ("test_resize_downsample_scales_cubic_align_corners", Outcome.Mismatch, "downsampling with align_corners: ONNX Runtime and onnx 1.12's reference compute the scale differently"),
        ("test_resize_downsample_scales_linear_align_corners", Outcome.Mismatch, "downsampling with align_corners: ONNX Runtime and onnx 1.12's reference compute the scale differently"),
        ("test_castlike_BFLOAT16_to_FLOAT", Outcome.EngineError, "the test data's 'like' input has dims [1], the model declares [3,4]: the engine refuses the shape"),
        ("test_castlike_BFLOAT16_to_FLOAT_expanded", Outcome.EngineError, "the test data's 'like' input has dims [1], the model declares [3,4]: the engine refuses the shape"),
        ("test_castlike_FLOAT_to_BFLOAT16", Outcome.EngineError, "the test data's 'like' input has dims [1], the model declares [3,4]: the engine refuses the shape"),
        ("test_castlike_FLOAT_to_BFLOAT16_expanded", Outcome.EngineError, "the test data's 'like' input has dims [1], the model declares [3,4]: the engine refuses the shape"),
        ("test_adagrad", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_adagrad_multiple", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_adam", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_adam_multiple", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_momentum", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_momentum_multiple", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_nesterov_momentum", Outcome.OrtCannotLoad, "ai.onnx.preview.training ops exist only in ONNX Runtime's training builds"),
        ("test_bitshift_left_uint16", Outcome.OrtCannotLoad, NoOrtKernel), ("test_bitshift_right_uint16", Outcome.OrtCannotLoad, NoOrtKernel),
        ("test_max_int16", Outcome.OrtCannotLoad, NoOrtKernel), ("test_max_uint16", Outcome.OrtCannotLoad, NoOrtKernel),
        ("test_min_int16", Outcome.OrtCannotLoad, NoOrtKernel), ("test_min_uint16", Outcome.OrtCannotLoad, NoOrtKernel),
        ("test_pow_types_float32_uint32", Outcome.OrtCannotLoad, NoOrtKernel), ("test_pow_types_float32_uint64", Outcome.OrtCannotLoad, NoOrtKernel),
        ("test_gru_batchwise", Outcome.OrtCannotLoad, "ONNX Runtime's CPU recurrent kernels support only layout 0 (sequence-major)"),
        ("test_lstm_batchwise", Outcome.OrtCannotLoad, "ONNX Runtime's CPU recurrent kernels support only layout 0 (sequence-major)"),
        ("test_simple_rnn_batchwise", Outcome.OrtCannotLoad, "ONNX Runtime's CPU recurrent kernels support only layout 0 (sequence-major)"),
        ("test_strnormalizer_export_monday_casesensintive_lower", Outcome.OrtCannotLoad, "StringNormalizer needs the en_US.UTF-8 locale (absent from Debian's minimal images)"),
        ("test_strnormalizer_export_monday_casesensintive_upper", Outcome.OrtCannotLoad, "StringNormalizer needs the en_US.UTF-8 locale (absent from Debian's minimal images)"),
        ("test_strnormalizer_export_monday_empty_output", Outcome.OrtCannotLoad, "StringNormalizer needs the en_US.UTF-8 locale (absent from Debian's minimal images)"),
        ("test_strnormalizer_export_monday_insensintive_upper_twodim", Outcome.OrtCannotLoad, "StringNormalizer needs the en_US.UTF-8 locale (absent from Debian's minimal images)"),
    }.Concat(new[]
        {
            "test_identity_opt", "test_identity_sequence", "test_if_opt", "test_if_seq", "test_loop13_seq", "test_loop16_seq_none",
            "test_optional_get_element", "test_optional_get_element_sequence", "test_optional_has_element", "test_optional_has_element_empty",
            "test_sequence_insert_at_back", "test_sequence_insert_at_front", "test_sequence_map_add_1_sequence_1_tensor",
            "test_sequence_map_add_1_sequence_1_tensor_expanded", "test_sequence_map_add_2_sequences", "test_sequence_map_add_2_sequences_expanded",
            "test_sequence_map_extract_shapes", "test_sequence_map_extract_shapes_expanded", "test_sequence_map_identity_1_sequence",
            "test_sequence_map_identity_1_sequence_1_tensor", "test_sequence_map_identity_1_sequence_1_tensor_expanded",
            "test_sequence_map_identity_1_sequence_expanded", "test_sequence_map_identity_2_sequences", "test_sequence_map_identity_2_sequences_expanded",
        }.Select(n => (Name: n, Outcome: Outcome.NonTensorIo, Reason: NotTensors)))
    .ToDictionary(k => k.Name, k => (k.Outcome, k.Reason), StringComparer.Ordinal);

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
