using System.Globalization;
using System.Text.Json;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// <c>tsdb-import FILE OUT.json</c>: builds Watchkeeper blocks from the OpenMetrics file that
/// bench/prometheus/gen_openmetrics.py writes (the same file promtool turns into Prometheus blocks), replaying it
/// scrape by scrape on a simulated clock with maintenance every simulated 15 minutes, so blocks are cut and compacted
/// as in a live server. Reports bytes per sample of the blocks on disk, by compaction level, and of the WAL.
/// Lines are <c>name{k="v",...} value unix_seconds</c> without escapes, each series' samples contiguous.
/// </summary>
internal static class TsdbImport
{
    public static void Run(string file, string outJson)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var labels = new List<Labels>();
        var points = new List<List<(long T, double V)>>();
        foreach (var line in File.ReadLines(file))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var sp2 = line.LastIndexOf(' ');
            var sp1 = line.LastIndexOf(' ', sp2 - 1);
            var key = line[..sp1];
            if (!index.TryGetValue(key, out var id))
            {
                id = labels.Count;
                index[key] = id;
                labels.Add(ParseSeries(key));
                points.Add([]);
            }
            var v = double.Parse(line.AsSpan(sp1 + 1, sp2 - sp1 - 1), CultureInfo.InvariantCulture);
            var t = (long)Math.Round(double.Parse(line.AsSpan(sp2 + 1), CultureInfo.InvariantCulture) * 1000);
            points[id].Add((t, v));
        }
        var n = points.Min(p => p.Count);
        var dir = Path.Combine(Path.GetTempPath(), "wk-import-" + Guid.NewGuid().ToString("N"));
        var t0 = points[0][0].T;
        var time = new ManualTime(DateTimeOffset.FromUnixTimeMilliseconds(t0));
        long samples = 0;
        try
        {
            using var db = Tsdb.Open(new TsdbOptions { Directory = dir, TimeProvider = time, Retention = TimeSpan.Zero, WalSync = WalSyncMode.Never });
            var app = db.Appender();
            var lastMaint = t0;
            for (var k = 0; k < n; k++)
            {
                var t = points[0][k].T;
                for (var i = 0; i < points.Count; i++)
                {
                    app.Append(labels[i], points[i][k].T, points[i][k].V);
                    samples++;
                }
                app.Commit();
                if (t - lastMaint >= 15 * 60_000)
                {
                    time.Now = DateTimeOffset.FromUnixTimeMilliseconds(t);
                    db.RunMaintenance();
                    lastMaint = t;
                }
            }
            time.Now = DateTimeOffset.FromUnixTimeMilliseconds(points[0][n - 1].T + 1000);
            db.RunMaintenance();
            var levels = db.Blocks.GroupBy(b => b.Level).OrderBy(g => g.Key).Select(g => new
            {
                level = g.Key,
                blocks = g.Count(),
                hours = g.Sum(b => (b.MaxT - b.MinT) / 3_600_000.0),
                samples = g.Sum(b => b.Stats.NumSamples),
                bytes = g.Sum(b => b.Stats.NumBytes),
                bytes_per_sample = (double)g.Sum(b => b.Stats.NumBytes) / Math.Max(1, g.Sum(b => b.Stats.NumSamples)),
            }).ToList();
            var blockSamples = db.Blocks.Sum(b => b.Stats.NumSamples);
            var walBytes = Directory.GetFiles(Path.Combine(dir, "wal"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var l1 = levels.FirstOrDefault(l => l.level == 1);
            var higher = levels.Where(l => l.level > 1).ToList();
            var result = new Dictionary<string, object?>
            {
                ["series"] = labels.Count,
                ["samples"] = samples,
                ["levels"] = levels,
                ["blocks_2h"] = l1?.bytes_per_sample,
                ["compacted"] = higher.Count > 0 ? (double)higher.Sum(l => l.bytes) / higher.Sum(l => l.samples) : null,
                ["all_blocks"] = (double)db.Blocks.Sum(b => b.Stats.NumBytes) / Math.Max(1, blockSamples),
                ["wal_bytes_per_head_sample"] = (double)walBytes / Math.Max(1, samples - blockSamples),
            };
            var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(outJson, json);
            Console.WriteLine(json);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Labels ParseSeries(string key)
    {
        var brace = key.IndexOf('{', StringComparison.Ordinal);
        if (brace < 0) return Labels.Of(Labels.MetricName, key);
        var list = new List<string> { Labels.MetricName, key[..brace] };
        var i = brace + 1;
        while (i < key.Length && key[i] != '}')
        {
            var eq = key.IndexOf('=', i);
            var close = key.IndexOf('"', eq + 2);
            list.Add(key[i..eq]);
            list.Add(key[(eq + 2)..close]);
            i = close + 1;
            if (i < key.Length && key[i] == ',') i++;
        }
        return Labels.Of([.. list]);
    }
}
