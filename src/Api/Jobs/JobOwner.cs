using System.Diagnostics;

namespace NeuralService.Api.Jobs;

/// <summary>Who runs a job: <c>host:pid:nonce</c> for a service process, <c>kubernetes/NAME</c> for a launched Kubernetes
/// Job before its worker adopts it. The nonce tells a restarted process (same host, same pid 1 in a container) from the
/// one that owned a job before it.</summary>
public static class JobOwner
{
    public const string KubernetesPrefix = "kubernetes/";

    public static readonly string Current = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public static string Kubernetes(string jobName) => KubernetesPrefix + jobName;

    /// <summary>True when the owner was a process on this machine that is gone, so its jobs need not wait for the lease.</summary>
    public static bool IsDeadLocalProcess(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 3 || parts[0] != Environment.MachineName || !int.TryParse(parts[1], out var pid)) return false;
        if (pid == Environment.ProcessId) return owner != Current;
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited;
        }
        catch (ArgumentException) { return true; }
    }
}
