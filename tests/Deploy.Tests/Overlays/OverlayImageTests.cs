using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Overlays;

/// <summary>Each overlay runs the image of one deploy/Dockerfile target: its tag ends in `-<target>`.</summary>
public sealed class OverlayImageTests
{
    [SkippableTheory]
    [InlineData("cpu", "cpu")]
    [InlineData("gpu", "cuda")]
    public void Api_image_tag_names_its_dockerfile_target(string overlay, string target)
    {
        var r = Rendered.Overlay(overlay);
        var image = r.ApiContainer.Str("image")!;
        var tag = image[(image.LastIndexOf(':') + 1)..];
        Assert.True(image.LastIndexOf(':') > image.LastIndexOf('/'), $"{image} has no tag");
        Assert.EndsWith("-" + target, tag);
        var file = Dockerfile.Load();
        Assert.Contains(file.Stages, s => s.Name == target);
        // The same repository for both targets: only the tag tells them apart.
        var other = Rendered.Overlay(overlay == "cpu" ? "gpu" : "cpu").ApiContainer.Str("image")!;
        Assert.Equal(image[..image.LastIndexOf(':')], other[..other.LastIndexOf(':')]);
    }
}
