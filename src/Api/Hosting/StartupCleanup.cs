using Microsoft.Extensions.Options;
using NeuralService.Api.Jobs;

namespace NeuralService.Api.Hosting;

/// <summary>Removes, before the server listens and the workers claim jobs, what a crash (<c>kill -9</c>, a lost node)
/// left in the data directory: dataset folders whose upload never wrote its <c>dataset.json</c> (the commit marker,
/// written last and atomically), ASP.NET's multipart temp files under <c>tmp/aspnet/</c> (see <see cref="TempFiles"/>), and
/// checkpoint folders of jobs that ended (or are no longer stored) more than <c>Neural:Cleanup:CheckpointRetentionHours</c>
/// ago. Whatever was touched recently is left alone: another replica sharing the directory may still be writing it.</summary>
public sealed class StartupCleanup(IOptions<NeuralOptions> options, JobStore jobs, ILogger<StartupCleanup> log) : IHostedService
{
    public const string DatasetMarker = "dataset.json";

    /// <summary>What one run removed, as paths relative to the data directory.</summary>
    public IReadOnlyList<string> Removed { get; private set; } = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Run(DateTimeOffset.UtcNow);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Run(DateTimeOffset now)
    {
        var o = options.Value;
        var root = o.DataDirectory();
        var uploadCutoff = now - TimeSpan.FromMinutes(o.Cleanup.PartialUploadMinutes);
        var checkpointCutoff = now - TimeSpan.FromHours(o.Cleanup.CheckpointRetentionHours);
        var removed = new List<string>();

        foreach (var dir in Folders(Path.Combine(root, "datasets")))
            if (!File.Exists(Path.Combine(dir, DatasetMarker)) && LastWrite(dir) < uploadCutoff)
                Remove(dir, "partial dataset upload (no dataset.json)", root, removed);

        var tmp = Path.Combine(root, TempFiles.Folder);
        if (Directory.Exists(tmp))
            foreach (var entry in Directory.EnumerateFileSystemEntries(tmp).ToList())
                if (LastWrite(entry) < uploadCutoff) Remove(entry, "temp file of an interrupted request", root, removed);

        foreach (var dir in Folders(Path.Combine(root, "jobs")))
        {
            Job? job;
            try { job = jobs.Get(Path.GetFileName(dir)); }
            catch (UnreadableJobException) { continue; }
            var ended = job is null ? LastWrite(dir) : job.IsTerminal ? job.FinishedAt ?? LastWrite(dir) : (DateTimeOffset?)null;
            if (ended < checkpointCutoff)
                Remove(dir, job is null ? "checkpoint of a job no longer stored" : $"checkpoint of a job that ended ({job.State.ToString().ToLowerInvariant()}) at {ended:O}", root, removed);
        }

        Removed = removed;
        log.LogInformation("large uploads are buffered in {TempDirectory}",
            Environment.GetEnvironmentVariable(TempFiles.EnvironmentVariable) is { Length: > 0 } t ? t : Path.GetTempPath());
        if (removed.Count > 0) log.LogInformation("start-up cleanup removed {Count} leftover(s) from the data directory", removed.Count);
    }

    private void Remove(string path, string why, string root, List<string> removed)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
            removed.Add(Path.GetRelativePath(root, path));
            log.LogInformation("start-up cleanup: removed {Path}: {Reason}", Path.GetRelativePath(root, path), why);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("start-up cleanup: could not remove {Path} ({Reason}): {Error}", Path.GetRelativePath(root, path), why, e.Message);
        }
    }

    private static IEnumerable<string> Folders(string dir) => Directory.Exists(dir) ? Directory.EnumerateDirectories(dir).ToList() : [];

    /// <summary>The newest write to a file, or to a folder or anything directly in it.</summary>
    private static DateTimeOffset LastWrite(string path)
    {
        if (!Directory.Exists(path)) return File.GetLastWriteTimeUtc(path);
        var newest = Directory.GetLastWriteTimeUtc(path);
        foreach (var f in Directory.EnumerateFileSystemEntries(path))
        {
            var t = File.GetLastWriteTimeUtc(f);
            if (t > newest) newest = t;
        }
        return new DateTimeOffset(newest, TimeSpan.Zero);
    }
}

/// <summary>Multipart uploads larger than ASP.NET's in-memory threshold are buffered in temp files; a killed process
/// leaves them behind. They go to <c>tmp/aspnet/</c> of the data directory (unless <c>ASPNETCORE_TEMP</c> names another place),
/// where <see cref="StartupCleanup"/> finds them.</summary>
public static class TempFiles
{
    /// <summary>Beside the registry's own <c>tmp/</c> files (partial model blobs, which it cleans itself).</summary>
    public static readonly string Folder = Path.Combine("tmp", "aspnet");
    public const string EnvironmentVariable = "ASPNETCORE_TEMP";

    /// <summary>Process-wide (ASP.NET reads the variable once, at the first buffered upload), so the entry point calls it
    /// before the server starts; a variable set already (by the operator, or by in-process test hosts) is kept.</summary>
    public static string UseDataDirectory(string dataDirectory)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given) return given;
        var tmp = Path.Combine(Path.GetFullPath(dataDirectory), Folder);
        Directory.CreateDirectory(tmp);
        Environment.SetEnvironmentVariable(EnvironmentVariable, tmp);
        return tmp;
    }
}
