using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Validation;

/// <summary>Each overlay, rendered by kustomize, passes tools/k8s-validate (Kubernetes OpenAPI schemas of
/// kubernetes-models plus unknown-field checks), and that validator really rejects broken manifests.</summary>
public sealed class ValidatorTests
{
    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Rendered_overlay_passes_schema_validation(string overlay)
    {
        var rendered = Rendered.Overlay(overlay);
        var r = ExternalTools.Validate(rendered.Yaml);
        Assert.True(r.ExitCode == 0, $"deploy/overlays/{overlay} fails validation:\n{r.Output}");
        // Every rendered object was checked, none skipped.
        Assert.Contains($"{rendered.Objects.Count} objects, 0 invalid", r.Stdout);
        Assert.Equal(rendered.Objects.Count, r.Stdout.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }

    [SkippableTheory]
    [InlineData("containerPort: 8080", "containerPort: eighty", "containerPort must be integer")]
    [InlineData("readinessProbe:", "readinesProbe:", "unknown field \"readinesProbe\"")]
    [InlineData("kind: HorizontalPodAutoscaler", "kind: HorizontalPodScaler", "unknown apiVersion/kind")]
    [InlineData("averageUtilization: 70", "averageUtilization: 70%", "averageUtilization must be integer")]
    public void Broken_manifest_fails_validation(string find, string replace, string expected)
    {
        var yaml = Rendered.Overlay("cpu").Yaml;
        Assert.Contains(find, yaml);
        var r = ExternalTools.Validate(yaml.Replace(find, replace));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stdout);
    }

    [SkippableFact]
    public void Object_without_a_name_fails_validation()
    {
        var r = ExternalTools.Validate("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("metadata.name is required", r.Stdout);
    }

    [SkippableFact]
    public void Example_worker_job_passes_schema_validation()
    {
        var r = ExternalTools.Validate(File.ReadAllText(Path.Combine(RepoPaths.Deploy, "examples", "worker-job.yaml")));
        Assert.True(r.ExitCode == 0, r.Output);
    }
}
