using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Server.Monitoring.HostMetrics;

/// <summary>Size, available and free bytes of one mounted filesystem.</summary>
public readonly record struct FilesystemStats(long SizeBytes, long AvailableBytes, long FreeBytes);

/// <summary>
/// Reads /proc (stat, meminfo, loadavg, diskstats, net/dev, mounts) and statfs, and renders node_exporter's metric
/// names in the text format; the server serves it at <c>/-/node/metrics</c> and scrapes it as the <c>node</c> job.
/// A file that is missing or unreadable leaves its metrics out and is reported in node_scrape_collector_success.
/// </summary>
public sealed partial class HostCollector
{
    /// <summary>USER_HZ: /proc/stat counts CPU time in 1/100 s on every Linux architecture the runtime supports.</summary>
    public const double UserHz = 100.0;

    private static readonly string[] CpuModes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];

    private static readonly HashSet<string> IgnoredFsTypes = new(StringComparer.Ordinal)
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "fusectl",
        "hugetlbfs", "iso9660", "mqueue", "nsfs", "proc", "procfs", "pstore", "rpc_pipefs", "securityfs", "selinuxfs",
        "squashfs", "sysfs", "tracefs", "ramfs", "efivarfs", "nfsd", "fuse.lxcfs",
    };

    private readonly string _procRoot;
    private readonly Func<string, FilesystemStats?> _statfs;

    /// <param name="procRoot">Root of the proc filesystem (tests point it at fixture files).</param>
    /// <param name="statfs">Filesystem statistics by mount point; default uses <see cref="DriveInfo"/> (statfs).</param>
    public HostCollector(string procRoot = "/proc", Func<string, FilesystemStats?>? statfs = null)
    {
        _procRoot = procRoot;
        _statfs = statfs ?? DefaultStatfs;
    }

    /// <summary>Renders every metric as text format 0.0.4.</summary>
    public string RenderExposition()
    {
        var w = new ExpositionWriter();
        var ok = new List<(string, bool)>
        {
            ("cpu", Try(() => WriteCpu(w))),
            ("meminfo", Try(() => WriteMeminfo(w))),
            ("loadavg", Try(() => WriteLoad(w))),
            ("diskstats", Try(() => WriteDisks(w))),
            ("netdev", Try(() => WriteNet(w))),
            ("filesystem", Try(() => WriteFilesystems(w))),
        };
        w.Family("node_scrape_collector_success", MetricType.Gauge, "Whether a collector succeeded.");
        foreach (var (name, success) in ok) w.Sample("node_scrape_collector_success", success ? 1 : 0, "collector", name);
        return w.ToString();
    }

    private static bool Try(Action a)
    {
        try
        {
            a();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or OverflowException)
        {
            return false;
        }
    }

    private string ProcPath(string rel) => Path.Combine(_procRoot, rel);

    private static double Num(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    private void WriteCpu(ExpositionWriter w)
    {
        var lines = File.ReadAllLines(ProcPath("stat"));
        w.Family("node_cpu_seconds_total", MetricType.Counter, "Seconds the CPUs spent in each mode.");
        var guest = new List<(string Cpu, double User, double Nice)>();
        foreach (var line in lines)
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3])) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var cpu = f[0][3..];
            for (var i = 0; i < CpuModes.Length && i + 1 < f.Length; i++)
                w.Sample("node_cpu_seconds_total", Num(f[i + 1]) / UserHz, "cpu", cpu, "mode", CpuModes[i]);
            if (f.Length > 10) guest.Add((cpu, Num(f[9]) / UserHz, Num(f[10]) / UserHz));
        }
        if (guest.Count > 0)
        {
            w.Family("node_cpu_guest_seconds_total", MetricType.Counter, "Seconds the CPUs spent in guests (VMs) for each mode.");
            foreach (var (cpu, user, nice) in guest)
            {
                w.Sample("node_cpu_guest_seconds_total", user, "cpu", cpu, "mode", "user");
                w.Sample("node_cpu_guest_seconds_total", nice, "cpu", cpu, "mode", "nice");
            }
        }
        foreach (var line in lines)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2) continue;
            switch (f[0])
            {
                case "ctxt":
                    w.Family("node_context_switches_total", MetricType.Counter, "Total number of context switches.").Sample("node_context_switches_total", Num(f[1]));
                    break;
                case "intr":
                    w.Family("node_intr_total", MetricType.Counter, "Total number of interrupts serviced.").Sample("node_intr_total", Num(f[1]));
                    break;
                case "btime":
                    w.Family("node_boot_time_seconds", MetricType.Gauge, "Node boot time, in unixtime.").Sample("node_boot_time_seconds", Num(f[1]));
                    break;
                case "processes":
                    w.Family("node_forks_total", MetricType.Counter, "Total number of forks.").Sample("node_forks_total", Num(f[1]));
                    break;
                case "procs_running":
                    w.Family("node_procs_running", MetricType.Gauge, "Number of processes in runnable state.").Sample("node_procs_running", Num(f[1]));
                    break;
                case "procs_blocked":
                    w.Family("node_procs_blocked", MetricType.Gauge, "Number of processes blocked waiting for I/O to complete.").Sample("node_procs_blocked", Num(f[1]));
                    break;
            }
        }
    }

    private void WriteMeminfo(ExpositionWriter w)
    {
        foreach (var line in File.ReadAllLines(ProcPath("meminfo")))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            var key = MemKeyChars().Replace(line[..colon].Replace("(", "_", StringComparison.Ordinal).Replace(")", "", StringComparison.Ordinal), "_");
            var parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            var v = Num(parts[0]);
            var isBytes = parts.Length > 1 && parts[1] == "kB";
            if (isBytes) v *= 1024;
            var name = "node_memory_" + key + (isBytes ? "_bytes" : "");
            w.Family(name, MetricType.Gauge, $"Memory information field {key}" + (isBytes ? "_bytes." : "."));
            w.Sample(name, v);
        }
    }

    [GeneratedRegex("[^a-zA-Z0-9_]")]
    private static partial Regex MemKeyChars();

    private void WriteLoad(ExpositionWriter w)
    {
        var f = File.ReadAllText(ProcPath("loadavg")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        w.Family("node_load1", MetricType.Gauge, "1m load average.").Sample("node_load1", Num(f[0]));
        w.Family("node_load5", MetricType.Gauge, "5m load average.").Sample("node_load5", Num(f[1]));
        w.Family("node_load15", MetricType.Gauge, "15m load average.").Sample("node_load15", Num(f[2]));
    }

    [GeneratedRegex(@"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]+|nvme\d+n\d+p|mmcblk\d+p)\d+$|^(loop|ram|zram|fd)\d*$")]
    private static partial Regex IgnoredDevices();

    private void WriteDisks(ExpositionWriter w)
    {
        var rows = new List<string[]>();
        foreach (var line in File.ReadAllLines(ProcPath("diskstats")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 14 || IgnoredDevices().IsMatch(f[2])) continue;
            rows.Add(f);
        }
        const double sector = 512;
        w.Family("node_disk_reads_completed_total", MetricType.Counter, "The total number of reads completed successfully.");
        foreach (var f in rows) w.Sample("node_disk_reads_completed_total", Num(f[3]), "device", f[2]);
        w.Family("node_disk_read_bytes_total", MetricType.Counter, "The total number of bytes read successfully.");
        foreach (var f in rows) w.Sample("node_disk_read_bytes_total", Num(f[5]) * sector, "device", f[2]);
        w.Family("node_disk_read_time_seconds_total", MetricType.Counter, "The total number of seconds spent by all reads.");
        foreach (var f in rows) w.Sample("node_disk_read_time_seconds_total", Num(f[6]) / 1000, "device", f[2]);
        w.Family("node_disk_writes_completed_total", MetricType.Counter, "The total number of writes completed successfully.");
        foreach (var f in rows) w.Sample("node_disk_writes_completed_total", Num(f[7]), "device", f[2]);
        w.Family("node_disk_written_bytes_total", MetricType.Counter, "The total number of bytes written successfully.");
        foreach (var f in rows) w.Sample("node_disk_written_bytes_total", Num(f[9]) * sector, "device", f[2]);
        w.Family("node_disk_write_time_seconds_total", MetricType.Counter, "This is the total number of seconds spent by all writes.");
        foreach (var f in rows) w.Sample("node_disk_write_time_seconds_total", Num(f[10]) / 1000, "device", f[2]);
        w.Family("node_disk_io_now", MetricType.Gauge, "The number of I/Os currently in progress.");
        foreach (var f in rows) w.Sample("node_disk_io_now", Num(f[11]), "device", f[2]);
        w.Family("node_disk_io_time_seconds_total", MetricType.Counter, "Total seconds spent doing I/Os.");
        foreach (var f in rows) w.Sample("node_disk_io_time_seconds_total", Num(f[12]) / 1000, "device", f[2]);
        w.Family("node_disk_io_time_weighted_seconds_total", MetricType.Counter, "The weighted number of seconds spent doing I/Os.");
        foreach (var f in rows) w.Sample("node_disk_io_time_weighted_seconds_total", Num(f[13]) / 1000, "device", f[2]);
    }

    private static readonly (int Index, string Name)[] NetFields =
    [
        (0, "receive_bytes"), (1, "receive_packets"), (2, "receive_errs"), (3, "receive_drop"),
        (8, "transmit_bytes"), (9, "transmit_packets"), (10, "transmit_errs"), (11, "transmit_drop"),
    ];

    private void WriteNet(ExpositionWriter w)
    {
        var rows = new List<(string Dev, string[] F)>();
        foreach (var line in File.ReadAllLines(ProcPath("net/dev")))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var dev = line[..colon].Trim();
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 16 || dev.Length == 0 || dev == "lo") continue; // node_exporter leaves out loopback too
            rows.Add((dev, f));
        }
        foreach (var (idx, name) in NetFields)
        {
            var metric = $"node_network_{name}_total";
            w.Family(metric, MetricType.Counter, $"Network device statistic {name}.");
            foreach (var (dev, f) in rows) w.Sample(metric, Num(f[idx]), "device", dev);
        }
    }

    private void WriteFilesystems(ExpositionWriter w)
    {
        var mountsFile = File.Exists(ProcPath("self/mounts")) ? ProcPath("self/mounts") : ProcPath("mounts");
        var rows = new List<(string Device, string Mount, string FsType, bool Ro, FilesystemStats Stats)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(mountsFile))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4) continue;
            var device = Unescape(f[0]);
            var mount = Unescape(f[1]);
            var fstype = f[2];
            if (IgnoredFsTypes.Contains(fstype) || IgnoredMounts().IsMatch(mount)) continue;
            if (!seen.Add(mount)) continue;
            var stats = _statfs(mount);
            if (stats is null) continue;
            var ro = f[3].Split(',').Contains("ro");
            rows.Add((device, mount, fstype, ro, stats.Value));
        }
        w.Family("node_filesystem_size_bytes", MetricType.Gauge, "Filesystem size in bytes.");
        foreach (var r in rows) w.Sample("node_filesystem_size_bytes", r.Stats.SizeBytes, "device", r.Device, "fstype", r.FsType, "mountpoint", r.Mount);
        w.Family("node_filesystem_avail_bytes", MetricType.Gauge, "Filesystem space available to non-root users in bytes.");
        foreach (var r in rows) w.Sample("node_filesystem_avail_bytes", r.Stats.AvailableBytes, "device", r.Device, "fstype", r.FsType, "mountpoint", r.Mount);
        w.Family("node_filesystem_free_bytes", MetricType.Gauge, "Filesystem free space in bytes.");
        foreach (var r in rows) w.Sample("node_filesystem_free_bytes", r.Stats.FreeBytes, "device", r.Device, "fstype", r.FsType, "mountpoint", r.Mount);
        w.Family("node_filesystem_readonly", MetricType.Gauge, "Filesystem read-only status.");
        foreach (var r in rows) w.Sample("node_filesystem_readonly", r.Ro ? 1 : 0, "device", r.Device, "fstype", r.FsType, "mountpoint", r.Mount);
    }

    [GeneratedRegex(@"^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)")]
    private static partial Regex IgnoredMounts();

    /// <summary>/proc/mounts writes space, tab, newline and backslash as 3-digit octal escapes.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal)) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && s.Length >= i + 4 && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)(((s[i + 1] - '0') * 64) + ((s[i + 2] - '0') * 8) + (s[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    private static FilesystemStats? DefaultStatfs(string mount)
    {
        try
        {
            var d = new DriveInfo(mount);
            return new FilesystemStats(d.TotalSize, d.AvailableFreeSpace, d.TotalFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
