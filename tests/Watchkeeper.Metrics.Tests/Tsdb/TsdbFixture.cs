using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

/// <summary>A temporary data directory, a fake clock and helpers for TSDB tests.</summary>
public abstract class TsdbTestBase : IDisposable
{
    protected const long Minute = 60_000;
    protected const long Hour = 60 * Minute;
    protected static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    protected static readonly long T0 = Epoch.ToUnixTimeMilliseconds();

    protected TsdbTestBase()
    {
        Dir = Path.Combine(Path.GetTempPath(), "wk-tsdb-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        Time = new FakeTimeProvider(Epoch);
    }

    protected string Dir { get; }
    protected FakeTimeProvider Time { get; }
    protected List<string> Warnings { get; } = [];

    protected Tsdb.Tsdb Open(TimeSpan? retention = null, long maxBytes = 0, TimeSpan? blockDuration = null, IReadOnlyList<TimeSpan>? compaction = null, bool skipLock = false, long walSegmentBytes = 32L << 20,
        TimeSpan? futureGrace = null) =>
        Tsdb.Tsdb.Open(new TsdbOptions
        {
            Directory = Dir,
            Retention = retention ?? TimeSpan.Zero,
            MaxBytes = maxBytes,
            BlockDuration = blockDuration ?? TimeSpan.FromHours(2),
            CompactionRanges = compaction,
            TimeProvider = Time,
            SkipDirectoryLock = skipLock,
            WalSegmentBytes = walSegmentBytes,
            // Most tests append hours ahead of the frozen fake clock; the time bounds have their own tests.
            FutureGracePeriod = futureGrace ?? TimeSpan.FromDays(3650),
            OnWarning = w =>
            {
                lock (Warnings) Warnings.Add(w);
            },
        });

    protected static Labels Series(int i, string job = "api") =>
        Labels.Of("__name__", "http_requests_total", "job", job, "instance", "host-" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Appends one sample per series every <paramref name="step"/> ms in [from, to), one commit per timestamp.</summary>
    protected static long Fill(Tsdb.Tsdb db, int series, long from, long to, long step, Func<int, long, double>? value = null)
    {
        long n = 0;
        var app = db.Appender();
        for (var t = from; t < to; t += step)
        {
            for (var i = 0; i < series; i++)
            {
                Assert.Equal(AppendResult.Ok, app.Append(Series(i), t, value?.Invoke(i, t) ?? (t - from) / 1000.0 + i));
                n++;
            }
            app.Commit();
        }
        return n;
    }

    protected static long CountSamples(Tsdb.Tsdb db, long minT = long.MinValue, long maxT = long.MaxValue, params LabelMatcher[] matchers)
    {
        long n = 0;
        foreach (var s in db.Select(minT, maxT, matchers)) n += s.Samples.Count;
        return n;
    }

    protected static void AssertSeriesContinuous(Tsdb.Tsdb db, int series, long from, long to, long step)
    {
        var result = db.Select(from, to - 1, [new LabelMatcher(MatchOp.Equal, "job", "api")]).ToList();
        Assert.Equal(series, result.Count);
        foreach (var s in result)
        {
            Assert.Equal((int)((to - from) / step), s.Samples.Count);
            for (var k = 0; k < s.Samples.Count; k++)
            {
                Assert.Equal(from + k * step, s.Samples[k].T);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }
}
