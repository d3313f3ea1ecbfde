using System.CommandLine;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Cli.Commands;

/// <summary><c>neural summary</c> and <c>neural export</c>.</summary>
public static class ModelCommands
{
    public static Command Summary(TextWriter stdout)
    {
        var spec = new Argument<FileInfo>("model.json") { Description = "Keras model config (model.to_json())" };
        var command = new Command("summary", "Print Keras's summary table of a model config") { spec };
        command.SetAction(parse => Guarded(parse, () =>
        {
            var model = KerasModelJson.ReadFile(parse.GetValue(spec)!.FullName);
            stdout.WriteLine(model.Summary());
        }));
        return command;
    }

    public static Command Export(TextWriter stdout)
    {
        var spec = new Argument<FileInfo>("model.json") { Description = "Keras model config (model.to_json())" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "ONNX file to write", Required = true };
        var command = new Command("export", "Compile a model config to an ONNX inference graph (opset 17, dynamic batch)") { spec, output };
        command.SetAction(parse => Guarded(parse, () =>
        {
            var model = KerasModelJson.ReadFile(parse.GetValue(spec)!.FullName);
            var onnx = model.ToOnnx();
            var target = parse.GetValue(output)!.FullName;
            OnnxModels.Save(onnx, target);
            stdout.WriteLine($"wrote {target} ({onnx.Graph.Node.Count} nodes, {model.CountParams()} parameters)");
        }));
        return command;
    }

    /// <summary>Turns expected failures into one clear line on stderr and exit code 1; nothing is written on failure.</summary>
    internal static int Guarded(ParseResult parse, Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is GraphException or IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException
            or ArgumentException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or Google.Protobuf.InvalidProtocolBufferException
            or NeuralService.Training.Data.DataFormatException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
