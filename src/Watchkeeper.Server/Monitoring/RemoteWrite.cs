using System.Buffers;
using Watchkeeper.Metrics.RemoteWrite;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// The HTTP endpoint of the remote write receiver: <c>POST /prometheus/api/v1/write</c> (Prometheus remote write 1.0).
/// Reads the body within <c>limits.remote_write_max_body_bytes</c> and hands it to <see cref="RemoteWriteIngester"/>.
/// </summary>
public static class RemoteWriteEndpoint
{
    public static void MapRemoteWrite(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<SelfMetrics>();
        var received = metrics.Counter("watchkeeper_remote_write_received_samples_total", "Samples accepted by the remote write receiver.");
        var rejected = metrics.Counter("watchkeeper_remote_write_rejected_samples_total", "Samples the remote write receiver did not store, by reason.", "reason");
        var refused = metrics.Counter("watchkeeper_remote_write_rejected_requests_total", "Remote write requests refused whole (invalid body, limit), by HTTP status.", "code");
        app.MapPost("/prometheus/api/v1/write", async Task<IResult> (HttpContext ctx, MetricsRuntime runtime, ConfigHolder config) =>
        {
            var limits = config.Current.Limits.RemoteWrite();
            var body = await ReadBodyAsync(ctx.Request, limits.MaxBodyBytes, ctx.RequestAborted);
            if (body is null)
            {
                refused.Add(1, "413");
                return TypedResults.Problem(Problems.Create(413, "Payload too large",
                    $"remote write body exceeds the limit of {limits.MaxBodyBytes} bytes (limits.remote_write_max_body_bytes)"));
            }
            var r = RemoteWriteIngester.Ingest(body, ctx.Request.ContentType,
                ctx.Request.Headers.ContentEncoding.ToString() is { Length: > 0 } enc ? enc : null, runtime.Store, limits);
            received.Add(r.SamplesAppended);
            if (r.RejectedByReason is { } reasons)
            {
                foreach (var (reason, n) in reasons) rejected.Add(n, reason);
            }
            if (r.StatusCode == 204) return TypedResults.NoContent();
            if (r.SamplesRejected == 0) refused.Add(1, r.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return TypedResults.Problem(Problems.Create(r.StatusCode, r.StatusCode switch
            {
                415 => "Unsupported media type",
                413 => "Payload too large",
                _ => "Invalid remote write request",
            }, r.Error));
        }).RequireAuthorization(Policies.Responder).DisableAntiforgery().WithTags("prometheus");
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest req, long limit, CancellationToken ct)
    {
        if (limit > 0 && req.ContentLength > limit) return null;
        using var ms = new MemoryStream();
        var buf = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = await req.Body.ReadAsync(buf, ct)) > 0)
            {
                if (limit > 0 && ms.Length + n > limit) return null;
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
