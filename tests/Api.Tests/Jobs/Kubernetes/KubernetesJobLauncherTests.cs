using System.Text.Json.Nodes;
using k8s;
using NeuralService.Api.Jobs.Kubernetes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.Kubernetes.KubernetesTestJobs;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

/// <summary>The Job objects the real KubernetesClient sends to the (fake) API server.</summary>
public sealed class KubernetesJobLauncherTests : IAsyncLifetime
{
    private FakeKubernetesApi _api = null!;
    private IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _client = _api.NewClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    private async Task<JsonObject> LaunchAndReceive(KubernetesJobOptions options, string? device = "cpu", string id = "job-0123456789abcdef")
    {
        using var launcher = new KubernetesJobLauncher(_client, options);
        var returned = await launcher.LaunchAsync(NewJob(id, device), CancellationToken.None);
        var body = Assert.Single(_api.Created);
        Assert.Equal((string)body["metadata"]!["name"]!, returned.Metadata.Name);
        Assert.False(string.IsNullOrEmpty(returned.Metadata.Uid));
        return body;
    }

    [Fact]
    public async Task Launch_PostsBatchJobWithNameLabelsImageArgsAndEnv()
    {
        var body = await LaunchAndReceive(Options());

        var post = Assert.Single(_api.Requests);
        Assert.Equal("/apis/batch/v1/namespaces/training/jobs", post.Path);
        Assert.Equal("batch/v1", (string)body["apiVersion"]!);
        Assert.Equal("Job", (string)body["kind"]!);
        Assert.Equal("neural-train-job-0123456789abcdef", (string)body["metadata"]!["name"]!);
        foreach (var labels in new[] { body["metadata"]!["labels"]!, body["spec"]!["template"]!["metadata"]!["labels"]! })
        {
            Assert.Equal("neural-service", (string)labels["app.kubernetes.io/name"]!);
            Assert.Equal("training", (string)labels["app.kubernetes.io/component"]!);
            Assert.Equal("job-0123456789abcdef", (string)labels["neural-service/job-id"]!);
        }
        Assert.Equal("Never", (string)PodSpec(body)["restartPolicy"]!);
        var container = Container(body);
        Assert.Equal("worker", (string)container["name"]!);
        Assert.Equal(Image, (string)container["image"]!);
        Assert.Equal(["worker", "--job", "job-0123456789abcdef"], Strings(container["args"]));
        Assert.Null(container["command"]);
        var env = Env(body);
        Assert.Equal("/data", env["NEURAL_DATA_DIR"]);
        Assert.Equal("false", env["Neural__UseCuda"]);
        Assert.Equal(3600, (int)body["spec"]!["ttlSecondsAfterFinished"]!);
        Assert.Equal(0, (int)body["spec"]!["backoffLimit"]!);
    }

    [Fact]
    public async Task Launch_MountsDataClaimAndTmpAndTakesEnvFromConfigMapAndSecret()
    {
        var body = await LaunchAndReceive(Options(o =>
        {
            o.DataClaimName = "neural-data";
            o.DataMountPath = "/mnt/neural";
            o.ConfigMapName = "neural-config";
            o.SecretName = "neural-secrets";
            o.ServiceAccountName = "neural-worker";
        }));

        var volumes = PodSpec(body)["volumes"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!.AsObject());
        Assert.Equal("neural-data", (string)volumes["data"]["persistentVolumeClaim"]!["claimName"]!);
        Assert.NotNull(volumes["tmp"]["emptyDir"]);
        var mounts = Container(body)["volumeMounts"]!.AsArray().ToDictionary(m => (string)m!["mountPath"]!, m => (string)m!["name"]!);
        Assert.Equal(new Dictionary<string, string> { ["/mnt/neural"] = "data", ["/tmp"] = "tmp" }, mounts);
        Assert.Equal("/mnt/neural", Env(body)["NEURAL_DATA_DIR"]);
        var envFrom = Container(body)["envFrom"]!.AsArray();
        Assert.Equal("neural-config", (string)envFrom[0]!["configMapRef"]!["name"]!);
        Assert.Equal("neural-secrets", (string)envFrom[1]!["secretRef"]!["name"]!);
        Assert.Equal("neural-worker", (string)PodSpec(body)["serviceAccountName"]!);
    }

    [Fact]
    public async Task Launch_WithoutClaimOrConfig_UsesEmptyDirAndNoEnvFrom()
    {
        var body = await LaunchAndReceive(Options());

        var data = PodSpec(body)["volumes"]!.AsArray().Single(v => (string)v!["name"]! == "data")!;
        Assert.NotNull(data["emptyDir"]);
        Assert.Null(data["persistentVolumeClaim"]);
        Assert.Null(Container(body)["envFrom"]);
        Assert.Null(PodSpec(body)["serviceAccountName"]);
    }

    [Fact]
    public async Task Launch_HardensPodAndContainerSecurityContext()
    {
        var body = await LaunchAndReceive(Options());

        var sc = Container(body)["securityContext"]!;
        Assert.True((bool)sc["runAsNonRoot"]!);
        Assert.False((bool)sc["allowPrivilegeEscalation"]!);
        Assert.True((bool)sc["readOnlyRootFilesystem"]!);
        Assert.Equal(["ALL"], Strings(sc["capabilities"]!["drop"]));
        Assert.True((bool)PodSpec(body)["securityContext"]!["runAsNonRoot"]!);
        Assert.Equal("RuntimeDefault", (string)PodSpec(body)["securityContext"]!["seccompProfile"]!["type"]!);
        Assert.False((bool)PodSpec(body)["automountServiceAccountToken"]!);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("gpu")]
    [InlineData("CUDA")]
    public async Task Launch_GpuJob_GetsGpuLimitNodeSelectorTolerationsAndUseCuda(string device)
    {
        var body = await LaunchAndReceive(Options(o =>
        {
            o.GpuNodeSelector["cloud.google.com/gke-accelerator"] = "nvidia-l4";
            o.GpuTolerations.Add(new KubernetesToleration { Key = "nvidia.com/gpu", Operator = "Exists", Effect = "NoSchedule" });
            o.MemoryLimit = "8Gi";
        }), device);

        var limits = Container(body)["resources"]!["limits"]!;
        Assert.Equal("1", (string)limits["nvidia.com/gpu"]!);
        Assert.Equal("8Gi", (string)limits["memory"]!);
        Assert.Equal("nvidia-l4", (string)PodSpec(body)["nodeSelector"]!["cloud.google.com/gke-accelerator"]!);
        var toleration = Assert.Single(PodSpec(body)["tolerations"]!.AsArray())!;
        Assert.Equal("nvidia.com/gpu", (string)toleration["key"]!);
        Assert.Equal("Exists", (string)toleration["operator"]!);
        Assert.Equal("NoSchedule", (string)toleration["effect"]!);
        Assert.Null(toleration["value"]);
        Assert.Equal("true", Env(body)["Neural__UseCuda"]);
    }

    [Fact]
    public async Task Launch_GpuJob_UsesConfiguredGpuResourceName()
    {
        var body = await LaunchAndReceive(Options(o => o.GpuResourceName = "amd.com/gpu"), "cuda");

        var limits = Container(body)["resources"]!["limits"]!.AsObject();
        Assert.Equal("1", (string)limits["amd.com/gpu"]!);
        Assert.False(limits.ContainsKey("nvidia.com/gpu"));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("auto")]
    [InlineData(null)]
    public async Task Launch_NonGpuJob_HasNoGpuLimitSelectorOrTolerations(string? device)
    {
        var body = await LaunchAndReceive(Options(o =>
        {
            o.GpuNodeSelector["accelerator"] = "nvidia";
            o.GpuTolerations.Add(new KubernetesToleration { Key = "gpu", Operator = "Equal", Value = "yes", Effect = "NoSchedule" });
            o.CpuRequest = "500m";
            o.MemoryRequest = "1Gi";
            o.CpuLimit = "2";
            o.MemoryLimit = "4Gi";
        }), device);

        var resources = Container(body)["resources"]!;
        Assert.Equal("500m", (string)resources["requests"]!["cpu"]!);
        Assert.Equal("1Gi", (string)resources["requests"]!["memory"]!);
        Assert.Equal("2", (string)resources["limits"]!["cpu"]!);
        Assert.Equal("4Gi", (string)resources["limits"]!["memory"]!);
        Assert.Equal(["cpu", "memory"], resources["limits"]!.AsObject().Select(p => p.Key).Order().ToArray());
        Assert.Null(PodSpec(body)["nodeSelector"]);
        Assert.Null(PodSpec(body)["tolerations"]);
        Assert.Equal("false", Env(body)["Neural__UseCuda"]);
    }

    [Fact]
    public async Task Launch_TakesTtlAndBackoffFromOptions()
    {
        var body = await LaunchAndReceive(Options(o =>
        {
            o.TtlSecondsAfterFinished = 120;
            o.BackoffLimit = 2;
        }));

        Assert.Equal(120, (int)body["spec"]!["ttlSecondsAfterFinished"]!);
        Assert.Equal(2, (int)body["spec"]!["backoffLimit"]!);
        Assert.Null(Container(body)["resources"]);
    }

    [Fact]
    public async Task Launch_WithoutTtl_KeepsFinishedJobs()
    {
        var body = await LaunchAndReceive(Options(o => o.TtlSecondsAfterFinished = null));

        Assert.False(body["spec"]!.AsObject().ContainsKey("ttlSecondsAfterFinished"));
    }

    [Fact]
    public async Task Launch_IdThatIsNoDnsLabel_GetsValidNameAndKeepsIdInArgsAndAnnotation()
    {
        const string id = "Job_ABC.42";
        var body = await LaunchAndReceive(Options(), id: id);

        var name = (string)body["metadata"]!["name"]!;
        Assert.Matches("^neural-train-job-abc-42-[0-9a-f]{10}$", name);
        Assert.Equal(["worker", "--job", id], Strings(Container(body)["args"]));
        Assert.Equal(id, (string)body["metadata"]!["annotations"]!["neural-service/job-id"]!);
        Assert.Equal(id, (string)body["metadata"]!["labels"]!["neural-service/job-id"]!);
    }
}
