namespace Watchkeeper.Cli;

/// <summary>The exit codes of <c>wk</c>; scripts branch on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The server answered with an error (validation, not found, conflict, 5xx) or an unexpected response.</summary>
    public const int ServerError = 1;

    /// <summary>The command line is wrong: unknown command or option, missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary>The server could not be reached (refused, DNS, TLS, timeout).</summary>
    public const int Connection = 3;

    /// <summary>Not logged in, token rejected, or the role does not allow the action.</summary>
    public const int Auth = 4;

    /// <summary>A check ran and failed: <c>wk audit verify</c> found the audit log tampered with.</summary>
    public const int CheckFailed = 5;

    /// <summary>Interrupted (Ctrl-C).</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure reported as one line on stderr (<c>wk: message</c>) with an exit code.</summary>
public sealed class WkException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static WkException Usage(string message) => new(ExitCodes.Usage, message);
}
