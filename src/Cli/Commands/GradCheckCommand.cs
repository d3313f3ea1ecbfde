using System.CommandLine;
using System.Globalization;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using Onnx;

namespace NeuralService.Cli.Commands;

/// <summary><c>neural gradcheck</c>: the autodiff's gradients of an ONNX model against central finite differences.</summary>
public static class GradCheckCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model.onnx") { Description = "ONNX model whose float initializers are checked" };
        var data = new Option<DirectoryInfo?>("--data") { Description = "A test_data_set directory of input_*.pb tensors (default: random inputs)" };
        var tolerance = new Option<double?>("--tolerance") { Description = $"Largest per-element relative error that passes (default {GradCheckOptions.DefaultTolerance})" };
        var wrt = new Option<string>("--wrt")
        {
            Description = "Gradients checked: params (the model's float initializers), inputs (its float inputs) or all",
            DefaultValueFactory = _ => "params",
        };
        wrt.AcceptOnlyFromAmong("params", "inputs", "all");
        var command = new Command("gradcheck", "Check the autodiff's gradients of an ONNX model against float64 finite differences") { model, data, tolerance, wrt };
        command.SetAction(parse =>
        {
            var failed = false;
            var exit = ModelCommands.Guarded(parse, () =>
            {
                var path = parse.GetValue(model)!.FullName;
                if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' not found", path);
                var proto = OnnxModels.Load(path);
                var inputs = parse.GetValue(data) is { } dir ? Inputs(proto, dir.FullName) : null;
                var options = new GradCheckOptions
                {
                    Tolerance = parse.GetValue(tolerance) ?? GradCheckOptions.DefaultTolerance,
                    Wrt = parse.GetValue(wrt) switch { "inputs" => GradCheckWrt.Inputs, "all" => GradCheckWrt.All, _ => GradCheckWrt.Parameters },
                };
                var result = GradCheck.Run(proto, inputs, options);
                foreach (var p in result.Parameters)
                    stdout.WriteLine($"{p.Name} [{string.Join(",", p.Dims)}]: max relative error {p.MaxRelativeError.ToString("g3", CultureInfo.InvariantCulture)} over {p.Coverage} (tolerance {p.Tolerance.ToString("g3", CultureInfo.InvariantCulture)}) {(p.Passed ? "ok" : "FAIL")}");
                var passed = result.Parameters.Count(p => p.Passed);
                stdout.WriteLine($"{passed} passed, {result.Parameters.Count - passed} failed ({result.Precision})");
                failed = !result.Passed;
            });
            return exit != 0 ? exit : failed ? 1 : 0;
        });
        return command;
    }

    /// <summary>input_N.pb files in order, named by the tensor's own name or else by the model's N-th real input.</summary>
    private static Dictionary<string, TensorProto> Inputs(ModelProto model, string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"test data directory '{dir}' not found");
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var real = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToList();
        var files = Directory.GetFiles(dir, "input_*.pb").OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)[6..], CultureInfo.InvariantCulture)).ToList();
        if (files.Count == 0) throw new InvalidDataException($"'{dir}' has no input_*.pb files");
        var result = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var tensor = TensorProto.Parser.ParseFrom(File.ReadAllBytes(files[i]));
            var name = !string.IsNullOrEmpty(tensor.Name) && real.Contains(tensor.Name) ? tensor.Name
                : i < real.Count ? real[i] : throw new InvalidDataException($"'{files[i]}' has no matching model input ({real.Count} inputs)");
            result[name] = tensor;
        }
        return result;
    }
}
