using System.Runtime.InteropServices;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// fsync of a directory, so a rename or a new file inside it survives power loss (not only a process kill).
/// .NET has no API for it; on Linux and macOS it is open(O_RDONLY) + fsync. Elsewhere it does nothing.
/// </summary>
internal static partial class DirectorySync
{
    public static void Fsync(string dir)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = Open(dir, 0);
        if (fd < 0) return;
        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
