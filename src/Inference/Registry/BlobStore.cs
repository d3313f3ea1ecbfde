using System.Security.Cryptography;

namespace NeuralService.Inference.Registry;

/// <summary>Model files under the data directory, named by their SHA-256 (<c>blobs/&lt;sha&gt;.onnx</c>).
/// A file is written to <c>tmp/</c>, fsynced, re-read and hash-checked, then renamed into place, so a crash leaves
/// either no file or a complete one; stray temporaries and unreferenced blobs are removed by <see cref="CleanUp"/>.</summary>
public sealed class BlobStore
{
    public BlobStore(string dataDirectory)
    {
        Root = Path.GetFullPath(dataDirectory);
        BlobDirectory = Path.Combine(Root, "blobs");
        TempDirectory = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(BlobDirectory);
        Directory.CreateDirectory(TempDirectory);
    }

    public string Root { get; }
    public string BlobDirectory { get; }
    public string TempDirectory { get; }

    public string PathOf(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException($"'{sha256}' is not a lower-case SHA-256 hex digest", nameof(sha256));
        return Path.Combine(BlobDirectory, sha256 + ".onnx");
    }

    public static string Sha256Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Sha256OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Stores <paramref name="bytes"/> and returns its digest. Idempotent: equal content shares one file.</summary>
    public async Task<string> WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default)
    {
        var sha = Sha256Of(bytes.Span);
        var final = PathOf(sha);
        if (File.Exists(final) && Sha256OfFile(final) == sha) return sha;
        var tmp = Path.Combine(TempDirectory, Guid.NewGuid().ToString("N") + ".partial");
        try
        {
            await using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(bytes, ct);
                stream.Flush(flushToDisk: true);
            }
            // Re-read what reached the disk: a short write or a bad block must not become a registered version.
            var written = Sha256OfFile(tmp);
            if (written != sha) throw new IOException($"model file written to '{tmp}' hashes to {written}, expected {sha}");
            File.Move(tmp, final, overwrite: true);
            FsyncDirectory(BlobDirectory);
            return sha;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public void Delete(string sha256)
    {
        var path = PathOf(sha256);
        if (File.Exists(path)) File.Delete(path);
    }

    /// <summary>Removes temporaries of interrupted writes and blobs no version references (written, but the crash
    /// came before the metadata commit; or deleted from metadata, but the crash came before the file was removed).
    /// With <paramref name="olderThan"/> only files last written before then: other live processes sharing the
    /// directory may be between writing a file and committing its metadata.</summary>
    public IReadOnlyList<string> CleanUp(IReadOnlySet<string> referenced, DateTime? olderThan = null)
    {
        var removed = new List<string>();
        bool Old(string f) => olderThan is not { } t || File.GetLastWriteTimeUtc(f) < t;
        foreach (var f in Directory.EnumerateFiles(TempDirectory).Where(Old))
        {
            File.Delete(f);
            removed.Add(f);
        }
        foreach (var f in Directory.EnumerateFiles(BlobDirectory))
        {
            var name = Path.GetFileName(f);
            if (name.EndsWith(".onnx", StringComparison.Ordinal) && referenced.Contains(name[..^5])) continue;
            if (!Old(f)) continue;
            File.Delete(f);
            removed.Add(f);
        }
        return removed;
    }

    /// <summary>Last write time of a blob, or null when it is absent.</summary>
    public DateTime? WrittenAt(string sha256)
    {
        var path = PathOf(sha256);
        return File.Exists(path) ? File.GetLastWriteTimeUtc(path) : null;
    }

    /// <summary>Makes a rename durable: on Linux the directory entry is only persistent after the directory is fsynced.</summary>
    private static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        var fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { Native.fsync(fd); }
        finally { Native.close(fd); }
    }

    private static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}
