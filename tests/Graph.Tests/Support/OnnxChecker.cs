using System.Diagnostics;
using Google.Protobuf;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>The external judge: Debian's python3-onnx <c>onnx.checker.check_model(m, full_check=True)</c>.
/// One Python process serves the whole test run (importing onnx costs about a second), one path per line.</summary>
public static class OnnxChecker
{
    public const string Python = "/usr/bin/python3";

    private const string Server = """
        import sys, onnx
        for line in sys.stdin:
            p = line.strip()
            try:
                onnx.checker.check_model(onnx.load(p), full_check=True)
                print("OK", flush=True)
            except Exception as e:
                print("FAIL " + " ".join(str(e).split()), flush=True)
        """;

    private static readonly Lock Gate = new();
    private static Process? _server;

    /// <summary>Checks one or more models; throws with the checker's message on failure.</summary>
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
        foreach (var path in paths)
        {
            string? answer;
            lock (Gate)
            {
                var server = Start();
                server.StandardInput.WriteLine(Path.GetFullPath(path));
                server.StandardInput.Flush();
                answer = server.StandardOutput.ReadLine();
                if (answer is null)
                {
                    var err = server.StandardError.ReadToEnd();
                    _server = null;
                    throw new Xunit.Sdk.XunitException($"the ONNX checker process ended: {err}");
                }
            }
            if (answer != "OK") throw new Xunit.Sdk.XunitException($"onnx.checker rejected {Path.GetFileName(path)}: {answer[5..]}");
        }
    }

    private static Process Start()
    {
        if (_server is { HasExited: false }) return _server;
        if (!File.Exists(Python)) throw new Xunit.Sdk.XunitException($"{Python} is missing: install Debian's python3-onnx (./test.sh does)");
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Server);
        _server = Process.Start(psi)!;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { _server?.StandardInput.Close(); } catch (InvalidOperationException) { }
        };
        return _server;
    }
}
