using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;
using NeuralService.Api.Jobs.Isolation;

namespace NeuralService.Api.Jobs;

/// <summary><c>Jobs:Runner=process</c>: runs a job this service claimed in a child process of its own
/// (<c>worker --job ID --adopt child/OWNER</c>, this same program with this process's configuration), so no training job
/// can take serving down. The child adopts the claim, renews its lease and records its outcome itself; this side holds
/// the claim until the child adopts it, keeps the child under <c>Jobs:MaxMemoryBytes</c> (cgroup v2 memory limit where
/// one is delegated, and a watchdog on the resident memory of its process tree every 200 ms), kills it when a cancel
/// has not stopped it within <c>Jobs:CancelGraceSeconds</c>, passes SIGTERM on when the service stops, and records the
/// outcome of a child that ended without recording one.</summary>
public sealed class JobProcessRunner(JobService jobs, TrainingRun run, IOptions<JobOptions> options, IOptions<NeuralOptions> neural,
    IConfiguration configuration, IHostEnvironment environment, ILogger<JobProcessRunner> log)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>Runs <paramref name="claimed"/> (claimed as <paramref name="launcher"/>) in a child process until it ends.</summary>
    public async Task<Job> RunAsync(Job claimed, string launcher, CancellationToken stopping)
    {
        var o = options.Value;
        var budget = o.MemoryBudget;
        var clock = Stopwatch.StartNew();
        var child = jobs.TrackChild(claimed);
        using var scope = log.BeginScope(new Dictionary<string, object> { ["JobId"] = claimed.Id });
        MemoryCgroup? cgroup = null;
        Process? process = null;
        try
        {
            try { process = Start(claimed.Id, launcher); }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                return End(claimed, launcher, claimed with
                {
                    State = JobState.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = $"the job's worker process could not be started: {e.Message}",
                });
            }
            child.ProcessId = process.Id;
            cgroup = MemoryCgroup.TryCreate(o.MemoryCgroup, $"neural-{claimed.Id}", budget, out var noCgroup);
            if (cgroup is not null)
            {
                try { cgroup.Add(process.Id); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    log.LogWarning("job {JobId}: cannot move its process into {Cgroup}: {Error}", claimed.Id, cgroup, e.Message);
                    cgroup.Dispose();
                    cgroup = null;
                }
            }
            log.LogInformation("job {JobId} started in process {Pid} (attempt {Attempt}), memory budget {Budget} bytes ({How})", claimed.Id, process.Id,
                claimed.Attempts, budget, cgroup is not null ? "cgroup memory.max and watchdog" : $"resident-memory watchdog; no cgroup: {noCgroup}");

            var watch = await WatchAsync(claimed, launcher, process, child, budget, stopping);
            await process.WaitForExitAsync(CancellationToken.None);
            var code = process.ExitCode;
            if (cgroup is { OomKilled: true } && watch.OverBudgetAt is null) watch = watch with { OverBudgetAt = Math.Max(cgroup.Peak, budget) };

            var current = jobs.Store.Get(claimed.Id) ?? claimed;
            if (current.State != JobState.Running || !IsOurs(current.Worker, launcher, process.Id))
            {
                // The child recorded how the job ended (or it was taken over elsewhere): pass it on to this replica's listeners.
                if (current.State != JobState.Running) jobs.Published(current);
                log.LogInformation("job {JobId}: its process {Pid} exited with code {Code}; job {State}", claimed.Id, process.Id, code, current.State);
                return current;
            }
            var next = watch switch
            {
                { OverBudgetAt: { } at } => current with
                {
                    State = JobState.Failed, FinishedAt = DateTimeOffset.UtcNow,
                    Error = $"the job exceeded its memory budget of {budget} bytes (Jobs:MaxMemoryBytes) at {at} bytes and was stopped; " +
                            "train a smaller model or batch_size, or raise Jobs:MaxMemoryBytes",
                },
                { Canceled: true } => current with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = "canceled while running" },
                { Stopped: true } => current with
                {
                    State = JobState.Queued,
                    Error = current.CheckpointEpoch > 0
                        ? $"the service stopped during epoch {current.CheckpointEpoch + 1}; it resumes from its checkpoint after epoch {current.CheckpointEpoch}"
                        : "the service stopped during epoch 1; it resumes from the start",
                },
                _ => Crashed(current, process.Id, code, o.MaxAttempts),
            };
            return End(current, current.Worker ?? launcher, next);
        }
        finally
        {
            jobs.UntrackChild(claimed.Id);
            if (process is not null)
            {
                if (!process.HasExited) Kill(process);
                process.Dispose();
            }
            cgroup?.Dispose();
            InferenceMetrics.JobDuration.WithLabels((jobs.Store.Get(claimed.Id)?.State ?? JobState.Failed).ToString().ToLowerInvariant())
                .Observe(clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>How the watch over a child ended.</summary>
    private sealed record Watch(long? OverBudgetAt, bool Canceled, bool Stopped);

    /// <summary>Polls the child until it exits: memory against the budget, the claim until the child adopts it, cancel
    /// and service stop.</summary>
    private async Task<Watch> WatchAsync(Job job, string launcher, Process process, JobService.ChildRun child, long budget, CancellationToken stopping)
    {
        var o = options.Value;
        var heartbeat = TimeSpan.FromSeconds(o.HeartbeatSeconds);
        var lastBeat = Stopwatch.StartNew();
        var adopted = false;
        DateTime? stopSentAt = null;
        var stopGrace = TimeSpan.FromSeconds(Math.Max(1, neural.Value.ShutdownSeconds - 3));
        var exited = process.WaitForExitAsync(CancellationToken.None);
        while (!process.HasExited)
        {
            // Resident memory only: a cgroup's memory.current also counts page cache, which the kernel reclaims before
            // it ever enforces memory.max.
            var used = ProcessMemory.TreeResidentBytes(process.Id);
            if (used > budget)
            {
                Kill(process);
                log.LogWarning("job {JobId}: process {Pid} uses {Used} bytes, over its budget of {Budget} (Jobs:MaxMemoryBytes); killed", job.Id, process.Id, used, budget);
                return new Watch(used, false, false);
            }
            if (lastBeat.Elapsed >= heartbeat)
            {
                lastBeat.Restart();
                if (!adopted)
                {
                    // Until the child adopts the claim, this side keeps it alive (a slow start is not a dead worker).
                    var (owned, cancel) = jobs.Store.Heartbeat(job.Id, launcher);
                    adopted = !owned;
                    if (cancel) child.RequestCancel();
                }
                else if (child.CancelRequestedAt is null && jobs.Store.Running().Any(r => r.Job.Id == job.Id && r.CancelRequested))
                    child.RequestCancel(); // canceled through another replica; the child sees it at its own heartbeat
            }
            if (child.CancelRequestedAt is { } canceledAt && DateTime.UtcNow - canceledAt > TimeSpan.FromSeconds(o.CancelGraceSeconds))
            {
                log.LogWarning("job {JobId}: process {Pid} still running {Grace} s after the cancel; killed", job.Id, process.Id, o.CancelGraceSeconds);
                Kill(process);
                return new Watch(null, true, false);
            }
            if (stopping.IsCancellationRequested)
            {
                if (stopSentAt is null)
                {
                    stopSentAt = DateTime.UtcNow;
                    Terminate(process); // the child checkpoints and puts the job back in the queue
                }
                else if (DateTime.UtcNow - stopSentAt > stopGrace)
                {
                    log.LogWarning("job {JobId}: process {Pid} did not stop within {Grace}; killed", job.Id, process.Id, stopGrace);
                    Kill(process);
                    return new Watch(null, false, true);
                }
            }
            await Task.WhenAny(exited, Task.Delay(Poll, CancellationToken.None));
        }
        return new Watch(null, child.CancelRequestedAt is not null, stopping.IsCancellationRequested);
    }

    /// <summary>The stored job is still in this child's hands: claimed for it and not adopted, or adopted by its process.</summary>
    private static bool IsOurs(string? worker, string launcher, int pid) =>
        worker == launcher || (worker is not null && worker.StartsWith($"{Environment.MachineName}:{pid}:", StringComparison.Ordinal));

    /// <summary>A child that ended without recording an outcome counts as a lost worker, as <see cref="JobSupervisor"/>
    /// treats one: queued again to resume from its checkpoint, or interrupted after <c>Jobs:MaxAttempts</c> starts.</summary>
    private static Job Crashed(Job job, int pid, int code, int maxAttempts)
    {
        // .NET reports a process ended by a signal as 128 + the signal number.
        var why = code > 128 && code < 128 + 65
            ? $"its worker process {pid} was killed by signal {code - 128}{(code - 128 == 9 ? " (SIGKILL: out of memory, or killed)" : "")}"
            : $"its worker process {pid} exited with code {code} without recording an outcome";
        return job.Attempts >= maxAttempts
            ? job with { State = JobState.Interrupted, FinishedAt = DateTimeOffset.UtcNow, Error = $"{why} on attempt {job.Attempts} of {maxAttempts}; not retried" }
            : job with { State = JobState.Queued, Error = $"{why}; queued again to resume " + (job.CheckpointEpoch > 0 ? $"after epoch {job.CheckpointEpoch}" : "from the start") };
    }

    private Job End(Job current, string owner, Job next)
    {
        if (next.IsTerminal)
        {
            try { Directory.Delete(run.CheckpointDirectory(next.Id), recursive: true); }
            catch (DirectoryNotFoundException) { }
            catch (IOException e) { log.LogWarning(e, "could not remove the checkpoint of job {JobId}", next.Id); }
        }
        if (!jobs.Store.Transition(next, JobState.Running, owner)) return jobs.Store.Get(current.Id) ?? current;
        log.LogWarning("job {JobId} ended {State}: {Error}", next.Id, next.State, next.Error);
        jobs.Published(next);
        return next;
    }

    private Process Start(string jobId, string launcher)
    {
        var (file, prefix) = WorkerCommand();
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        foreach (var a in (string[])["worker", "--job", jobId, "--adopt", launcher]) psi.ArgumentList.Add(a);
        foreach (var (key, value) in ChildEnvironment()) psi.Environment[key] = value;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        // The child's log lines (compact JSON, enriched with its JobId) go to this service's output, as a container runtime would collect them.
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Out.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
        if (!process.Start()) throw new InvalidOperationException($"'{file}' did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>This process's effective <c>Neural</c> and <c>Jobs</c> settings (whatever set them: appsettings, environment,
    /// command line, a test host) as environment variables, which the child's configuration reads over its appsettings;
    /// the data directory absolute, so a relative one means the same folder.</summary>
    internal IReadOnlyDictionary<string, string> ChildEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var section in new[] { NeuralOptions.Section, JobOptions.Section })
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
                if (value is not null) env[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        env[$"{NeuralOptions.Section}__DataDirectory"] = neural.Value.DataDirectory();
        env["DOTNET_ENVIRONMENT"] = environment.EnvironmentName;
        return env;
    }

    /// <summary>How to start this program again: its apphost, or the <c>dotnet</c> host with <c>NeuralService.Api.dll</c>
    /// (also when this process is another host, such as a test host running the app in-process).</summary>
    public static (string File, IReadOnlyList<string> Prefix) WorkerCommand()
    {
        var dll = typeof(WorkerMode).Assembly.Location;
        var self = Environment.ProcessPath;
        if (self is not null && (dll.Length == 0 || string.Equals(Path.GetFileNameWithoutExtension(self), Path.GetFileNameWithoutExtension(dll), StringComparison.OrdinalIgnoreCase)))
            return (self, []); // the app's own executable (apphost or single-file)
        var host = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h
            : "dotnet";
        return (host, [dll]);
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already exited
        catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>SIGTERM (as the service gets from Kubernetes or <c>docker stop</c>); a kill where there are no signals.</summary>
    private static void Terminate(Process process)
    {
        if (OperatingSystem.IsWindows()) { Kill(process); return; }
        if (SysKill(process.Id, 15) != 0 && !process.HasExited) Kill(process);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
