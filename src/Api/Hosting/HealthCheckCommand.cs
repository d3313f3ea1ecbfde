namespace NeuralService.Api.Hosting;

/// <summary><c>healthcheck [URL]</c>: exits 0 when the service answers its liveness route, 1 otherwise — a container
/// HEALTHCHECK without curl or wget in the image. Without a URL it asks the first address of <c>ASPNETCORE_URLS</c>
/// on loopback.</summary>
public static class HealthCheckCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var target = args.Length > 1 ? args[1] : Default(Environment.GetEnvironmentVariable("ASPNETCORE_URLS"));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(target);
            if (response.IsSuccessStatusCode) return 0;
            Console.Error.WriteLine($"{target}: HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            Console.Error.WriteLine($"{target}: {e.Message}");
        }
        return 1;
    }

    /// <summary>The liveness URL on loopback for the first configured address (wildcard hosts become 127.0.0.1).</summary>
    public static string Default(string? urls)
    {
        var first = (urls ?? "http://127.0.0.1:8080").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "http://127.0.0.1:8080";
        var uri = new Uri(first.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://127.0.0.1"));
        return new UriBuilder(uri) { Host = "127.0.0.1", Path = "/v2/health/live" }.Uri.ToString();
    }
}
