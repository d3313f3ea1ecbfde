using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace NeuralService.Api.Jobs.Kubernetes;

/// <summary>What the cluster says about a training job's batch/v1 Job.</summary>
public enum KubernetesJobPhase { Pending, Running, Succeeded, Failed, Missing }

/// <summary>Runs each training job as a Kubernetes batch/v1 Job whose one pod executes
/// <c>NeuralService.Api.dll worker --job &lt;id&gt;</c> against the shared job store.</summary>
public sealed class KubernetesJobLauncher(IKubernetes client, KubernetesJobOptions options) : IDisposable
{
    public const string NamePrefix = "neural-train-";
    public const string ContainerName = "worker";
    public const string JobIdLabel = "neural-service/job-id";
    public const string JobIdAnnotation = "neural-service/job-id";

    private readonly IKubernetes _client = client ?? throw new ArgumentNullException(nameof(client));
    private readonly KubernetesJobOptions _options = Checked(options);
    private bool _ownsClient;

    /// <summary>A client for the cluster this process runs in (service-account token) when it runs in a pod, else from
    /// <paramref name="kubeconfigPath"/>, <c>$KUBECONFIG</c> (its first file) or <c>~/.kube/config</c>. An explicit path wins
    /// over the in-cluster configuration.</summary>
    public static IKubernetes CreateClient(string? kubeconfigPath = null)
    {
        KubernetesClientConfiguration config;
        if (kubeconfigPath is null && KubernetesClientConfiguration.IsInCluster())
            config = KubernetesClientConfiguration.InClusterConfig();
        else
        {
            var path = kubeconfigPath
                ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()
                ?? KubernetesClientConfiguration.KubeConfigDefaultLocation;
            if (!File.Exists(path))
                throw new InvalidOperationException($"not running in a Kubernetes pod and kubeconfig '{path}' does not exist");
            config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        return new k8s.Kubernetes(config);
    }

    /// <summary>A launcher that owns (and disposes) a client made by <see cref="CreateClient"/>.</summary>
    public static KubernetesJobLauncher Create(KubernetesJobOptions options, string? kubeconfigPath = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
        var client = options.ApiServer is { Length: > 0 } server
            ? new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server })
            : CreateClient(kubeconfigPath);
        return new KubernetesJobLauncher(client, options) { _ownsClient = true };
    }

    public KubernetesJobOptions Options => _options;

    /// <summary><c>neural-train-&lt;id&gt;</c> made a DNS-1123 label: lower-cased, other characters turned into '-', at most
    /// 63 characters (the job controller copies the name into a label value). An id that had to be changed gets a hash
    /// of the original appended so that two ids never share a Job.</summary>
    public static string JobName(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var lowered = jobId.ToLowerInvariant();
        var sb = new StringBuilder(lowered.Length);
        foreach (var c in lowered) sb.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-');
        var cleaned = sb.ToString().Trim('-');
        const int room = 63 - 13;
        if (cleaned == jobId && cleaned.Length <= room) return NamePrefix + cleaned;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)))[..10];
        var head = cleaned.Length > room - 11 ? cleaned[..(room - 11)].TrimEnd('-') : cleaned;
        return NamePrefix + (head.Length == 0 ? hash : head + "-" + hash);
    }

    /// <summary>True when the job asks for a GPU (device <c>cuda</c> or <c>gpu</c>); <c>auto</c> and <c>cpu</c> run on CPU
    /// nodes because a pod cannot discover a GPU it was not given.</summary>
    public static bool WantsGpu(Job job) => job.Request.Device?.Trim().ToLowerInvariant() is "cuda" or "gpu";

    /// <summary>The batch/v1 Job that runs <paramref name="job"/>; pure.</summary>
    public V1Job Manifest(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var name = JobName(job.Id);
        var gpu = WantsGpu(job);
        var labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "neural-service",
            ["app.kubernetes.io/component"] = "training",
            // a label value cannot hold every id; the annotation always has it verbatim
            [JobIdLabel] = KubernetesJobOptions.IsLabelValue(job.Id) ? job.Id : name[NamePrefix.Length..],
        };
        var annotations = new Dictionary<string, string> { [JobIdAnnotation] = job.Id };

        var env = new List<V1EnvVar>
        {
            new() { Name = "NEURAL_DATA_DIR", Value = _options.DataMountPath },
            new() { Name = "Neural__UseCuda", Value = gpu ? "true" : "false" },
            // dotnet's temporary files and the app's scratch space live on the emptyDir, not the read-only root
            new() { Name = "TMPDIR", Value = "/tmp" },
        };
        var envFrom = new List<V1EnvFromSource>();
        if (_options.ConfigMapName is { } cm) envFrom.Add(new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = cm } });
        if (_options.SecretName is { } secret) envFrom.Add(new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = secret } });

        var dataVolume = _options.DataClaimName is { } claim
            ? new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim } }
            : new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() };
        var volumes = new List<V1Volume> { dataVolume, new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() } };
        var mounts = new List<V1VolumeMount> { new() { MountPath = _options.DataMountPath, Name = "data" }, new() { MountPath = "/tmp", Name = "tmp" } };

        var container = new V1Container
        {
            Name = ContainerName,
            Image = _options.Image,
            ImagePullPolicy = _options.ImagePullPolicy,
            Args = ["worker", "--job", job.Id],
            Env = env,
            EnvFrom = envFrom.Count > 0 ? envFrom : null,
            VolumeMounts = mounts,
            Resources = Resources(gpu),
            SecurityContext = new V1SecurityContext
            {
                RunAsNonRoot = true,
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
        };

        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = _options.Namespace, Labels = labels, Annotations = annotations },
            Spec = new V1JobSpec
            {
                BackoffLimit = _options.BackoffLimit,
                TtlSecondsAfterFinished = _options.TtlSecondsAfterFinished,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels), Annotations = new Dictionary<string, string>(annotations) },
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        ServiceAccountName = _options.ServiceAccountName,
                        // the worker reads the job store, never the Kubernetes API
                        AutomountServiceAccountToken = false,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = true,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                        Containers = [container],
                        Volumes = volumes,
                        NodeSelector = gpu && _options.GpuNodeSelector.Count > 0 ? new Dictionary<string, string>(_options.GpuNodeSelector) : null,
                        Tolerations = gpu && _options.GpuTolerations.Count > 0
                            ? _options.GpuTolerations.Select(t => new V1Toleration { Key = t.Key, OperatorProperty = t.Operator, Value = t.Value, Effect = t.Effect }).ToList()
                            : null,
                    },
                },
            },
        };
    }

    /// <summary>Creates the Job; when it already exists (HTTP 409: another replica, or this one before a crash, launched
    /// it) returns the existing one instead of starting a second run.</summary>
    public async Task<V1Job> LaunchAsync(Job job, CancellationToken ct)
    {
        var manifest = Manifest(job);
        try
        {
            return await _client.BatchV1.CreateNamespacedJobAsync(manifest, _options.Namespace, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return await _client.BatchV1.ReadNamespacedJobAsync(manifest.Metadata.Name, _options.Namespace, cancellationToken: ct).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the Job and (in the background) its pods, which stops a running worker; a Job that is already gone
    /// is fine.</summary>
    public async Task DeleteAsync(string jobId, CancellationToken ct)
    {
        try
        {
            await _client.BatchV1.DeleteNamespacedJobAsync(JobName(jobId), _options.Namespace,
                new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }

    /// <summary>The Job's phase, from its conditions first (<c>Complete</c>/<c>SuccessCriteriaMet</c>,
    /// <c>Failed</c>/<c>FailureTarget</c>), then its pod counts: a ready pod is running, an active one not yet ready is
    /// pending. <see cref="KubernetesJobPhase.Missing"/> when the Job does not exist (deleted, or collected by its TTL).</summary>
    public async Task<KubernetesJobPhase> PhaseAsync(string jobId, CancellationToken ct)
    {
        V1Job job;
        try
        {
            job = await _client.BatchV1.ReadNamespacedJobAsync(JobName(jobId), _options.Namespace, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return KubernetesJobPhase.Missing;
        }
        return PhaseOf(job.Status);
    }

    public static KubernetesJobPhase PhaseOf(V1JobStatus? status)
    {
        if (status is null) return KubernetesJobPhase.Pending;
        bool Has(string type) => status.Conditions?.Any(c => c.Type == type && string.Equals(c.Status, "True", StringComparison.OrdinalIgnoreCase)) == true;
        if (Has("Failed") || Has("FailureTarget")) return KubernetesJobPhase.Failed;
        if (Has("Complete") || Has("SuccessCriteriaMet")) return KubernetesJobPhase.Succeeded;
        if (status.Succeeded is > 0) return KubernetesJobPhase.Succeeded;
        if (status.Active is > 0)
            // clusters older than 1.24 do not report ready pods: an active pod is the best they tell
            return status.Ready is null or > 0 ? KubernetesJobPhase.Running : KubernetesJobPhase.Pending;
        return KubernetesJobPhase.Pending;
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    private V1ResourceRequirements? Resources(bool gpu)
    {
        var requests = new Dictionary<string, ResourceQuantity>();
        var limits = new Dictionary<string, ResourceQuantity>();
        if (_options.CpuRequest is { } cpuRequest) requests["cpu"] = new ResourceQuantity(cpuRequest);
        if (_options.MemoryRequest is { } memoryRequest) requests["memory"] = new ResourceQuantity(memoryRequest);
        if (_options.CpuLimit is { } cpuLimit) limits["cpu"] = new ResourceQuantity(cpuLimit);
        if (_options.MemoryLimit is { } memoryLimit) limits["memory"] = new ResourceQuantity(memoryLimit);
        // extended resources cannot be overcommitted: the limit alone also sets the request
        if (gpu) limits[_options.GpuResourceName] = new ResourceQuantity("1");
        if (requests.Count == 0 && limits.Count == 0) return null;
        return new V1ResourceRequirements { Requests = requests.Count > 0 ? requests : null, Limits = limits.Count > 0 ? limits : null };
    }

    private static KubernetesJobOptions Checked(KubernetesJobOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
        return options;
    }
}
