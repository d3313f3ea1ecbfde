using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Base;

/// <summary>The API may manage the training Jobs it launches, and the HPA scales the API.</summary>
public sealed class RbacTests
{
    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Api_service_account_may_create_get_list_and_delete_batch_jobs(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var account = r.PodSpec.Str("serviceAccountName")!;
        Assert.True(r.Has("ServiceAccount", account));
        var binding = r.OfKind("RoleBinding").Single(b =>
            b.GetProperty("subjects").EnumerateArray().Any(s => s.Str("kind") == "ServiceAccount" && s.Str("name") == account));
        Assert.Equal("Role", binding.Path("roleRef").Str("kind"));
        var role = r.Get("Role", binding.Path("roleRef").Str("name")!);
        var jobs = role.GetProperty("rules").EnumerateArray().Single(rule =>
            rule.GetProperty("apiGroups").EnumerateArray().Any(g => g.GetString() == "batch")
            && rule.GetProperty("resources").EnumerateArray().Any(x => x.GetString() == "jobs"));
        var verbs = jobs.GetProperty("verbs").EnumerateArray().Select(v => v.GetString()!).ToHashSet();
        Assert.Superset(new HashSet<string> { "create", "get", "list", "delete" }, verbs);
        Assert.DoesNotContain("*", verbs);
        // Workers get an account of their own, without a token.
        var worker = r.Get("ServiceAccount", r.Settings()["Jobs__Kubernetes__ServiceAccountName"]);
        Assert.NotEqual(account, worker.Path("metadata").Str("name"));
        Assert.False(worker.GetProperty("automountServiceAccountToken").GetBoolean());
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Hpa_scales_the_api_deployment_on_cpu(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var hpa = r.Get("HorizontalPodAutoscaler", "neural-api");
        Assert.Equal("autoscaling/v2", hpa.Str("apiVersion"));
        var target = hpa.Path("spec", "scaleTargetRef");
        Assert.Equal(("apps/v1", "Deployment", "neural-api"), (target.Str("apiVersion"), target.Str("kind"), target.Str("name")));
        var metric = hpa.Path("spec", "metrics").EnumerateArray().Single();
        Assert.Equal("cpu", metric.Path("resource").Str("name"));
        Assert.Equal("Utilization", metric.Path("resource", "target").Str("type"));
        var min = hpa.Path("spec", "minReplicas").GetInt32();
        Assert.InRange(min, 1, hpa.Path("spec", "maxReplicas").GetInt32());
        // Utilization is measured against requests: the container must have a CPU request.
        Assert.True(r.ApiContainer.Has("resources", "requests", "cpu"));
    }
}
