using System.Net;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

/// <summary>Without API keys the service serves loopback only, judged by the addresses Kestrel really bound: ports given
/// by <c>ASPNETCORE_HTTP_PORTS</c> or <c>--http_ports</c> (every interface, the stock container setting) are refused
/// after start, before any request is answered, with a non-zero exit and a message naming the address and the fix.</summary>
public sealed class BindGuardTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Environment(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string> { ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false" };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    public static TheoryData<string> AllInterfaceSettings => new() { "ASPNETCORE_HTTP_PORTS", "--http_ports" };

    [Theory]
    [MemberData(nameof(AllInterfaceSettings))]
    public async Task AllInterfacesWithoutKeysIsRefusedAfterBindingWithExitCodeAndMessage(string setting)
    {
        var port = ServiceProcess.FreePort();
        var p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var service = setting.StartsWith("--", StringComparison.Ordinal)
            ? ServiceProcess.Launch([setting, p], Environment(), new Uri($"http://127.0.0.1:{p}"))
            : ServiceProcess.Launch([], Environment((setting, p)), new Uri($"http://127.0.0.1:{p}"));
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        var output = service.Output;
        Assert.Contains($"neural-service: refusing to listen on http://[::]:{p} without API keys", output);
        Assert.Contains("NEURAL_API_KEYS=", output);
        Assert.Contains("--urls http://127.0.0.1:", output);
        // Nothing was served in between: the request log has no line.
        Assert.DoesNotContain("responded", output);
    }

    [Fact]
    public async Task AllInterfacesWithKeysAndLoopbackWithoutKeysAreServed()
    {
        var port = ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using (var keyed = ServiceProcess.Launch([], Environment(("ASPNETCORE_HTTP_PORTS", port), ("NEURAL_API_KEYS", "k1")), new Uri($"http://127.0.0.1:{port}")))
        {
            await keyed.ReadyAsync();
            Assert.Equal(HttpStatusCode.OK, (await keyed.Client.GetAsync("/v1/models")).StatusCode);
        }
        using var loopback = await ServiceProcess.StartAsync(Environment());
        Assert.Equal(HttpStatusCode.OK, (await loopback.Client.GetAsync("/v1/models")).StatusCode);
        Assert.DoesNotContain("refusing", loopback.Output);
    }
}
