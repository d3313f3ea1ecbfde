using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using NeuralService.Api.Security;

namespace NeuralService.Api.Hosting;

/// <summary>Enforces "no API keys ⇒ loopback only" on the addresses the server really bound, read once it has started,
/// so every way of choosing them counts (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>,
/// <c>--http_ports</c>, <c>Kestrel:Endpoints</c>, code). Until that check has passed every request is refused, so an
/// exposed unauthenticated server never answers anything; when it fails the host stops and <see cref="ThrowIfRefused"/>
/// turns the refusal into the process's start-up error.</summary>
public sealed class BindGuard(IServer server, ApiKeys keys, IHostApplicationLifetime lifetime, ILogger<BindGuard> log)
{
    private readonly TaskCompletionSource<bool> _verdict = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Why the service refused to run, once it has.</summary>
    public string? Refusal { get; private set; }

    /// <summary>True once the bound addresses passed, false when they were refused. A request can arrive before the
    /// started callbacks have run (their order is not defined), so requests wait for it rather than fail.</summary>
    public Task<bool> Verdict => _verdict.Task;

    /// <summary>Runs when the application has started (the server is listening).</summary>
    public void Check()
    {
        // An in-memory test server binds nothing: no addresses to check.
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        try
        {
            keys.CheckBinding(addresses);
            _verdict.TrySetResult(true);
        }
        catch (StartupRefusedException e)
        {
            Refusal = e.Message;
            _verdict.TrySetResult(false);
            log.LogCritical("{Refusal}", e.Message);
            lifetime.StopApplication();
        }
    }

    /// <summary>After the host has stopped: the refusal, as the exception the entry point reports (exit code 2).</summary>
    public void ThrowIfRefused()
    {
        if (Refusal is { } r) throw new StartupRefusedException(r);
    }
}

/// <summary>First in the pipeline: nothing is answered before <see cref="BindGuard"/> has checked the bound addresses.</summary>
public sealed class BindGuardMiddleware(RequestDelegate next, BindGuard guard)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var verdict = guard.Verdict;
        if (verdict.IsCompletedSuccessfully ? verdict.Result : await verdict.WaitAsync(http.RequestAborted)) await next(http);
        else http.Abort();
    }
}
