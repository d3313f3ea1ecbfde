using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Overlays;

/// <summary>The gpu overlay puts the API on GPU nodes with one GPU each and tells training Jobs which resource to ask
/// for; the cpu overlay asks for none.</summary>
public sealed class GpuOverlayTests
{
    [SkippableFact]
    public void Gpu_overlay_requests_gpus_on_gpu_nodes()
    {
        var r = Rendered.Overlay("gpu");
        var s = r.Settings();
        var resource = s["Jobs__Kubernetes__GpuResourceName"];
        Assert.Equal("nvidia.com/gpu", resource);
        Assert.Equal("true", s["Neural__UseCuda"]);
        Assert.Equal("1", r.ApiContainer.Path("resources", "limits").Str(resource));
        Assert.NotEmpty(r.PodSpec.GetProperty("nodeSelector").EnumerateObject());
        Assert.Contains(r.PodSpec.GetProperty("tolerations").EnumerateArray(),
            t => t.Str("key") == resource && t.Str("effect") == "NoSchedule");
    }

    [SkippableFact]
    public void Cpu_overlay_requests_no_gpu()
    {
        var r = Rendered.Overlay("cpu");
        Assert.DoesNotContain("nvidia.com/gpu", r.Yaml);
        Assert.Equal("false", r.Settings()["Neural__UseCuda"]);
    }
}
