using System.Buffers;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// The store scrapes write into: the TSDB, with every committed sample also queued to each
/// <c>remote_write</c> endpoint. Senders are replaced when a reload changes <c>remote_write</c>.
/// </summary>
public sealed class ForwardingStore(ISeriesStore inner) : ISeriesStore
{
    private volatile RemoteWriteSender[] _senders = [];

    public IReadOnlyList<RemoteWriteSender> Senders => _senders;

    public ISeriesAppender Appender()
    {
        var senders = _senders;
        return senders.Length == 0 ? inner.Appender() : new RemoteWriteStore(inner, senders).Appender();
    }

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.Select(minT, maxT, matchers);
    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);
    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelValues(name, minT, maxT, matchers);

    /// <summary>Starts senders for the configuration and stops the previous ones (draining them briefly).</summary>
    public async Task ApplyAsync(MetricsConfig config, TimeProvider time)
    {
        var next = config.RemoteWrite.Select(rw => new RemoteWriteSender(rw, time, externalLabels: config.Global.ExternalLabels)).ToArray();
        var old = _senders;
        _senders = next;
        foreach (var s in old) await s.StopAsync(TimeSpan.FromSeconds(5));
    }

    public async Task StopAsync()
    {
        var old = _senders;
        _senders = [];
        foreach (var s in old) await s.StopAsync(TimeSpan.FromSeconds(5));
    }
}

/// <summary>The remote write receiver: <c>POST /prometheus/api/v1/write</c> (Prometheus remote write 1.0).</summary>
public static class RemoteWriteReceiver
{
    public static void MapRemoteWrite(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<SelfMetrics>();
        var received = metrics.Counter("watchkeeper_remote_write_received_samples_total", "Samples accepted by the remote write receiver.");
        var rejected = metrics.Counter("watchkeeper_remote_write_rejected_samples_total", "Samples the remote write receiver did not store, by reason.", "reason");
        app.MapPost("/prometheus/api/v1/write", async Task<IResult> (HttpContext ctx, MetricsRuntime runtime) =>
        {
            var body = await ReadBodyAsync(ctx.Request, 32 << 20, ctx.RequestAborted);
            if (body is null) return TypedResults.Problem(Problems.Create(413, "Payload too large", "remote write body exceeds 32 MiB"));
            var r = Watchkeeper.Metrics.RemoteWrite.RemoteWriteReceiver.Ingest(body, ctx.Request.ContentType,
                ctx.Request.Headers.ContentEncoding.ToString() is { Length: > 0 } enc ? enc : null, runtime.Store);
            received.Add(r.SamplesAppended);
            if (r.SamplesRejected > 0) rejected.Add(r.SamplesRejected, "refused_by_store");
            return r.StatusCode == 204
                ? TypedResults.NoContent()
                : TypedResults.Problem(Problems.Create(r.StatusCode, r.StatusCode == 415 ? "Unsupported media type" : "Invalid remote write request", r.Error));
        }).RequireAuthorization(Policies.Responder).DisableAntiforgery().WithTags("prometheus");
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest req, int limit, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        var buf = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = await req.Body.ReadAsync(buf, ct)) > 0)
            {
                if (ms.Length + n > limit) return null;
                ms.Write(buf, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
        return ms.ToArray();
    }
}
