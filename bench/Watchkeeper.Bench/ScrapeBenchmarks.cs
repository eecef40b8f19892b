using System.Net;
using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Bench;

/// <summary>
/// The whole scrape path without the network: one <see cref="ScrapeLoop.ScrapeAsync"/> of a 25 000-series body (one exporter of the side-by-side run)
/// (served from memory by an in-process HTTP handler) into a TSDB head with its WAL (not fsynced): parse, target
/// labels (honor_labels), staleness tracking, append, WAL record, chunk append. Four bodies with advancing values
/// rotate, so chunks see real deltas. Reported per sample.
/// </summary>
[MemoryDiagnoser]
public class ScrapeBenchmarks
{
    private Tsdb? _db;
    private string _dir = "";
    private ScrapeLoop? _loop;
    private ManualTime? _time;
    private byte[][] _bodies = [];
    private int _k;
    private const int SeriesCount = 25_000;

    [Params(SeriesCount)]
    public int Series { get; set; }

    private sealed class BodyHandler(ScrapeBenchmarks owner) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = owner._bodies[owner._k++ % owner._bodies.Length];
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; version=0.0.4; charset=utf-8");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "wk-bench-scrape-" + Guid.NewGuid().ToString("N"));
        _time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _db = Tsdb.Open(new TsdbOptions { Directory = _dir, WalSync = WalSyncMode.Never, Retention = TimeSpan.Zero, TimeProvider = _time });
        _bodies = [.. Enumerable.Range(0, 4).Select(i => Encoding.UTF8.GetBytes(ExpositionBenchmarks.Body(Series, 1_767_225_600 + i * 15)))];
        var target = new ScrapeTarget("api-service", new Uri("http://127.0.0.1:9/metrics"),
            Labels.Of("job", "api-service", "instance", "127.0.0.1:9"), Labels.Empty, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10));
        var cfg = new ScrapeConfig { JobName = "api-service", HonorLabels = true };
        _loop = new ScrapeLoop(target, cfg, new HttpClient(new BodyHandler(this)), _db, _time);
        Scrape();
        if (_db.Stats.HeadSeries < Series) throw new InvalidOperationException("scrape did not create the series: " + _loop.State.LastError);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = SeriesCount)]
    public int Scrape()
    {
        _time!.Now = _time.Now.AddSeconds(15);
        return _loop!.ScrapeAsync().GetAwaiter().GetResult().LastSamples;
    }
}
