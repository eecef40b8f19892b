using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// Manual kill -9 check: `crash-writer DIR` commits 100-series batches forever and prints each committed step;
/// kill it with SIGKILL, then `crash-verify DIR` prints how many steps every series has.
/// </summary>
internal static class CrashCheck
{
    public static void Write(string dir)
    {
        var db = Tsdb.Open(new TsdbOptions { Directory = dir, Retention = TimeSpan.Zero });
        var app = db.Appender();
        for (long step = 0; ; step++)
        {
            for (var i = 0; i < 100; i++) app.Append(Labels.Of("__name__", "c", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), 1_767_225_600_000 + step * 15_000, step);
            app.Commit();
            Console.Out.WriteLine(step);
            Console.Out.Flush();
        }
    }

    public static void Verify(string dir)
    {
        using var db = Tsdb.Open(new TsdbOptions { Directory = dir, Retention = TimeSpan.Zero, OnWarning = Console.Error.WriteLine });
        var counts = db.Select(long.MinValue, long.MaxValue, []).Select(s => s.Samples.Count).Distinct().ToList();
        Console.WriteLine($"series={db.Stats.HeadSeries} samples-per-series={string.Join(",", counts)}");
    }
}
