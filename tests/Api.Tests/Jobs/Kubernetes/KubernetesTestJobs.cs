using System.Text.Json.Nodes;
using NeuralService.Api.Jobs;
using NeuralService.Api.Jobs.Kubernetes;

namespace NeuralService.Api.Tests.Jobs.Kubernetes;

internal static class KubernetesTestJobs
{
    public const string Namespace = "training";
    public const string Image = "registry.example/neural-service:1.2.3";

    public static Job NewJob(string id = "job-0123456789abcdef", string? device = "cpu") =>
        new(id, JobState.Queued, new JobRequest(null, new ModelReference("base"), "ds-1", null, null, device, "trained"), DateTimeOffset.UtcNow);

    public static KubernetesJobOptions Options(Action<KubernetesJobOptions>? edit = null)
    {
        var o = new KubernetesJobOptions { Namespace = Namespace, Image = Image };
        edit?.Invoke(o);
        return o;
    }

    public static JsonObject PodSpec(JsonObject job) => job["spec"]!["template"]!["spec"]!.AsObject();

    public static JsonObject Container(JsonObject job) => PodSpec(job)["containers"]!.AsArray().Single()!.AsObject();

    public static Dictionary<string, string?> Env(JsonObject job) =>
        Container(job)["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"]);

    public static string[] Strings(JsonNode? array) => array!.AsArray().Select(n => (string)n!).ToArray();
}
