using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NeuralService.Api.Tests.Support;

/// <summary>The service as its own OS process (<c>dotnet NeuralService.Api.dll</c> from the test's output folder) on a
/// free loopback port, for tests where replicas must really be separate processes that can be killed.</summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public int ProcessId => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }

    public static async Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var port = FreePort();
        var service = Start(["--urls", $"http://127.0.0.1:{port}"], environment, new Uri($"http://127.0.0.1:{port}"));
        await service.WaitReadyAsync();
        return service;
    }

    /// <summary>The service with the given arguments (which choose its addresses, or not), reached at
    /// <paramref name="baseAddress"/>; not waited for.</summary>
    public static ServiceProcess Launch(string[] args, IReadOnlyDictionary<string, string> environment, Uri baseAddress) =>
        Start(args, environment, baseAddress);

    /// <summary>Waits until the service answers its readiness probe (it must not exit before).</summary>
    public Task ReadyAsync() => WaitReadyAsync();

    /// <summary><c>worker --job ID</c> as its own process (no HTTP: <see cref="Client"/> is unusable).</summary>
    public static ServiceProcess StartWorker(string jobId, IReadOnlyDictionary<string, string> environment) =>
        Start(["worker", "--job", jobId], environment, new Uri("http://127.0.0.1:1"));

    private static ServiceProcess Start(string[] args, IReadOnlyDictionary<string, string> environment, Uri baseAddress)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NeuralService.Api.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        // What the test runner's own environment may hold must not choose the service's addresses or temp folder.
        foreach (var inherited in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ASPNETCORE_TEMP", "NEURAL_API_KEYS" })
            psi.Environment.Remove(inherited);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var service = new ServiceProcess(Process.Start(psi)!, baseAddress);
        service._process.OutputDataReceived += (_, e) => service.Append(e.Data);
        service._process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();
        return service;
    }

    /// <summary>SIGTERM, as Kubernetes and <c>docker stop</c> send it; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process {_process.Id} still running after {timeout}:\n{Output}"); }
        return _process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"service exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if ((await Client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"service at {BaseAddress} not ready:\n{Output}");
            await Task.Delay(200);
        }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL: no draining, no checkpoint — what a crashed node looks like.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Client.Dispose();
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
