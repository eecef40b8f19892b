using BenchmarkDotNet.Attributes;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// A small selector over a big head, the side-by-side bench's <c>up{job=~"api-service|web-interface"} == 0</c>:
/// 100 000 series from 4 targets of 25 000 (jobs alternating), 5 <c>up</c> series, 300 samples each (5 minutes at 1 s).
/// <c>SelectPostings</c> is the inverted-index lookup alone; <c>Instant</c> is the whole query.
/// </summary>
[MemoryDiagnoser]
public class SelectorBenchmarks
{
    private Tsdb? _db;
    private string _dir = "";
    private readonly Engine _engine = new();
    private long _end;
    private readonly LabelMatcher[] _matchers =
        [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "job", "api-service|web-interface")];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "wk-bench-selector-" + Guid.NewGuid().ToString("N"));
        _db = Tsdb.Open(new TsdbOptions { Directory = _dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero });
        const int perTarget = 25_000;
        var labels = new Labels[4 * perTarget];
        for (var i = 0; i < labels.Length; i++)
        {
            var target = i / perTarget;
            labels[i] = Labels.Of("__name__", "m" + (i % 200), "instance", "p" + target + "-" + (i % 500),
                "job", target % 2 == 0 ? "api-service" : "web-interface", "k", (i % 7).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var up = new Labels[5];
        for (var e = 0; e < up.Length; e++)
            up[e] = Labels.Of("__name__", "up", "instance", "127.0.0.1:" + (19200 + e), "job", e % 2 == 0 ? "api-service" : "web-interface");
        var t0 = 1_767_225_600_000L;
        for (var k = 0; k < 300; k++)
        {
            var t = t0 + k * 1000L;
            for (var target = 0; target < 4; target++)
            {
                var app = _db.Appender();
                for (var i = target * perTarget; i < (target + 1) * perTarget; i++) app.Append(labels[i], t, k);
                app.Append(up[target], t, 1);
                app.Commit();
            }
            var down = _db.Appender();
            down.Append(up[4], t, 0);
            down.Commit();
        }
        _end = t0 + 299_000;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public int SelectPostings()
    {
        var n = 0;
        foreach (var s in _db!.Select(_end - 300_000, _end, _matchers)) n += s.Samples.Count;
        return n;
    }

    [Benchmark]
    public int Instant() => _engine.Instant(_db!, "up{job=~\"api-service|web-interface\"} == 0", _end).Value is VectorResult v ? v.Samples.Count : -1;
}
