using System.Net;
using System.Net.Sockets;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

public sealed class KestrelApiTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ServesOverRealTcpOnLoopback()
    {
        using var api = new KestrelApi(_dir.Path);
        Assert.True(api.BaseAddress.IsLoopback);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(api.BaseAddress.Host, api.BaseAddress.Port);
        Assert.True(tcp.Connected);
        using var client = api.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/live")).StatusCode);
    }
}
