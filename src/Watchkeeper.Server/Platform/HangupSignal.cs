using System.Runtime.InteropServices;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// SIGHUP reloads the configuration, also when the server was started with SIGHUP ignored (<c>nohup</c>, some
/// supervisors): an ignored disposition inherited across exec would otherwise keep the runtime's handler from ever
/// seeing the signal. Prometheus (Go's <c>signal.Notify</c>) behaves the same way.
/// </summary>
internal static class HangupSignal
{
    private const int SigHup = 1;
    private static readonly IntPtr SigDfl = IntPtr.Zero;
    private static readonly IntPtr SigIgn = new(1);

    // DllImport, not LibraryImport: the generator needs AllowUnsafeBlocks. The struct is read only for its first field
    // (sa_handler on Linux and macOS); the buffer is larger than struct sigaction on every supported platform.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static extern int SigAction(int signum, IntPtr act, [Out] byte[] oldact);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr Signal(int signum, IntPtr handler);
#pragma warning restore SYSLIB1054

    /// <summary>Restores SIGHUP's default disposition if it was inherited as ignored. Call before registering a handler.</summary>
    /// <returns>Whether it was ignored (and is no longer).</returns>
    public static bool UnignoreInherited()
    {
        if (OperatingSystem.IsWindows()) return false;
        var old = new byte[512];
        if (SigAction(SigHup, IntPtr.Zero, old) != 0) return false;
        if (BitConverter.ToInt64(old, 0) != SigIgn.ToInt64()) return false;
        return Signal(SigHup, SigDfl) == SigIgn;
    }
}
