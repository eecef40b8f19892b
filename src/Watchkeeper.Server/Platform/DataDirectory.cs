using System.Runtime.InteropServices;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// The data directory holds password and token hashes, the audit key and security incidents: readable by the
/// server's user only. The process umask is set to 077 at start, so everything created afterwards (the SQLite
/// database and its -wal/-shm files, the TSDB, cookie keys) is 0700/0600; what an older version created with a
/// looser mode is tightened once at start.
/// </summary>
public static class DataDirectory
{
    public const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    // DllImport, not LibraryImport: the generator needs AllowUnsafeBlocks, and umask(2) takes and returns a plain integer.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint Umask(uint mask);
#pragma warning restore SYSLIB1054

    /// <summary>Sets the process umask to 077 (no-op on Windows) and returns the previous one.</summary>
    public static uint RestrictUmask() => OperatingSystem.IsWindows() ? 0 : Umask(0b000_111_111);

    /// <summary>
    /// Creates <paramref name="dir"/> with mode 0700, or removes group and other permissions from it and everything
    /// below it. Returns the paths whose mode was tightened.
    /// </summary>
    public static IReadOnlyList<string> Prepare(string dir)
    {
        var tightened = new List<string>();
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
            return tightened;
        }
        RestrictUmask();
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, DirMode);
            return tightened;
        }
        Tighten(new DirectoryInfo(dir), tightened);
        foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            if (e.LinkTarget is not null) continue; // a symlink's own mode is meaningless; its target is not ours to change
            Tighten(e, tightened);
        }
        return tightened;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Tighten(FileSystemInfo e, List<string> tightened)
    {
        var mode = e.UnixFileMode;
        if ((mode & GroupOther) == 0) return;
        e.UnixFileMode = mode & ~GroupOther;
        tightened.Add(e.FullName);
    }
}
