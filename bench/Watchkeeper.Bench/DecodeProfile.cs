using System.Diagnostics;
using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// `-- decode-profile [chunks=40000] [rounds=9]`: decodes chunks of 120 counter samples 5 s apart (the dashboard's
/// data shape) with <see cref="ChunkDecoding.DecodeRange"/> and with a plain <see cref="XorChunkReader"/> loop (the
/// decoding queries used before session 8), alternating in one process, and prints the median thread CPU time of
/// each per round and per sample: a same-process A/B that the machine's load moves much less than a whole query.
/// </summary>
internal static class DecodeProfile
{
    public static void Run(int chunks, int rounds)
    {
        var rnd = new Random(1);
        var data = new byte[chunks][];
        for (var c = 0; c < chunks; c++)
        {
            var w = new XorChunkWriter();
            var t = 1_767_225_600_000L + rnd.Next(0, 5000);
            var v = (double)rnd.Next(0, 100_000);
            for (var i = 0; i < 120; i++)
            {
                w.Append(t + i * 5000L + rnd.Next(-3, 4), v);
                v += rnd.Next(0, 50);
            }
            data[c] = w.ToArray();
        }
        var list = new List<Sample>(256);
        double Time(bool fast)
        {
            var c0 = Process.GetCurrentProcess().TotalProcessorTime;
            foreach (var d in data)
            {
                list.Clear();
                if (fast) ChunkDecoding.DecodeRange(d, long.MinValue, long.MaxValue, list);
                else
                {
                    var r = new XorChunkReader(d);
                    while (r.Next(out var t, out var v)) list.Add(new Sample(t, v));
                }
            }
            return (Process.GetCurrentProcess().TotalProcessorTime - c0).TotalMilliseconds;
        }
        Time(true);
        Time(false);
        var a = new List<double>();
        var b = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            b.Add(Time(false));
            a.Add(Time(true));
        }
        a.Sort();
        b.Sort();
        var samples = chunks * 120.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{chunks} chunks x 120 samples: reader loop {b[rounds / 2]:F1} ms ({b[rounds / 2] * 1e6 / samples:F1} ns/sample), DecodeRange {a[rounds / 2]:F1} ms ({a[rounds / 2] * 1e6 / samples:F1} ns/sample); load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
    }
}
