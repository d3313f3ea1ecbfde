using System.Globalization;

namespace NeuralService.Api.Jobs.Isolation;

/// <summary>A cgroup v2 memory limit for one job's process: a child group of a writable group delegated to the service
/// (<c>Jobs:MemoryCgroup</c>, or the service's own group when the memory controller is enabled for its children), with
/// <c>memory.max</c> set to the budget and swap off, so the kernel stops the job the moment it goes over — between two
/// looks of the resident-memory watchdog too.</summary>
public sealed class MemoryCgroup : IDisposable
{
    private const string Root = "/sys/fs/cgroup";
    private readonly string _path;

    private MemoryCgroup(string path) => _path = path;

    /// <summary>A group named <paramref name="name"/> limited to <paramref name="limitBytes"/>, or null (with why) where
    /// cgroup v2 is not there or no writable delegated group with the memory controller is.</summary>
    public static MemoryCgroup? TryCreate(string? parent, string name, long limitBytes, out string? why)
    {
        why = null;
        try
        {
            parent ??= OwnGroup();
            if (parent is null) { why = "no cgroup v2 hierarchy"; return null; }
            var subtree = Path.Combine(parent, "cgroup.subtree_control");
            if (!File.Exists(subtree) || !File.ReadAllText(subtree).Split(' ', '\n').Contains("memory"))
            {
                why = $"the memory controller is not enabled for the children of {parent}";
                return null;
            }
            var path = Path.Combine(parent, name);
            Directory.CreateDirectory(path);
            var group = new MemoryCgroup(path);
            try
            {
                File.WriteAllText(Path.Combine(path, "memory.max"), limitBytes.ToString(CultureInfo.InvariantCulture));
                TryWrite(Path.Combine(path, "memory.swap.max"), "0");
                TryWrite(Path.Combine(path, "memory.oom.group"), "1");
                return group;
            }
            catch
            {
                group.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            return null;
        }
    }

    public override string ToString() => _path;

    /// <summary>Moves a process into the group.</summary>
    public void Add(int pid) => File.WriteAllText(Path.Combine(_path, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>True when the kernel killed a process of the group for going over its limit.</summary>
    public bool OomKilled => Event("oom_kill") > 0;

    /// <summary>The group's highest memory use (<c>memory.peak</c>), or its limit where the kernel does not keep one.</summary>
    public long Peak => Read("memory.peak") ?? Read("memory.max") ?? 0;

    private long Event(string name)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(_path, "memory.events")))
                if (line.StartsWith(name + " ", StringComparison.Ordinal) && long.TryParse(line[(name.Length + 1)..], CultureInfo.InvariantCulture, out var n)) return n;
        }
        catch (IOException) { }
        return 0;
    }

    private long? Read(string file)
    {
        try { return long.TryParse(File.ReadAllText(Path.Combine(_path, file)).Trim(), CultureInfo.InvariantCulture, out var n) ? n : null; }
        catch (IOException) { return null; }
    }

    private static string? OwnGroup()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(Path.Combine(Root, "cgroup.controllers"))) return null;
        var line = File.ReadLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
        return line is null ? null : Path.Combine(Root, line[3..].TrimStart('/'));
    }

    private static void TryWrite(string file, string value)
    {
        try { File.WriteAllText(file, value); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Removes the group (its processes have exited).</summary>
    public void Dispose()
    {
        for (var i = 0; i < 20; i++)
        {
            try
            {
                Directory.Delete(_path);
                return;
            }
            catch (DirectoryNotFoundException) { return; }
            catch (IOException) { Thread.Sleep(50); } // the kernel frees the group shortly after its last process exits
            catch (UnauthorizedAccessException) { return; }
        }
    }
}
