using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>
/// The outcome of one remote write request, with the HTTP status to answer. <paramref name="RejectedByReason"/> counts
/// the samples the store refused by reason (<c>out_of_order</c>, <c>too_far_in_future</c>, ...), for the rejection metric.
/// </summary>
public sealed record RemoteWriteIngestResult(int StatusCode, string? Error, int Series, int SamplesAppended, int SamplesRejected,
    IReadOnlyDictionary<string, int>? RejectedByReason = null);

/// <summary>Limits of the remote write receiver: body sizes and the per-series label limits checked while decoding.</summary>
public sealed record RemoteWriteLimits
{
    public static readonly RemoteWriteLimits Default = new();

    /// <summary>Largest request body as sent (snappy-compressed), in bytes; the HTTP endpoint enforces it while reading.</summary>
    public long MaxBodyBytes { get; init; } = 8L << 20;

    /// <summary>Largest decompressed body, in bytes.</summary>
    public long MaxDecompressedBytes { get; init; } = 32L << 20;

    /// <summary>Per-series label limits; a series that breaks one rejects the whole request before anything is stored.</summary>
    public IngestLimits Series { get; init; } = IngestLimits.Default;
}

/// <summary>
/// Ingests the body of one remote write 1.0 request (<c>POST /prometheus/api/v1/write</c>) into a store: checks the
/// headers, decodes and validates the whole body first (an invalid series, or one over a label limit, rejects the request
/// with 400 and stores nothing), then appends every sample in one appender. Samples the store refuses (out of order,
/// duplicate, out of the accepted time window, over the head series limit) are counted and answered with 400 naming the
/// first such series, so the sender does not retry them; the others are kept.
/// </summary>
public static class RemoteWriteIngester
{
    public static RemoteWriteIngestResult Ingest(ReadOnlySpan<byte> body, string? contentType, string? contentEncoding, ISeriesStore store) =>
        Ingest(body, contentType, contentEncoding, store, RemoteWriteLimits.Default);

    public static RemoteWriteIngestResult Ingest(ReadOnlySpan<byte> body, string? contentType, string? contentEncoding, ISeriesStore store,
        RemoteWriteLimits limits)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(limits);
        if (contentType is not null)
        {
            var media = contentType.Split(';')[0].Trim();
            if (!media.Equals(RemoteWriteCodec.ContentType, StringComparison.OrdinalIgnoreCase))
                return new(415, $"unsupported content type \"{contentType}\", expected {RemoteWriteCodec.ContentType}", 0, 0, 0);
            if (contentType.Contains("io.prometheus.write.v2", StringComparison.OrdinalIgnoreCase))
                return new(415, "remote write 2.0 is not supported; send remote write 1.0 (prometheus.WriteRequest)", 0, 0, 0);
        }
        if (contentEncoding is not null && !contentEncoding.Equals(RemoteWriteCodec.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            return new(415, $"unsupported content encoding \"{contentEncoding}\", expected snappy", 0, 0, 0);
        if (limits.MaxBodyBytes > 0 && body.Length > limits.MaxBodyBytes)
            return new(413, $"request body of {body.Length} bytes exceeds the limit of {limits.MaxBodyBytes} bytes (limits.remote_write_max_body_bytes)", 0, 0, 0);

        var decoded = RemoteWriteCodec.Decode(body, limits.Series, limits.MaxDecompressedBytes);
        if (!decoded.IsValid) return new(400, decoded.Error, decoded.Series.Count, 0, 0);

        var app = store.Appender();
        int ok = 0, rejected = 0;
        string? firstReject = null;
        Dictionary<string, int>? byReason = null;
        try
        {
            foreach (var ts in decoded.Series)
            {
                foreach (var s in ts.Samples)
                {
                    var r = app.Append(ts.Labels, s.T, s.V);
                    if (r == AppendResult.Ok)
                    {
                        ok++;
                        continue;
                    }
                    rejected++;
                    byReason ??= [];
                    var reason = Reason(r);
                    byReason[reason] = byReason.GetValueOrDefault(reason) + 1;
                    firstReject ??= $"{IngestLimits.Describe(ts.Labels)} @ {s.T}: {AppendResults.Describe(r)}";
                }
            }
            app.Commit();
        }
        catch
        {
            app.Rollback();
            throw;
        }
        return rejected > 0
            ? new(400, $"{rejected} sample(s) rejected; first: {firstReject}", decoded.Series.Count, ok, rejected, byReason)
            : new(204, null, decoded.Series.Count, ok, 0);
    }

    /// <summary>The metric label for a refused append.</summary>
    public static string Reason(AppendResult r) => r switch
    {
        AppendResult.OutOfOrder => "out_of_order",
        AppendResult.Duplicate => "duplicate",
        AppendResult.TooOld => "too_old",
        AppendResult.TooFarInFuture => "too_far_in_future",
        AppendResult.TooFarInPast => "too_far_in_past",
        AppendResult.LabelLimit => "label_limit",
        AppendResult.SeriesLimit => "head_series_limit",
        _ => "other",
    };
}
