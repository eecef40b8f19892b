using System.Text;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring.HostMetrics;

namespace Watchkeeper.Server.Tests;

public sealed class HostCollectorTests : IDisposable
{
    private readonly DirectoryInfo _proc = Directory.CreateTempSubdirectory("wk-proc");

    public HostCollectorTests()
    {
        Write("stat", """
            cpu  1000 20 300 40000 50 6 7 8 0 0
            cpu0 500 10 150 20000 25 3 4 4 100 0
            cpu1 500 10 150 20000 25 3 3 4 0 0
            intr 12345 1 2
            ctxt 67890
            btime 1700000000
            processes 4242
            procs_running 3
            procs_blocked 1
            """);
        Write("meminfo", """
            MemTotal:       16000000 kB
            MemFree:         2000000 kB
            MemAvailable:    8000000 kB
            Buffers:          100000 kB
            Cached:          3000000 kB
            Active(anon):     500000 kB
            HugePages_Total:       0
            """);
        Write("loadavg", "0.52 0.58 0.59 2/345 6789\n");
        Write("diskstats", """
               8       0 sda 1000 10 2048 500 2000 20 4096 700 0 1500 1200 0 0 0 0
               8       1 sda1 900 10 2000 400 1900 20 4000 600 0 1400 1000 0 0 0 0
               7       0 loop0 10 0 20 1 0 0 0 0 0 1 1 0 0 0 0
             259       0 nvme0n1 300 0 600 30 400 0 800 40 0 50 70 0 0 0 0
            """);
        Write("net/dev", """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:  1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
              eth0: 123456    789    1    2    0     0          0         0   654321    987    3    4    0     0       0          0
            """);
        Write("mounts", """
            /dev/sda1 / ext4 rw,relatime 0 0
            proc /proc proc rw 0 0
            /dev/sdb1 /mnt/my\040data xfs ro,relatime 0 0
            tmpfs /run tmpfs rw 0 0
            """);
    }

    private void Write(string rel, string content)
    {
        var path = Path.Combine(_proc.FullName, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.Replace("\r", "") + "\n");
    }

    public void Dispose() => _proc.Delete(true);

    private Dictionary<Labels, double> Render()
    {
        var stats = new Dictionary<string, FilesystemStats>
        {
            ["/"] = new(100_000, 40_000, 50_000),
            ["/mnt/my data"] = new(10, 5, 6),
            ["/run"] = new(1, 1, 1),
        };
        var c = new HostCollector(_proc.FullName, m => stats.TryGetValue(m, out var s) ? s : null);
        var text = c.RenderExposition();
        var parsed = new ExpositionParser().Parse(Encoding.UTF8.GetBytes(text), ExpositionFormat.PrometheusText);
        return parsed.Samples.ToDictionary(s => s.Labels, s => s.Value);
    }

    [Fact]
    public void Cpu_seconds_per_cpu_and_mode_from_user_hz_ticks()
    {
        var m = Render();
        Assert.Equal(5.0, m[Labels.Of("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "user")]);
        Assert.Equal(200.0, m[Labels.Of("__name__", "node_cpu_seconds_total", "cpu", "1", "mode", "idle")]);
        Assert.Equal(0.04, m[Labels.Of("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "steal")]);
        Assert.DoesNotContain(m.Keys, l => l.Name == "node_cpu_seconds_total" && l.Get("cpu") is null);
        Assert.Equal(8, m.Keys.Count(l => l.Name == "node_cpu_seconds_total" && l.Get("cpu") == "0"));
        Assert.Equal(1.0, m[Labels.Of("__name__", "node_cpu_guest_seconds_total", "cpu", "0", "mode", "user")]);
        Assert.Equal(67890, m[Labels.Of("__name__", "node_context_switches_total")]);
    }

    [Fact]
    public void Memory_in_bytes_with_node_exporter_names()
    {
        var m = Render();
        Assert.Equal(16000000.0 * 1024, m[Labels.Of("__name__", "node_memory_MemTotal_bytes")]);
        Assert.Equal(8000000.0 * 1024, m[Labels.Of("__name__", "node_memory_MemAvailable_bytes")]);
        Assert.Equal(2000000.0 * 1024, m[Labels.Of("__name__", "node_memory_MemFree_bytes")]);
        Assert.Equal(100000.0 * 1024, m[Labels.Of("__name__", "node_memory_Buffers_bytes")]);
        Assert.Equal(3000000.0 * 1024, m[Labels.Of("__name__", "node_memory_Cached_bytes")]);
        Assert.True(m.ContainsKey(Labels.Of("__name__", "node_memory_Active_anon_bytes")));
        Assert.Equal(0, m[Labels.Of("__name__", "node_memory_HugePages_Total")]);
    }

    [Fact]
    public void Load_disk_and_network()
    {
        var m = Render();
        Assert.Equal(0.52, m[Labels.Of("__name__", "node_load1")]);
        Assert.Equal(0.58, m[Labels.Of("__name__", "node_load5")]);
        Assert.Equal(0.59, m[Labels.Of("__name__", "node_load15")]);
        Assert.Equal(2048.0 * 512, m[Labels.Of("__name__", "node_disk_read_bytes_total", "device", "sda")]);
        Assert.Equal(4096.0 * 512, m[Labels.Of("__name__", "node_disk_written_bytes_total", "device", "sda")]);
        Assert.Equal(1.5, m[Labels.Of("__name__", "node_disk_io_time_seconds_total", "device", "sda")]);
        Assert.True(m.ContainsKey(Labels.Of("__name__", "node_disk_read_bytes_total", "device", "nvme0n1")));
        Assert.False(m.ContainsKey(Labels.Of("__name__", "node_disk_read_bytes_total", "device", "sda1")));
        Assert.False(m.ContainsKey(Labels.Of("__name__", "node_disk_read_bytes_total", "device", "loop0")));
        Assert.Equal(123456, m[Labels.Of("__name__", "node_network_receive_bytes_total", "device", "eth0")]);
        Assert.Equal(654321, m[Labels.Of("__name__", "node_network_transmit_bytes_total", "device", "eth0")]);
        Assert.False(m.ContainsKey(Labels.Of("__name__", "node_network_receive_bytes_total", "device", "lo")));
    }

    [Fact]
    public void Filesystems_skip_pseudo_filesystems_and_unescape_mount_points()
    {
        var m = Render();
        Assert.Equal(100_000, m[Labels.Of("__name__", "node_filesystem_size_bytes", "device", "/dev/sda1", "fstype", "ext4", "mountpoint", "/")]);
        Assert.Equal(40_000, m[Labels.Of("__name__", "node_filesystem_avail_bytes", "device", "/dev/sda1", "fstype", "ext4", "mountpoint", "/")]);
        Assert.Equal(50_000, m[Labels.Of("__name__", "node_filesystem_free_bytes", "device", "/dev/sda1", "fstype", "ext4", "mountpoint", "/")]);
        Assert.Equal(1, m[Labels.Of("__name__", "node_filesystem_readonly", "device", "/dev/sdb1", "fstype", "xfs", "mountpoint", "/mnt/my data")]);
        Assert.DoesNotContain(m.Keys, l => l.Get("mountpoint") is "/proc");
        Assert.Equal(1, m[Labels.Of("__name__", "node_filesystem_size_bytes", "device", "tmpfs", "fstype", "tmpfs", "mountpoint", "/run")]);
    }

    [Fact]
    public void Missing_files_are_reported_not_thrown()
    {
        File.Delete(Path.Combine(_proc.FullName, "diskstats"));
        var m = Render();
        Assert.Equal(0, m[Labels.Of("__name__", "node_scrape_collector_success", "collector", "diskstats")]);
        Assert.Equal(1, m[Labels.Of("__name__", "node_scrape_collector_success", "collector", "cpu")]);
    }

    [Fact]
    public void Real_proc_renders_parseable_text()
    {
        if (!File.Exists("/proc/stat")) return;
        var text = new HostCollector().RenderExposition();
        var parsed = new ExpositionParser().Parse(Encoding.UTF8.GetBytes(text), ExpositionFormat.PrometheusText);
        Assert.Contains(parsed.Samples, s => s.Labels.Name == "node_load1");
        Assert.Contains(parsed.Samples, s => s.Labels.Name == "node_memory_MemTotal_bytes");
        Assert.Contains(parsed.Samples, s => s.Labels.Name == "node_cpu_seconds_total");
    }

    [Fact]
    public void Rendered_samples_carry_the_fixture_values()
    {
        var text = new HostCollector(_proc.FullName, _ => null).RenderExposition();
        var parsed = new ExpositionParser().Parse(Encoding.UTF8.GetBytes(text), ExpositionFormat.PrometheusText);
        Assert.Equal(0.52, Assert.Single(parsed.Samples, s => s.Labels.Name == "node_load1").Value);
    }
}
