using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Hosting;
using NeuralService.Api.Jobs;
using NeuralService.Api.Jobs.Kubernetes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

/// <summary><c>Jobs:Runner=kubernetes</c> end to end: the service creates a batch/v1 Job on a (fake) Kubernetes API, and
/// the worker that Job would run — <c>worker --job ID</c>, here started in this process — adopts and trains the job through
/// the shared store.</summary>
public sealed class KubernetesRunnerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string?> Settings(FakeKubernetesApi fake) => new()
    {
        ["Jobs:Runner"] = "kubernetes", ["Jobs:Kubernetes:ApiServer"] = fake.BaseAddress.ToString(), ["Jobs:Kubernetes:Namespace"] = "ml",
        ["Jobs:Kubernetes:Image"] = "registry.example/neural-service:1.0", ["Jobs:Kubernetes:DataClaimName"] = "neural-data",
        ["Jobs:HeartbeatSeconds"] = "1", ["Jobs:LeaseSeconds"] = "3", ["Jobs:PollSeconds"] = "0.2",
    };

    private static async Task<JsonObject> WaitForLaunchAsync(FakeKubernetesApi fake, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (fake.Stored("ml", KubernetesJobLauncher.JobName(id)) is { } job) return job;
            Assert.True(DateTime.UtcNow < deadline, $"no Kubernetes Job for {id}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> WaitForStateAsync(HttpClient client, string id, string state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            if (job.GetProperty("state").GetString() == state) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} never became {state}: {job}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task TheServiceLaunchesAJobAndItsWorkerTrainsAndRegisters()
    {
        await using var fake = await FakeKubernetesApi.StartAsync();
        using var api = new KestrelApi(_dir.Path, Settings(fake));
        await UploadBlobsAsync(api.Client, "blobs");
        var id = (await SubmitAsync(api.Client, JobBody("blobs", "on-k8s"))).GetProperty("id").GetString()!;

        await WaitForLaunchAsync(fake, id);
        var launched = await WaitForStateAsync(api.Client, id, "running");
        Assert.Equal(JobOwner.Kubernetes(id), launched.GetProperty("worker").GetString());
        var created = Assert.Single(fake.Created);
        Assert.Equal(KubernetesJobLauncher.JobName(id), created["metadata"]!["name"]!.GetValue<string>());
        var container = created["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal("registry.example/neural-service:1.0", container["image"]!.GetValue<string>());
        Assert.Equal(["worker", "--job", id], container["args"]!.AsArray().Select(a => a!.GetValue<string>()));

        // While the pod is pending the claim is kept alive past the lease.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal("running", JsonDocument.Parse(await api.Client.GetStringAsync($"/v1/jobs/{id}")).RootElement.GetProperty("state").GetString());

        var exit = await WorkerMode.RunAsync(["worker", "--job", id, "--Neural:DataDirectory", _dir.Path, "--Neural:UseCuda", "false"]);
        Assert.Equal(0, exit);
        var job = await WaitAsync(api.Client, id);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.DoesNotContain("kubernetes/", job.GetProperty("worker").GetString());
        Assert.Equal("on-k8s", job.GetProperty("registered_model").GetString());
        Assert.Equal(3, await WorkerMode.RunAsync(["worker", "--job", id, "--Neural:DataDirectory", _dir.Path])); // not runnable twice
    }

    [Fact]
    public async Task AJobWhoseKubernetesJobFailedBeforeRunningIsInterruptedAndCancelDeletesAPendingOne()
    {
        await using var fake = await FakeKubernetesApi.StartAsync();
        using var api = new KestrelApi(_dir.Path, Settings(fake));
        await UploadBlobsAsync(api.Client, "blobs");
        var failing = (await SubmitAsync(api.Client, JobBody("blobs", "never-ran"))).GetProperty("id").GetString()!;
        await WaitForLaunchAsync(fake, failing);
        fake.SetStatus("ml", KubernetesJobLauncher.JobName(failing), JsonNode.Parse("""{"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}""")!.AsObject());
        var interrupted = await WaitForStateAsync(api.Client, failing, "interrupted");
        Assert.Contains("failed", interrupted.GetProperty("error").GetString());

        var pending = (await SubmitAsync(api.Client, JobBody("blobs", "canceled"))).GetProperty("id").GetString()!;
        await WaitForLaunchAsync(fake, pending);
        await api.Client.PostAsync($"/v1/jobs/{pending}/cancel", null);
        await WaitForStateAsync(api.Client, pending, "canceled");
        Assert.Null(fake.Stored("ml", KubernetesJobLauncher.JobName(pending)));
    }

    [Fact]
    public void AnIncompleteKubernetesConfigurationIsRefusedAtStartUp()
    {
        var e = Assert.Throws<StartupRefusedException>(() => ApiApp.Build(["--Jobs:Runner=kubernetes", $"--Neural:DataDirectory={_dir.Path}"]));
        Assert.Contains("Image", e.Message);
    }
}
