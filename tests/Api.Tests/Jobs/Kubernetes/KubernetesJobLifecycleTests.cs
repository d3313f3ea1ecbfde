using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using NeuralService.Api.Jobs.Kubernetes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.Kubernetes.KubernetesTestJobs;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

/// <summary>Relaunch, cancel and status polling against the (fake) API server.</summary>
public sealed class KubernetesJobLifecycleTests : IAsyncLifetime
{
    private const string Name = "neural-train-job-0123456789abcdef";
    private FakeKubernetesApi _api = null!;
    private IKubernetes _client = null!;
    private KubernetesJobLauncher _launcher = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _client = _api.NewClient();
        _launcher = new KubernetesJobLauncher(_client, Options());
    }

    public async Task DisposeAsync()
    {
        _launcher.Dispose();
        _client.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Launch_Twice_ReturnsTheFirstJobAndCreatesOnlyOne()
    {
        var first = await _launcher.LaunchAsync(NewJob(), CancellationToken.None);
        var second = await _launcher.LaunchAsync(NewJob(), CancellationToken.None);

        Assert.Equal(first.Metadata.Uid, second.Metadata.Uid);
        Assert.Equal(Name, second.Metadata.Name);
        Assert.Equal(1, _api.Count);
        Assert.Single(_api.Created);
        Assert.Equal(["POST", "POST", "GET"], _api.Requests.Select(r => r.Method).ToArray());
    }

    [Fact]
    public async Task Launch_WhenAnotherReplicaCreatedTheJob_ReturnsThatJob()
    {
        _api.Seed(Namespace, new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new JsonObject { ["name"] = Name, ["uid"] = "from-other-replica" },
            ["spec"] = new JsonObject { ["backoffLimit"] = 0 },
        });

        var job = await _launcher.LaunchAsync(NewJob(), CancellationToken.None);

        Assert.Equal("from-other-replica", job.Metadata.Uid);
        Assert.Empty(_api.Created);
        Assert.Equal(1, _api.Count);
    }

    [Fact]
    public async Task Launch_ForbiddenNamespace_ThrowsTheApiError()
    {
        _api.Forbid(Namespace);

        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _launcher.LaunchAsync(NewJob(), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        Assert.Contains("cannot create resource \"jobs\"", (string)JsonNode.Parse(e.Response.Content)!["message"]!);
        Assert.Equal(0, _api.Count);
    }

    [Fact]
    public async Task Delete_RemovesTheJobWithBackgroundPropagation()
    {
        await _launcher.LaunchAsync(NewJob(), CancellationToken.None);

        await _launcher.DeleteAsync("job-0123456789abcdef", CancellationToken.None);

        Assert.Null(_api.Stored(Namespace, Name));
        var delete = _api.Requests.Single(r => r.Method == "DELETE");
        Assert.Equal($"/apis/batch/v1/namespaces/{Namespace}/jobs/{Name}", delete.Path);
        Assert.Equal("Background", (string)delete.Body!["propagationPolicy"]!);
        Assert.Equal(KubernetesJobPhase.Missing, await _launcher.PhaseAsync("job-0123456789abcdef", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_OfAMissingJob_IsNoError()
    {
        await _launcher.DeleteAsync("job-never-launched", CancellationToken.None);

        var delete = Assert.Single(_api.Requests);
        Assert.Equal("DELETE", delete.Method);
        Assert.EndsWith("/jobs/neural-train-job-never-launched", delete.Path);
    }

    [Fact]
    public async Task Delete_Forbidden_Throws()
    {
        _api.Forbid(Namespace);

        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _launcher.DeleteAsync("job-x", CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
    }

    [Fact]
    public async Task Phase_OfAJobNeverLaunched_IsMissing()
    {
        Assert.Equal(KubernetesJobPhase.Missing, await _launcher.PhaseAsync("job-unknown", CancellationToken.None));
        Assert.Equal("/apis/batch/v1/namespaces/training/jobs/neural-train-job-unknown", Assert.Single(_api.Requests).Path);
    }

    [Fact]
    public async Task Phase_OfAFreshJob_IsPending()
    {
        await _launcher.LaunchAsync(NewJob(), CancellationToken.None);

        Assert.Equal(KubernetesJobPhase.Pending, await _launcher.PhaseAsync("job-0123456789abcdef", CancellationToken.None));
    }

    [Theory]
    [InlineData("""{"active":1,"ready":0}""", KubernetesJobPhase.Pending)]
    [InlineData("""{"active":1,"ready":1,"startTime":"2026-01-01T00:00:00Z"}""", KubernetesJobPhase.Running)]
    [InlineData("""{"active":1}""", KubernetesJobPhase.Running)]
    [InlineData("""{"succeeded":1,"conditions":[{"type":"SuccessCriteriaMet","status":"True"},{"type":"Complete","status":"True"}]}""", KubernetesJobPhase.Succeeded)]
    [InlineData("""{"succeeded":1}""", KubernetesJobPhase.Succeeded)]
    [InlineData("""{"failed":1,"conditions":[{"type":"FailureTarget","status":"True"},{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}""", KubernetesJobPhase.Failed)]
    [InlineData("""{"active":1,"ready":1,"conditions":[{"type":"FailureTarget","status":"True","reason":"DeadlineExceeded"}]}""", KubernetesJobPhase.Failed)]
    [InlineData("""{"active":1,"ready":1,"conditions":[{"type":"Complete","status":"False"}]}""", KubernetesJobPhase.Running)]
    public async Task Phase_FollowsTheJobStatus(string status, KubernetesJobPhase expected)
    {
        await _launcher.LaunchAsync(NewJob(), CancellationToken.None);
        _api.SetStatus(Namespace, Name, JsonNode.Parse(status)!.AsObject());

        Assert.Equal(expected, await _launcher.PhaseAsync("job-0123456789abcdef", CancellationToken.None));
    }

    [Fact]
    public async Task CreateClient_FromKubeconfig_TalksToThatServer()
    {
        using var dir = new TempDir();
        var kubeconfig = Path.Combine(dir.Path, "config");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {_api.BaseAddress.ToString().TrimEnd('/')}
            users:
            - name: tester
              user:
                token: not-a-real-token
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
                namespace: ignored
            current-context: fake
            """);

        using var launcher = KubernetesJobLauncher.Create(Options(), kubeconfig);
        var job = await launcher.LaunchAsync(NewJob(), CancellationToken.None);

        Assert.Equal(Name, job.Metadata.Name);
        Assert.NotNull(_api.Stored(Namespace, Name));
    }

    [Fact]
    public void CreateClient_WithMissingKubeconfig_NamesThePath()
    {
        var e = Assert.Throws<InvalidOperationException>(() => KubernetesJobLauncher.CreateClient("/nonexistent/kubeconfig"));

        Assert.Contains("'/nonexistent/kubeconfig'", e.Message);
    }
}
