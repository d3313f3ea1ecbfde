using NeuralService.Api.Hosting;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

public sealed class HealthCheckCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(null, "http://127.0.0.1:8080/v2/health/live")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/v2/health/live")]
    [InlineData("http://+:9000;https://+:9443", "http://127.0.0.1:9000/v2/health/live")]
    [InlineData("http://[::]:7000", "http://127.0.0.1:7000/v2/health/live")]
    public void TheDefaultTargetIsTheFirstAddressOnLoopback(string? urls, string expected) =>
        Assert.Equal(expected, HealthCheckCommand.Default(urls));

    [Fact]
    public async Task ExitsZeroForALiveServiceAndOneWhenNothingAnswers()
    {
        using var api = new KestrelApi(_dir.Path);
        Assert.Equal(0, await HealthCheckCommand.RunAsync(["healthcheck", new Uri(api.BaseAddress, "/v2/health/live").ToString()]));
        Assert.Equal(1, await HealthCheckCommand.RunAsync(["healthcheck", new Uri(api.BaseAddress, "/no-such-route").ToString()]));
        Assert.Equal(1, await HealthCheckCommand.RunAsync(["healthcheck", "http://127.0.0.1:1/v2/health/live"]));
    }
}
