using System.Text.RegularExpressions;
using k8s.Models;

namespace NeuralService.Api.Jobs.Kubernetes;

/// <summary>One toleration added to GPU pods (<c>Jobs:Kubernetes:GpuTolerations:0:Key</c> …), as in a pod spec.</summary>
public sealed class KubernetesToleration
{
    public string? Key { get; set; }
    /// <summary><c>Equal</c> (default) or <c>Exists</c>.</summary>
    public string? Operator { get; set; }
    public string? Value { get; set; }
    /// <summary><c>NoSchedule</c>, <c>PreferNoSchedule</c>, <c>NoExecute</c>, or empty for all effects.</summary>
    public string? Effect { get; set; }
}

/// <summary>How training jobs become Kubernetes batch/v1 Jobs: configuration section <c>Jobs:Kubernetes</c>
/// (environment variables <c>Jobs__Kubernetes__Image</c> …).</summary>
public sealed partial class KubernetesJobOptions
{
    public const string Section = "Jobs:Kubernetes";

    /// <summary>Where a pod's service-account token volume puts the namespace the pod runs in.</summary>
    public const string ServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    /// <summary>Namespace the Jobs are created in; default: the service's own namespace when it runs in a pod.</summary>
    public string Namespace { get; set; } = DefaultNamespace();

    /// <summary>The service's own container image (its entrypoint runs <c>NeuralService.Api.dll</c>); required.</summary>
    public string? Image { get; set; }
    /// <summary>The Kubernetes API address when not running in a pod and not using a kubeconfig (e.g. <c>kubectl proxy</c>'s
    /// <c>http://127.0.0.1:8001</c>); unauthenticated, so only for a local proxy.</summary>
    public string? ApiServer { get; set; }

    public string? ImagePullPolicy { get; set; }
    public string? ServiceAccountName { get; set; }

    /// <summary>PersistentVolumeClaim mounted at <see cref="DataMountPath"/>; without one the pod gets an emptyDir there.</summary>
    public string? DataClaimName { get; set; }

    public string DataMountPath { get; set; } = "/data";

    /// <summary>Both optional: their keys become environment variables of the worker (envFrom).</summary>
    public string? ConfigMapName { get; set; }
    public string? SecretName { get; set; }

    public string GpuResourceName { get; set; } = "nvidia.com/gpu";

    /// <summary>Only for jobs whose device is <c>cuda</c>/<c>gpu</c>.</summary>
    public Dictionary<string, string> GpuNodeSelector { get; set; } = [];
    public List<KubernetesToleration> GpuTolerations { get; set; } = [];

    /// <summary>Finished Jobs (and their pods, with the logs) are garbage-collected after this; null keeps them.</summary>
    public int? TtlSecondsAfterFinished { get; set; } = 3600;

    /// <summary>Retries of a failed pod; 0 because a training run is not idempotent once it registered a model.</summary>
    public int BackoffLimit { get; set; }

    public string? CpuRequest { get; set; }
    public string? CpuLimit { get; set; }
    public string? MemoryRequest { get; set; }
    public string? MemoryLimit { get; set; }

    /// <summary>The section bound from configuration (missing section: all defaults).</summary>
    public static KubernetesJobOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<KubernetesJobOptions>() ?? new KubernetesJobOptions();

    /// <summary>The namespace in <paramref name="serviceAccountFile"/> when it exists and is not empty, else <c>default</c>.</summary>
    public static string DefaultNamespace(string serviceAccountFile = ServiceAccountNamespaceFile)
    {
        try
        {
            if (File.Exists(serviceAccountFile))
            {
                var ns = File.ReadAllText(serviceAccountFile).Trim();
                if (ns.Length > 0) return ns;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "default";
    }

    /// <summary>Every problem found, each message quoting the bad value; empty when the options can launch Jobs.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Image))
            errors.Add($"Jobs:Kubernetes:Image '{Image}' is missing: set it to the service's container image");
        else if (Image.Any(char.IsWhiteSpace))
            errors.Add($"Jobs:Kubernetes:Image '{Image}' must not contain whitespace");
        if (!IsDns1123Label(Namespace))
            errors.Add($"Jobs:Kubernetes:Namespace '{Namespace}' is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)");
        if (ImagePullPolicy is { } pull && pull is not ("Always" or "IfNotPresent" or "Never"))
            errors.Add($"Jobs:Kubernetes:ImagePullPolicy '{pull}' must be Always, IfNotPresent or Never");
        foreach (var (key, value) in new[] { ("ServiceAccountName", ServiceAccountName), ("DataClaimName", DataClaimName), ("ConfigMapName", ConfigMapName), ("SecretName", SecretName) })
            if (value is not null && !IsDns1123Subdomain(value))
                errors.Add($"Jobs:Kubernetes:{key} '{value}' is not a DNS-1123 subdomain name");
        if (!DataMountPath.StartsWith('/') || DataMountPath.TrimEnd('/') is "" or "/tmp" || DataMountPath.Contains(':'))
            errors.Add($"Jobs:Kubernetes:DataMountPath '{DataMountPath}' must be an absolute path other than '/' and '/tmp'");
        if (!IsQualifiedName(GpuResourceName) || !GpuResourceName.Contains('/'))
            errors.Add($"Jobs:Kubernetes:GpuResourceName '{GpuResourceName}' must be a qualified resource name such as 'nvidia.com/gpu'");
        foreach (var (key, value) in GpuNodeSelector)
        {
            if (!IsQualifiedName(key)) errors.Add($"Jobs:Kubernetes:GpuNodeSelector key '{key}' is not a valid label key");
            if (!IsLabelValue(value)) errors.Add($"Jobs:Kubernetes:GpuNodeSelector value '{value}' of '{key}' is not a valid label value");
        }
        for (var i = 0; i < GpuTolerations.Count; i++)
            ValidateToleration(i, GpuTolerations[i], errors);
        if (TtlSecondsAfterFinished is < 0)
            errors.Add($"Jobs:Kubernetes:TtlSecondsAfterFinished '{TtlSecondsAfterFinished}' must be 0 or more");
        if (BackoffLimit < 0)
            errors.Add($"Jobs:Kubernetes:BackoffLimit '{BackoffLimit}' must be 0 or more");
        foreach (var (key, value) in new[] { ("CpuRequest", CpuRequest), ("CpuLimit", CpuLimit), ("MemoryRequest", MemoryRequest), ("MemoryLimit", MemoryLimit) })
            if (value is not null && !IsQuantity(value))
                errors.Add($"Jobs:Kubernetes:{key} '{value}' is not a Kubernetes quantity such as '500m', '2' or '4Gi'");
        return errors;
    }

    private static void ValidateToleration(int i, KubernetesToleration t, List<string> errors)
    {
        var at = $"Jobs:Kubernetes:GpuTolerations:{i}";
        if (t.Operator is not (null or "Equal" or "Exists"))
            errors.Add($"{at}:Operator '{t.Operator}' must be Equal or Exists");
        if (t.Operator == "Exists" && !string.IsNullOrEmpty(t.Value))
            errors.Add($"{at}:Value '{t.Value}' must be empty when the operator is Exists");
        if (string.IsNullOrEmpty(t.Key) && t.Operator != "Exists")
            errors.Add($"{at}:Key '{t.Key}' may only be empty with operator Exists");
        if (!string.IsNullOrEmpty(t.Key) && !IsQualifiedName(t.Key))
            errors.Add($"{at}:Key '{t.Key}' is not a valid label key");
        if (t.Effect is not (null or "" or "NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            errors.Add($"{at}:Effect '{t.Effect}' must be NoSchedule, PreferNoSchedule or NoExecute");
    }

    private static bool IsQuantity(string value)
    {
        if (value.Length == 0) return false;
        try
        {
            _ = new ResourceQuantity(value).ToDecimal();
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    internal static bool IsDns1123Label(string? value) => value is { Length: > 0 and <= 63 } && Dns1123Label().IsMatch(value);

    internal static bool IsDns1123Subdomain(string? value) =>
        value is { Length: > 0 and <= 253 } && value.Split('.').All(p => p.Length > 0 && Dns1123Label().IsMatch(p));

    internal static bool IsLabelValue(string? value) => value is not null && value.Length <= 63 && (value.Length == 0 || LabelName().IsMatch(value));

    /// <summary><c>[prefix/]name</c> as label keys and extended resource names are written.</summary>
    internal static bool IsQualifiedName(string? value)
    {
        if (string.IsNullOrEmpty(value)) return false;
        var slash = value.IndexOf('/');
        var name = slash < 0 ? value : value[(slash + 1)..];
        if (slash >= 0 && !IsDns1123Subdomain(value[..slash])) return false;
        return name.Length is > 0 and <= 63 && LabelName().IsMatch(name);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelName();
}
