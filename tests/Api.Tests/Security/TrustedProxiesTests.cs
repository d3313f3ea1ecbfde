using System.Net;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Security;

/// <summary>X-Forwarded-For is believed only from <c>Neural:TrustedProxies</c>, and the rate limiter counts the real client:
/// behind a trusted proxy each client has its own bucket; from anywhere else the header changes nothing, so a client
/// cannot escape the limit by inventing addresses. Over TCP, with this test as the proxy (its address is 127.0.0.1).</summary>
public sealed class TrustedProxiesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private KestrelApi Serve(string? trusted)
    {
        var settings = new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "2", ["Neural:RateLimit:WindowSeconds"] = "60" };
        if (trusted is not null) settings["Neural:TrustedProxies:0"] = trusted;
        return new KestrelApi(_dir.Path, settings);
    }

    private static Task<HttpResponseMessage> GetAs(KestrelApi api, string? forwardedFor)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        return api.Client.SendAsync(request);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.0/8")]
    [InlineData("10.1.2.3, 127.0.0.1")]
    public async Task BehindATrustedProxyEachForwardedClientHasItsOwnBucket(string trusted)
    {
        using var api = Serve(trusted);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await GetAs(api, "203.0.113.7")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAs(api, "203.0.113.7")).StatusCode);
        // Another client behind the same proxy is not throttled by the first one's requests …
        Assert.Equal(HttpStatusCode.OK, (await GetAs(api, "203.0.113.8")).StatusCode);
        // … and the rightmost untrusted hop is the client: an address it prepends itself does not help it.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAs(api, "198.51.100.1, 203.0.113.7")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAs(api, null)).StatusCode);
    }

    [Theory]
    [InlineData("10.9.0.0/16")]
    [InlineData(null)]
    public async Task FromAnUntrustedPeerForwardedForIsIgnoredSoSpoofingCannotEscapeTheLimit(string? trusted)
    {
        using var api = Serve(trusted);
        Assert.Equal(HttpStatusCode.OK, (await GetAs(api, "203.0.113.1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAs(api, "203.0.113.2")).StatusCode);
        var limited = await GetAs(api, "203.0.113.3");
        Assert.True(limited.StatusCode == HttpStatusCode.TooManyRequests, $"{limited.StatusCode}: {await limited.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAs(api, null)).StatusCode);
    }

    [Theory]
    [InlineData("proxy.internal", "not an IP address")]
    [InlineData("10.0.0.1/8", "not a CIDR network")]
    [InlineData("10.0.0.0/8,300.1.1.1", "'300.1.1.1'")]
    [InlineData(" , ", "names no address")]
    public async Task AnUnusableEntryStopsStartUpNamingIt(string entry, string expected)
    {
        await using var app = NeuralService.Api.Hosting.ApiApp.Build(["--urls", "http://127.0.0.1:0", $"--Neural:DataDirectory={_dir.Path}",
            "--Neural:TrustedProxies:0=10.0.0.0/8", $"--Neural:TrustedProxies:1={entry}"]);
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Neural:TrustedProxies:1", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
