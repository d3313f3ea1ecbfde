using System.Diagnostics;

namespace NeuralService.Api.Jobs;

/// <summary>Who runs a job: <c>host:pid:nonce</c> for a service or worker process, <c>kubernetes/NAME</c> for a launched
/// Kubernetes Job before its worker adopts it, <c>child/host:pid:nonce</c> for a job a service process claimed for a
/// child process (<c>Jobs:Runner=process</c>) before the child adopts it. The nonce tells a restarted process (same
/// host, same pid 1 in a container) from the one that owned a job before it.</summary>
public static class JobOwner
{
    public const string KubernetesPrefix = "kubernetes/";
    public const string ChildPrefix = "child/";

    public static readonly string Current = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public static string Kubernetes(string jobName) => KubernetesPrefix + jobName;

    /// <summary>A job claimed by <paramref name="parent"/> for a child process it starts.</summary>
    public static string Child(string parent) => ChildPrefix + parent;

    /// <summary>True when the owner was a process on this machine that is gone, so its jobs need not wait for the lease.
    /// A job claimed for a child process is orphaned when the process that claimed it is gone.</summary>
    public static bool IsDeadLocalProcess(string owner)
    {
        if (owner.StartsWith(ChildPrefix, StringComparison.Ordinal)) owner = owner[ChildPrefix.Length..];
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
