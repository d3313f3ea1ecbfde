namespace NeuralService.Api.Tests.Support;

/// <summary>The real app on a real Kestrel server bound to a free loopback port, over its own (or a given) data directory.
/// <see cref="Client"/> talks TCP to <see cref="BaseAddress"/>, so anything outside the process (Chromium, a load
/// generator) can reach it too.</summary>
public sealed class KestrelApi : IDisposable
{
    private readonly ApiFactory _factory;

    public KestrelApi(string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _factory = new ApiFactory(dataDirectory, settings);
        _factory.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        _factory.StartServer();
        Client = _factory.CreateClient();
        BaseAddress = Client.BaseAddress ?? throw new InvalidOperationException("the Kestrel server reported no address");
        if (!BaseAddress.IsLoopback) throw new InvalidOperationException($"test server bound to {BaseAddress}, not loopback");
    }

    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _factory.Services;

    /// <summary>A fresh client with its own connection pool, for concurrent load.</summary>
    public HttpClient NewClient(TimeSpan? timeout = null) => new() { BaseAddress = BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    public void Dispose()
    {
        Client.Dispose();
        _factory.Dispose();
    }
}
