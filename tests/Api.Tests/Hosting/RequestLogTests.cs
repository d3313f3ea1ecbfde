using System.Net;
using System.Text.RegularExpressions;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

/// <summary>Every request is one log line with method, path, status, duration, client and correlation id, read from a
/// real process's console.</summary>
public sealed class RequestLogTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EachRequestIsOneLineWithStatusDurationAndCorrelationId()
    {
        using var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false" });
        foreach (var (path, id) in new[] { ("/v1/models", "log-test-ok"), ("/v1/jobs/job-none", "log-test-404") })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Correlation-Id", id);
            await service.Client.SendAsync(request);
        }
        var unnamed = await service.Client.GetAsync("/v1/datasets");
        var generated = unnamed.Headers.GetValues("X-Correlation-Id").Single();

        string[] Lines(string id) => service.Output.Split('\n').Where(l => l.Contains("responded", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal)).ToArray();
        for (var i = 0; i < 50 && Lines(generated).Length == 0; i++) await Task.Delay(100);

        var ok = Assert.Single(Lines("log-test-ok"));
        Assert.Matches(new Regex(@"HTTP GET /v1/models responded 200 in \d+(\.\d+)? ms \(client 127\.0\.0\.1, correlation log-test-ok\)"), ok);
        Assert.Matches(new Regex(@"HTTP GET /v1/jobs/job-none responded 404 in \d+(\.\d+)? ms \(client 127\.0\.0\.1, correlation log-test-404\)"), Assert.Single(Lines("log-test-404")));
        Assert.Contains("HTTP GET /v1/datasets responded 200", Assert.Single(Lines(generated)));
        Assert.Equal(HttpStatusCode.OK, unnamed.StatusCode);
    }
}
