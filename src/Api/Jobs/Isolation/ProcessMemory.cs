using System.Globalization;

namespace NeuralService.Api.Jobs.Isolation;

/// <summary>Resident memory of a process and everything it started, read from <c>/proc</c> (VmRSS of each process in
/// the tree); elsewhere the process's own working set.</summary>
public static class ProcessMemory
{
    /// <summary>Bytes resident in <paramref name="pid"/> and its descendants; 0 once the process is gone.</summary>
    public static long TreeResidentBytes(int pid)
    {
        if (!OperatingSystem.IsLinux()) return WorkingSet(pid);
        long total = 0;
        var seen = new HashSet<int>();
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out var p))
        {
            if (!seen.Add(p)) continue;
            total += ResidentBytes(p);
            foreach (var child in Children(p)) pending.Push(child);
        }
        return total;
    }

    /// <summary>VmRSS of one process (0 when it is gone or a zombie).</summary>
    public static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>The children of every thread of <paramref name="pid"/> (<c>/proc/PID/task/TID/children</c>).</summary>
    private static IEnumerable<int> Children(int pid)
    {
        var found = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var file = Path.Combine(task, "children");
                if (!File.Exists(file)) continue;
                foreach (var part in File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child)) found.Add(child);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return found;
    }

    private static long WorkingSet(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return p.HasExited ? 0 : p.WorkingSet64;
        }
        catch (ArgumentException) { return 0; }
        catch (InvalidOperationException) { return 0; }
    }
}
