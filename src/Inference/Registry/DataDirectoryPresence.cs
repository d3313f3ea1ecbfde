namespace NeuralService.Inference.Registry;

/// <summary>Which processes have a data directory open: each holds an exclusive lock on a file of its own under
/// <c>presence/</c> for as long as its registry is open (the lock dies with the process, so a crashed process never
/// looks present). Replicas sharing one volume use it to leave each other's files alone while they are being written.</summary>
public sealed class DataDirectoryPresence : IDisposable
{
    private readonly string _directory;
    private readonly string _own;
    private readonly FileStream _lock;

    public DataDirectoryPresence(string dataDirectory)
    {
        _directory = Path.Combine(dataDirectory, "presence");
        Directory.CreateDirectory(_directory);
        _own = Path.Combine(_directory, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}.lock");
        _lock = new FileStream(_own, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
    }

    /// <summary>True when another live process has the directory open; presence files of dead processes are removed.</summary>
    public bool OthersPresent()
    {
        var others = false;
        foreach (var f in Directory.EnumerateFiles(_directory, "*.lock"))
        {
            if (f == _own) continue;
            try
            {
                using (new FileStream(f, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(f); // we could lock it: its process is gone
            }
            catch (IOException) { others = true; }
            catch (UnauthorizedAccessException) { others = true; }
        }
        return others;
    }

    public void Dispose()
    {
        _lock.Dispose();
        try { File.Delete(_own); }
        catch (IOException) { }
    }
}
