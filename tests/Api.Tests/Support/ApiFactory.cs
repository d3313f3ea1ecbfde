using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace NeuralService.Api.Tests.Support;

/// <summary>The real app over real SQLite storage in a data directory of its own (or a given one, to restart over it).</summary>
public sealed class ApiFactory(string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>In-process hosts share this process, and ASP.NET reads its temp folder once: left to the service, it would
    /// be the first test's data directory, gone when that test ends.</summary>
    static ApiFactory()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_TEMP"))) Environment.SetEnvironmentVariable("ASPNETCORE_TEMP", Path.GetTempPath());
    }

    public string DataDirectory { get; } = dataDirectory;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Neural:DataDirectory", DataDirectory);
        builder.UseSetting("Neural:UseCuda", "false");
        builder.UseSetting("Neural:Batcher:MaxQueueDelayMs", "1");
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) builder.UseSetting(k, v);
    }
}

/// <summary>A temp data directory removed at the end.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("api-tests").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
