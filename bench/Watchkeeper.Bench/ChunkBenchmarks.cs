using BenchmarkDotNet.Attributes;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>Encoding and decoding one 120-sample chunk of a counter scraped every 15 s.</summary>
[MemoryDiagnoser]
public class ChunkBenchmarks
{
    private readonly long[] _t = new long[120];
    private readonly double[] _v = new double[120];
    private byte[] _chunk = [];

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(1);
        long t = 1_767_225_600_000;
        double v = 1000;
        for (var i = 0; i < _t.Length; i++)
        {
            _t[i] = t + rnd.Next(-3, 4);
            _v[i] = v;
            t += 15_000;
            v += rnd.Next(0, 200);
        }
        _chunk = Encode();
    }

    [Benchmark(OperationsPerInvoke = 120)]
    public int Encode120() => Encode().Length;

    private byte[] Encode()
    {
        var w = new XorChunkWriter();
        for (var i = 0; i < _t.Length; i++) w.Append(_t[i], _v[i]);
        return w.ToArray();
    }

    [Benchmark(OperationsPerInvoke = 120)]
    public double Decode120()
    {
        var r = new XorChunkReader(_chunk);
        var sum = 0.0;
        while (r.Next(out _, out var v)) sum += v;
        return sum;
    }
}

/// <summary>One scrape of 1000 series appended and committed to a TSDB (WAL written, not fsynced).</summary>
[MemoryDiagnoser]
public class HeadAppendBenchmarks
{
    private Tsdb? _db;
    private ISeriesAppender? _app;
    private string _dir = "";
    private Labels[] _series = [];
    private long _t = 1_767_225_600_000;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "wk-bench-" + Guid.NewGuid().ToString("N"));
        _db = Tsdb.Open(new TsdbOptions { Directory = _dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero });
        _app = _db.Appender();
        _series = new Labels[1000];
        for (var i = 0; i < _series.Length; i++) _series[i] = Labels.Of("__name__", "http_requests_total", "job", "api", "instance", "host-" + i);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public void AppendCommit1000()
    {
        // Scrape loops keep their appender; it is reusable after Commit.
        var app = _app!;
        _t += 15_000;
        for (var i = 0; i < _series.Length; i++) app.Append(_series[i], _t, _t / 1000.0 + i);
        app.Commit();
    }
}
