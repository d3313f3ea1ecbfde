using System.Diagnostics;
using Google.Protobuf;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>The external judge: Debian's python3-onnx <c>onnx.checker.check_model(m, full_check=True)</c>.</summary>
public static class OnnxChecker
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Checks one or more models in one Python process; throws with the checker's message on failure.</summary>
    public static void Check(params ModelProto[] models)
    {
        var dir = Directory.CreateTempSubdirectory("onnxcheck");
        try
        {
            var paths = models.Select((m, i) =>
            {
                var p = Path.Combine(dir.FullName, $"m{i}.onnx");
                File.WriteAllBytes(p, m.ToByteArray());
                return p;
            }).ToList();
            CheckFiles(paths);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static void CheckFiles(IReadOnlyList<string> paths)
    {
        const string script = "import sys, onnx\nfor p in sys.argv[1:]:\n    try:\n        onnx.checker.check_model(onnx.load(p), full_check=True)\n    except Exception as e:\n        print(p + ': ' + str(e)); sys.exit(1)\n";
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var p in paths) psi.ArgumentList.Add(p);
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEndAsync();
        var stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        if (proc.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"onnx.checker rejected the model: {stdout.Result}{stderr}");
    }
}
