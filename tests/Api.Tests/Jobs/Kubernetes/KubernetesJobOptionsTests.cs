using k8s;
using Microsoft.Extensions.Configuration;
using NeuralService.Api.Jobs.Kubernetes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.Kubernetes.KubernetesTestJobs;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

public sealed class KubernetesJobOptionsTests
{
    [Fact]
    public void Defaults_MatchTheServiceContract()
    {
        var o = new KubernetesJobOptions();

        Assert.Equal("/data", o.DataMountPath);
        Assert.Equal("nvidia.com/gpu", o.GpuResourceName);
        Assert.Equal(3600, o.TtlSecondsAfterFinished);
        Assert.Equal(0, o.BackoffLimit);
        Assert.Empty(o.GpuNodeSelector);
        Assert.Empty(o.GpuTolerations);
        Assert.Null(o.Image);
    }

    [Fact]
    public void DefaultNamespace_ReadsTheServiceAccountFileElseDefault()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "namespace");

        Assert.Equal("default", KubernetesJobOptions.DefaultNamespace(file));
        File.WriteAllText(file, "ml-prod\n");
        Assert.Equal("ml-prod", KubernetesJobOptions.DefaultNamespace(file));
        File.WriteAllText(file, "  ");
        Assert.Equal("default", KubernetesJobOptions.DefaultNamespace(file));
    }

    [Fact]
    public void From_BindsTheJobsKubernetesSection()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jobs:Kubernetes:Namespace"] = "ml",
            ["Jobs:Kubernetes:Image"] = "img:1",
            ["Jobs:Kubernetes:ServiceAccountName"] = "sa",
            ["Jobs:Kubernetes:DataClaimName"] = "pvc",
            ["Jobs:Kubernetes:DataMountPath"] = "/srv/data",
            ["Jobs:Kubernetes:ConfigMapName"] = "cm",
            ["Jobs:Kubernetes:SecretName"] = "sec",
            ["Jobs:Kubernetes:GpuResourceName"] = "amd.com/gpu",
            ["Jobs:Kubernetes:GpuNodeSelector:accelerator"] = "mi300",
            ["Jobs:Kubernetes:GpuTolerations:0:Key"] = "amd.com/gpu",
            ["Jobs:Kubernetes:GpuTolerations:0:Operator"] = "Exists",
            ["Jobs:Kubernetes:GpuTolerations:0:Effect"] = "NoSchedule",
            ["Jobs:Kubernetes:TtlSecondsAfterFinished"] = "60",
            ["Jobs:Kubernetes:BackoffLimit"] = "1",
            ["Jobs:Kubernetes:CpuRequest"] = "250m",
            ["Jobs:Kubernetes:MemoryLimit"] = "2Gi",
        }).Build();

        var o = KubernetesJobOptions.From(config);

        Assert.Equal(("ml", "img:1", "sa", "pvc", "/srv/data"), (o.Namespace, o.Image, o.ServiceAccountName, o.DataClaimName, o.DataMountPath));
        Assert.Equal(("cm", "sec", "amd.com/gpu"), (o.ConfigMapName, o.SecretName, o.GpuResourceName));
        Assert.Equal("mi300", o.GpuNodeSelector["accelerator"]);
        var t = Assert.Single(o.GpuTolerations);
        Assert.Equal(("amd.com/gpu", "Exists", null, "NoSchedule"), (t.Key, t.Operator, t.Value, t.Effect));
        Assert.Equal((60, 1, "250m", "2Gi"), (o.TtlSecondsAfterFinished, o.BackoffLimit, o.CpuRequest, o.MemoryLimit));
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void From_WithoutTheSection_GivesDefaults()
    {
        var o = KubernetesJobOptions.From(new ConfigurationBuilder().Build());

        Assert.Equal(3600, o.TtlSecondsAfterFinished);
        Assert.Equal("/data", o.DataMountPath);
    }

    [Fact]
    public void Validate_AcceptsAMinimalConfiguration()
    {
        Assert.Empty(Options().Validate());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Validate_RequiresAnImage(string? image)
    {
        var error = Assert.Single(Options(o => o.Image = image).Validate());

        Assert.Contains($"Image '{image}' is missing", error);
    }

    [Theory]
    [InlineData("ML_Prod")]
    [InlineData("-ml")]
    [InlineData("ml.prod")]
    [InlineData("")]
    public void Validate_RejectsANamespaceThatIsNoDnsLabel(string ns)
    {
        var error = Assert.Single(Options(o => o.Namespace = ns).Validate());

        Assert.Contains($"Namespace '{ns}' is not a DNS-1123 label", error);
    }

    [Fact]
    public void Validate_RejectsA64CharacterNamespace()
    {
        var ns = new string('a', 64);

        Assert.Contains($"'{ns}'", Assert.Single(Options(o => o.Namespace = ns).Validate()));
    }

    [Fact]
    public void Validate_QuotesEveryBadValue()
    {
        var errors = Options(o =>
        {
            o.SecretName = "Secret_Name";
            o.DataMountPath = "data";
            o.GpuResourceName = "gpu";
            o.TtlSecondsAfterFinished = -1;
            o.BackoffLimit = -2;
            o.CpuLimit = "lots";
            o.MemoryRequest = "1 GB";
            o.ImagePullPolicy = "Sometimes";
            o.GpuNodeSelector["bad key!"] = "x";
            o.GpuTolerations.Add(new KubernetesToleration { Key = "gpu", Operator = "Maybe", Effect = "NoRun" });
            o.GpuTolerations.Add(new KubernetesToleration { Key = "gpu", Operator = "Exists", Value = "yes" });
        }).Validate();

        string[] expected =
        [
            "SecretName 'Secret_Name'", "DataMountPath 'data'", "GpuResourceName 'gpu'", "TtlSecondsAfterFinished '-1'",
            "BackoffLimit '-2'", "CpuLimit 'lots'", "MemoryRequest '1 GB'", "ImagePullPolicy 'Sometimes'", "GpuNodeSelector key 'bad key!'",
            "GpuTolerations:0:Operator 'Maybe'", "GpuTolerations:0:Effect 'NoRun'", "GpuTolerations:1:Value 'yes'",
        ];
        foreach (var fragment in expected) Assert.Contains(errors, e => e.Contains(fragment));
        Assert.Equal(expected.Length, errors.Count);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/tmp")]
    public void Validate_RejectsDataMountPathsThatCollideWithTheScratchVolume(string path)
    {
        Assert.Contains($"DataMountPath '{path}'", Assert.Single(Options(o => o.DataMountPath = path).Validate()));
    }

    [Fact]
    public void Launcher_RefusesInvalidOptionsWithTheirMessages()
    {
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });

        var e = Assert.Throws<ArgumentException>(() => new KubernetesJobLauncher(client, Options(o => { o.Image = null; o.Namespace = "Bad"; })));

        Assert.Contains("Image '' is missing", e.Message);
        Assert.Contains("Namespace 'Bad'", e.Message);
    }
}
