using System.Diagnostics;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>Runs the real external tools the OpenAPI tests rely on (node with tools/openapi, Debian's chromium) and
/// fails with the install command when one is missing: these tests never skip.</summary>
public static class ExternalTools
{
    public const string Chromium = "/usr/bin/chromium";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Validator => Path.Combine(RepoRoot, "tools", "openapi", "validate.mjs");

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>node tools/openapi/validate.mjs FILE.</summary>
    public static Result Validate(string file)
    {
        var node = OnPath("node") ?? throw new InvalidOperationException(
            "node is not installed: source scripts/openapi-tools.sh && install_openapi_tools (Debian package nodejs)");
        if (!Directory.Exists(Path.Combine(RepoRoot, "tools", "openapi", "node_modules", "@readme", "openapi-parser")))
            throw new InvalidOperationException("tools/openapi is not installed: source scripts/openapi-tools.sh && install_openapi_tools");
        return Run(node, [Validator, file], TimeSpan.FromSeconds(60));
    }

    /// <summary>Headless Chromium on <paramref name="url"/> with a fresh profile, no network beyond loopback.</summary>
    public static Result RunChromium(string url, params string[] extra)
    {
        if (!File.Exists(Chromium))
            throw new InvalidOperationException($"{Chromium} is missing: apt-get install -y chromium (scripts/deps.sh installs it for the tests)");
        var profile = Directory.CreateTempSubdirectory("chromium-profile").FullName;
        try
        {
            return Run(Chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + profile,
                // Everything but the loopback test server is unreachable: Swagger UI must need nothing from outside.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=20000", .. extra, url,
            ], TimeSpan.FromSeconds(120));
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); }
            catch (IOException) { }
        }
    }

    public static Result Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} did not finish within {timeout.TotalSeconds} s");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NeuralService.sln"))) return d.FullName;
        throw new InvalidOperationException($"no NeuralService.sln above {AppContext.BaseDirectory}");
    }
}
