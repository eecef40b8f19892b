using System.Diagnostics;
using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>Simulated clock for the measurement: time only moves when told.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>
/// A day of scrapes of N counter series every 15 s, with maintenance each simulated hour, then reports on-disk
/// bytes per sample in blocks after compaction, append throughput and head memory per series.
/// </summary>
internal static class TsdbSizeMeasurement
{
    public static void Run(int seriesCount)
    {
        Measure("integer counters, exact 15s", seriesCount, jitterMs: 0, floatCounters: false);
        Measure("integer counters, +-5ms scrape jitter", seriesCount, jitterMs: 5, floatCounters: false);
        Measure("float counters (cpu seconds), +-5ms jitter", seriesCount, jitterMs: 5, floatCounters: true);
        HeadMemory(10_000);
    }

    private static void Measure(string name, int seriesCount, int jitterMs, bool floatCounters)
    {
        var dir = Path.Combine(Path.GetTempPath(), "wk-size-" + Guid.NewGuid().ToString("N"));
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new ManualTime(start);
        var rnd = new Random(42);
        var labels = new Labels[seriesCount];
        var rates = new double[seriesCount];
        var values = new double[seriesCount];
        for (var i = 0; i < seriesCount; i++)
        {
            labels[i] = Labels.Of("__name__", "http_requests_total", "job", "api", "instance", "10.0." + (i / 250) + "." + (i % 250) + ":9100", "code", (200 + i % 4 * 100).ToString(CultureInfo.InvariantCulture), "method", i % 2 == 0 ? "GET" : "POST");
            rates[i] = Math.Exp(rnd.NextDouble() * 8 - 2); // 0.1 .. 400 per second
        }
        try
        {
            using var db = Tsdb.Open(new TsdbOptions { Directory = dir, TimeProvider = time, Retention = TimeSpan.Zero, WalSync = WalSyncMode.Never });
            var t0 = start.ToUnixTimeMilliseconds();
            const long day = 24 * 3600 * 1000L, step = 15_000;
            var sw = Stopwatch.StartNew();
            long samples = 0;
            var app = db.Appender();
            for (var t = t0; t < t0 + day; t += step)
            {
                for (var i = 0; i < seriesCount; i++)
                {
                    var inc = floatCounters ? rnd.NextDouble() * 0.05 * rates[i] : Math.Floor(rates[i] * 15 * (0.5 + rnd.NextDouble()));
                    values[i] += inc;
                    app.Append(labels[i], t + (jitterMs == 0 ? 0 : rnd.Next(-jitterMs, jitterMs + 1)), values[i]);
                    samples++;
                }
                app.Commit();
                if ((t - t0) % (3600 * 1000L) == 0)
                {
                    time.Now = DateTimeOffset.FromUnixTimeMilliseconds(t);
                    db.RunMaintenance();
                }
            }
            var elapsed = sw.Elapsed;
            db.RunMaintenance();
            long blockSamples = 0, blockBytes = 0, chunkBytes = 0;
            foreach (var b in db.Blocks)
            {
                blockSamples += b.Stats.NumSamples;
                blockBytes += b.Stats.NumBytes;
                chunkBytes += new FileInfo(Path.Combine(dir, "blocks", b.Id, "chunks")).Length;
            }
            var walBytes = Directory.GetFiles(Path.Combine(dir, "wal")).Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"## {name}: {seriesCount} series, {samples:N0} samples, append {samples / elapsed.TotalSeconds / 1e6:F2} M samples/s");
            Console.WriteLine($"   blocks: {db.Blocks.Count} ({string.Join(", ", db.Blocks.Select(b => $"{(b.MaxT - b.MinT) / 3600000}h L{b.Level}"))}), {blockSamples:N0} samples");
            Console.WriteLine($"   bytes/sample in blocks (chunks+index+meta): {(double)blockBytes / blockSamples:F3}; chunks only: {(double)chunkBytes / blockSamples:F3}");
            Console.WriteLine($"   WAL: {walBytes:N0} bytes for {samples - blockSamples:N0} head samples ({(double)walBytes / Math.Max(1, samples - blockSamples):F2} bytes/sample)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void HeadMemory(int seriesCount)
    {
        var dir = Path.Combine(Path.GetTempPath(), "wk-mem-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var db = Tsdb.Open(new TsdbOptions { Directory = dir, Retention = TimeSpan.Zero, WalSync = WalSyncMode.Never });
            var labels = new Labels[seriesCount];
            for (var i = 0; i < seriesCount; i++) labels[i] = Labels.Of("__name__", "http_requests_total", "job", "api", "instance", "10.0." + (i / 250) + "." + (i % 250) + ":9100", "code", "200");
            var before = GC.GetTotalMemory(true);
            var app = db.Appender();
            long t = 1_767_225_600_000;
            var rnd = new Random(1);
            var v = new double[seriesCount];
            for (var k = 0; k < 120; k++, t += 15_000)
            {
                for (var i = 0; i < seriesCount; i++)
                {
                    v[i] += rnd.Next(0, 100);
                    app.Append(labels[i], t, v[i]);
                }
                app.Commit();
            }
            app = null;
            var after = GC.GetTotalMemory(true);
            Console.WriteLine($"## head memory: {(after - before) / (double)seriesCount:F0} bytes per series with 120 samples (labels objects excluded; index, series, chunks included)");
            GC.KeepAlive(labels);
            GC.KeepAlive(db);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
