using System.CommandLine;
using NeuralService.Cli.Commands;

namespace NeuralService.Cli;

/// <summary>The <c>neural</c> command line: a thin front over the libraries.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("NeuralService: Keras-style models compiled to ONNX, trained on ONNX Runtime");
        root.Subcommands.Add(ModelCommands.Summary(stdout));
        root.Subcommands.Add(ModelCommands.Export(stdout));
        root.Subcommands.Add(TrainCommands.Train(stdout));
        root.Subcommands.Add(TrainCommands.Evaluate(stdout));
        root.Subcommands.Add(TrainCommands.Predict(stdout));
        root.Subcommands.Add(GradCheckCommand.Create(stdout));
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return root.Parse(args).Invoke(config);
    }
}
