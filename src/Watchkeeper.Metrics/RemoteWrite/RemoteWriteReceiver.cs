using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>The outcome of one remote write request, with the HTTP status to answer.</summary>
public sealed record RemoteWriteIngestResult(int StatusCode, string? Error, int Series, int SamplesAppended, int SamplesRejected);

/// <summary>
/// Receiver side of remote write 1.0 for <c>POST /prometheus/api/v1/write</c>: checks the headers, decodes and
/// validates the whole body first (an invalid series rejects the request with 400 and stores nothing), then appends
/// every sample in one appender. Samples the store refuses (out of order, duplicate, too old) are counted and answered
/// with 400 so the sender does not retry them; the others are kept.
/// </summary>
public static class RemoteWriteReceiver
{
    public static RemoteWriteIngestResult Ingest(ReadOnlySpan<byte> body, string? contentType, string? contentEncoding, ISeriesStore store)
    {
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

        var decoded = RemoteWriteCodec.Decode(body);
        if (!decoded.IsValid) return new(400, decoded.Error, decoded.Series.Count, 0, 0);

        var app = store.Appender();
        int ok = 0, rejected = 0;
        string? firstReject = null;
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
                    firstReject ??= $"{ts.Labels} @ {s.T}: {r switch
                    {
                        AppendResult.OutOfOrder => "out of order sample",
                        AppendResult.Duplicate => "duplicate sample for timestamp",
                        _ => "sample too old",
                    }}";
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
            ? new(400, $"{rejected} sample(s) rejected; first: {firstReject}", decoded.Series.Count, ok, rejected)
            : new(204, null, decoded.Series.Count, ok, 0);
    }
}
