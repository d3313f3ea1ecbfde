using NeuralService.Api.Jobs.Kubernetes;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

public sealed class KubernetesJobNameTests
{
    [Fact]
    public void ServiceIds_AreUsedVerbatim()
    {
        Assert.Equal("neural-train-job-0123456789abcdef", KubernetesJobLauncher.JobName("job-0123456789abcdef"));
    }

    [Theory]
    [InlineData("JOB-ABC")]
    [InlineData("job_abc")]
    [InlineData("-job.abc-")]
    [InlineData("job/ü/1")]
    [InlineData("___")]
    public void OtherIds_BecomeDns1123LabelsOfAtMost63Characters(string id)
    {
        var name = KubernetesJobLauncher.JobName(id);

        Assert.StartsWith("neural-train-", name);
        Assert.InRange(name.Length, 1, 63);
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name);
    }

    [Fact]
    public void IdsThatMapToTheSameCharacters_GetDifferentNames()
    {
        var names = new[] { "job-abc", "JOB-ABC", "job_abc", "job.abc" }.Select(KubernetesJobLauncher.JobName).ToArray();

        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal("neural-train-job-abc", names[0]);
    }

    [Fact]
    public void LongIds_AreCutTo63CharactersAndStayDistinct()
    {
        var a = KubernetesJobLauncher.JobName(new string('a', 200) + "1");
        var b = KubernetesJobLauncher.JobName(new string('a', 200) + "2");

        Assert.Equal(63, a.Length);
        Assert.Equal(63, b.Length);
        Assert.NotEqual(a, b);
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", a);
    }

    [Fact]
    public void A50CharacterIdFitsVerbatim_A51CharacterOneIsHashed()
    {
        var id = new string('b', 50);

        Assert.Equal("neural-train-" + id, KubernetesJobLauncher.JobName(id));
        Assert.Matches("^neural-train-b{39}-[0-9a-f]{10}$", KubernetesJobLauncher.JobName(id + "b"));
    }

    [Theory]
    [InlineData("cuda", true)]
    [InlineData("GPU", true)]
    [InlineData(" cuda ", true)]
    [InlineData("cpu", false)]
    [InlineData("auto", false)]
    [InlineData(null, false)]
    public void WantsGpu_OnlyForCudaOrGpu(string? device, bool expected)
    {
        Assert.Equal(expected, KubernetesJobLauncher.WantsGpu(KubernetesTestJobs.NewJob(device: device)));
    }
}
