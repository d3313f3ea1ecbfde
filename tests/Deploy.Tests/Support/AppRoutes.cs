using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace NeuralService.Deploy.Tests.Support;

/// <summary>The real app (WebApplicationFactory over SQLite in a temp data directory): the routes it maps and a client.</summary>
public sealed class AppFixture : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("deploy-tests").FullName;

    public AppFixture()
    {
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Development");
            b.UseSetting("Neural:DataDirectory", _dataDirectory);
            b.UseSetting("NEURAL_DATA_DIR", _dataDirectory);
            b.UseSetting("Neural:UseCuda", "false");
        });
        Client = Factory.CreateClient();
    }

    public WebApplicationFactory<Program> Factory { get; }
    public HttpClient Client { get; }

    /// <summary>Route patterns the app answers GET on (e.g. "/v2/health/live"; endpoints without a method filter,
    /// like /metrics, answer every method).</summary>
    public IReadOnlySet<string> GetRoutes() =>
        Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") ?? true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .ToHashSet(StringComparer.Ordinal);

    public void Dispose()
    {
        Client.Dispose();
        Factory.Dispose();
        try { Directory.Delete(_dataDirectory, recursive: true); }
        catch (IOException) { }
    }
}
