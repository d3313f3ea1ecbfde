using System.Diagnostics;

namespace NeuralService.Deploy.Tests.Support;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>kubectl (for `kubectl kustomize`) and node with tools/k8s-validate, as installed by
/// <c>scripts/k8s-tools.sh</c>. A missing tool skips the test locally and fails it under CI=true, where test.sh
/// installs them.</summary>
public static class ExternalTools
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static string Kubectl() => Require("kubectl", "the Debian/cloud-SDK package kubectl");

    public static string Node()
    {
        var node = Require("node", "nodejs");
        var modules = Path.Combine(RepoPaths.Validator, "node_modules", "kubernetes-models");
        if (!Directory.Exists(modules))
            Missing($"tools/k8s-validate is not installed ({modules} missing)");
        return node;
    }

    public static ToolResult Run(string program, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', psi.ArgumentList)} ran past {Timeout.TotalSeconds} s");
        }
        return new ToolResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the schema validator (tools/k8s-validate/validate.mjs) on YAML given on stdin.</summary>
    public static ToolResult Validate(string yaml) =>
        Run(Node(), [Path.Combine(RepoPaths.Validator, "validate.mjs"), "-"], yaml);

    private static string Require(string tool, string package)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path)) return path;
        }
        Missing($"{tool} not found on PATH (install {package})");
        return tool;
    }

    private static void Missing(string why)
    {
        const string how = "test.sh installs it: source scripts/k8s-tools.sh && install_k8s_tools";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"{why}; {how}");
        Skip.If(true, $"{why}; {how}");
    }
}
