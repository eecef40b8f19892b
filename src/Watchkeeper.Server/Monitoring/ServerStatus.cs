using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// What Prometheus's status pages show, for Watchkeeper: runtime and build information, the flags the server was
/// started with, and the loaded configuration with its secrets masked. One source for the pages and the API.
/// </summary>
public sealed class ServerStatus(ServeOptions serve, ConfigHolder config, Db db, ILeadership leadership, MetricsRuntime metrics, TimeProvider time)
{
    private static readonly DateTimeOffset ProcessStart = new(Process.GetCurrentProcess().StartTime.ToUniversalTime());
    private readonly DateTimeOffset _started = ProcessStart;

    public DateTimeOffset StartedAt => _started;

    public static string Version =>
        typeof(ServerStatus).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? typeof(ServerStatus).Assembly.GetName().Version?.ToString() ?? "dev";

    /// <summary>Runtime information as (label, value) rows, in the order the page shows them.</summary>
    public IReadOnlyList<(string Key, string Value)> Runtime()
    {
        using var proc = Process.GetCurrentProcess();
        var now = time.GetUtcNow();
        var c = config.Current;
        var gc = GC.GetGCMemoryInfo();
        return
        [
            ("Start time", Iso(_started)),
            ("Uptime", Format(now > _started ? now - _started : TimeSpan.Zero)),
            ("Working directory", Environment.CurrentDirectory),
            ("Configuration file", config.Path),
            ("Configuration reload", config.LastReloadSucceeded ? "successful" : "failed: " + config.LastReloadError),
            ("Last configuration reload", config.LastReloadAt is { } at ? Iso(at) : "never (loaded at start)"),
            ("Database", db.Description),
            ("Leader (singleton work)", leadership.IsLeader ? "yes, this replica" : "no, another replica holds the lease"),
            ("Data directory", Path.GetFullPath(serve.DataDir)),
            ("Storage retention", c.Storage.Tsdb.Retention.ToString() + (c.Storage.Tsdb.MaxBytes > 0 ? " or " + c.Storage.Tsdb.MaxBytes.ToString(CultureInfo.InvariantCulture) + " bytes" : "")),
            ("Head series", metrics.Tsdb.Stats.HeadSeries.ToString("N0", CultureInfo.InvariantCulture)),
            ("Rule files", c.RuleFiles.Count == 0 ? "none" : string.Join(", ", c.RuleFiles)),
            ("Processors", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
            ("Threads", proc.Threads.Count.ToString(CultureInfo.InvariantCulture)),
            ("Resident memory", Bytes(proc.WorkingSet64)),
            ("Managed heap (committed)", Bytes(gc.TotalCommittedBytes)),
            ("Garbage collector", (GCSettings.IsServerGC ? "server" : "workstation") + ", " + GCSettings.LatencyMode),
        ];
    }

    /// <summary>Build information as (label, value) rows.</summary>
    public static IReadOnlyList<(string Key, string Value)> Build() =>
    [
        ("Version", Version),
        ("Runtime", RuntimeInformation.FrameworkDescription),
        ("Operating system", RuntimeInformation.OSDescription),
        ("Architecture", RuntimeInformation.ProcessArchitecture.ToString()),
    ];

    /// <summary>The <c>serve</c> flags in effect (the admin password is never shown).</summary>
    public IReadOnlyList<(string Key, string Value)> Flags() =>
    [
        ("--config", serve.ConfigPath),
        ("--data", serve.DataDir),
        ("--listen", serve.Listen),
        ("--query-warmup", serve.QueryWarmup ? "true" : "false"),
        ("--memory-compaction", serve.MemoryCompaction ? "true" : "false"),
        ("WATCHKEEPER_ADMIN_PASSWORD", serve.AdminPassword is null ? "not set" : SecretRedactor.Mask),
    ];

    /// <summary>The running configuration files with secrets masked: watchkeeper.yml and the Alertmanager part.</summary>
    public IReadOnlyList<(string File, string Yaml)> ConfigFiles()
    {
        var c = config.Current;
        var files = new List<(string, string)> { (c.SourcePath, SecretRedactor.RedactYaml(c.Text)) };
        if (c.Alertmanager.Original.Length > 0)
            files.Add((c.Alertmanager.SourceFile is { Length: > 0 } f && !string.Equals(Path.GetFullPath(f), c.SourcePath, StringComparison.Ordinal) ? f : "Alertmanager sections",
                SecretRedactor.RedactYaml(c.Alertmanager.Original)));
        return files;
    }

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    internal static string Format(TimeSpan d) =>
        d.TotalDays >= 1 ? $"{(int)d.TotalDays}d {d.Hours}h {d.Minutes}m" : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h {d.Minutes}m {d.Seconds}s" : $"{(int)d.TotalMinutes}m {d.Seconds}s";

    internal static string Bytes(long b) =>
        b >= 1L << 30 ? (b / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB"
        : b >= 1L << 20 ? (b / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB"
        : (b / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB";
}
