using System.Diagnostics;
using System.Globalization;
using Microsoft.Net.Http.Headers;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.StatusPage;

/// <summary>
/// The public status page's hot path. A <c>GET</c> of <c>/status</c> or of one of its documents (<c>/status/api/v2/*.json</c>,
/// the Atom feed, a badge) whose body is in the current snapshot is answered first thing in the pipeline, before static
/// files, authentication, authorization, antiforgery and the error pages, none of which apply to these anonymous,
/// pre-rendered documents: a few headers and the snapshot's bytes (or its precompressed gzip or Brotli variant, or a
/// 304 for a matching <c>If-None-Match</c>), no per-request rendering, database or session work. Anything else (other
/// methods, an unknown badge, the page disabled, no snapshot yet) goes on to the mapped endpoints in
/// <see cref="StatusPageModule"/>, which answer the same way and give the errors. The request is still counted in
/// <c>watchkeeper_http_requests_total</c> and its latency histogram under the endpoint's route.
/// </summary>
public static class StatusFastPath
{
    private const string PageCsp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static void UseStatusPageFastPath(this WebApplication app)
    {
        // Resolved on the first request: at this point of start-up the database is not migrated yet, and the snapshot
        // (with what it depends on) must not be built before it is.
        Services? services = null;
        app.Use((http, next) =>
        {
            var req = http.Request;
            if (!HttpMethods.IsGet(req.Method) || !req.Path.StartsWithSegments("/status", StringComparison.Ordinal)) return next(http);
            var (snapshots, config, requests, latency) = services ??= new Services(app.Services);
            var snapshot = snapshots.Current;
            if (snapshot is null || !config.Current.StatusPage.Enabled) return next(http);
            var (body, route, cors) = Pick(req.Path.Value!, snapshot);
            if (body is null) return next(http);
            var start = Stopwatch.GetTimestamp();
            var write = WriteBody(http, body, cors);
            return write.IsCompletedSuccessfully ? Count() : Awaited(write);

            Task Count()
            {
                requests.Inc("GET", route, SelfMetrics.StatusCode(http.Response.StatusCode));
                latency.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds, "GET", route);
                return Task.CompletedTask;
            }

            async Task Awaited(Task t)
            {
                await t;
                await Count();
            }
        });
    }

    private sealed record Services(StatusSnapshots Snapshots, ConfigHolder Config, SelfMetrics.CounterFamily Requests, SelfMetrics.HistogramFamily Latency)
    {
        // The same families (same name, help and labels) as the request metrics middleware in PlatformModule.
        public Services(IServiceProvider sp) : this(sp.GetRequiredService<StatusSnapshots>(), sp.GetRequiredService<ConfigHolder>(),
            sp.GetRequiredService<SelfMetrics>().Counter("watchkeeper_http_requests_total", "HTTP requests served, by route and status code.", "method", "route", "code"),
            sp.GetRequiredService<SelfMetrics>().Histogram("watchkeeper_http_request_duration_seconds", "HTTP request latency.",
                [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], "method", "route"))
        {
        }
    }

    /// <summary>The body, route pattern and CORS choice for a status page path; body null when it is not one.</summary>
    private static (StatusBody? Body, string Route, bool Cors) Pick(string path, StatusSnapshot s) => path switch
    {
        "/status" => (s.Page, "/status", false),
        "/status/api/v2/summary.json" => (s.Summary, "/status/api/v2/summary.json", true),
        "/status/api/v2/status.json" => (s.Status, "/status/api/v2/status.json", true),
        "/status/api/v2/components.json" => (s.Components, "/status/api/v2/components.json", true),
        "/status/api/v2/incidents.json" => (s.Incidents, "/status/api/v2/incidents.json", true),
        "/status/api/v2/notice.json" => (s.Notice, "/status/api/v2/notice.json", true),
        "/status/feed.atom" => (s.Feed, "/status/feed.atom", true),
        _ when path.StartsWith("/status/badge/", StringComparison.Ordinal) && path.EndsWith(".svg", StringComparison.Ordinal) &&
               path.IndexOf('/', 14) < 0 =>
            (s.Badges.GetValueOrDefault(path[14..^4]), "/status/badge/{component}.svg", true),
        _ => (null, "", false),
    };

    /// <summary>
    /// Writes a pre-rendered body: the encoding the client prefers among br, gzip and identity (<c>Vary:
    /// Accept-Encoding</c>), its ETag, 304 when <c>If-None-Match</c> names it; CORS for the documents other sites read.
    /// </summary>
    public static Task WriteBody(HttpContext http, StatusBody body, bool cors)
    {
        var h = http.Response.Headers;
        var (bytes, etag, encoding) = Choose(http.Request.Headers.AcceptEncoding, body);
        h.ETag = etag;
        h.CacheControl = "public, max-age=10";
        h.Vary = "Accept-Encoding";
        h.XContentTypeOptions = "nosniff";
        if (cors) h.AccessControlAllowOrigin = "*";
        else
        {
            h.ContentSecurityPolicy = PageCsp;
            h["Referrer-Policy"] = "same-origin";
        }
        if (Matches(http.Request.Headers.IfNoneMatch, etag))
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        if (encoding is not null) h.ContentEncoding = encoding;
        http.Response.ContentType = body.ContentType;
        http.Response.ContentLength = bytes.Length;
        return http.Response.Body.WriteAsync(bytes, http.RequestAborted).AsTask();
    }

    private static (byte[] Bytes, string ETag, string? Encoding) Choose(Microsoft.Extensions.Primitives.StringValues acceptEncoding, StatusBody body)
    {
        if (acceptEncoding.Count == 0) return (body.Bytes, body.ETag, null);
        double br = 0, gzip = 0;
        foreach (var value in acceptEncoding)
        {
            if (string.IsNullOrEmpty(value)) continue;
            foreach (var range in value.Split(','))
            {
                var semi = range.IndexOf(';', StringComparison.Ordinal);
                var name = (semi < 0 ? range : range[..semi]).Trim();
                var q = 1.0;
                if (semi >= 0)
                {
                    var p = range[(semi + 1)..].Trim();
                    if (p.StartsWith("q=", StringComparison.OrdinalIgnoreCase) &&
                        !double.TryParse(p[2..], NumberStyles.Float, CultureInfo.InvariantCulture, out q)) q = 0;
                }
                if (name.Equals("br", StringComparison.OrdinalIgnoreCase)) br = q;
                else if (name.Equals("gzip", StringComparison.OrdinalIgnoreCase)) gzip = q;
            }
        }
        if (br > 0 && br >= gzip) return Variant(body.Brotli);
        if (gzip > 0) return Variant(body.Gzip);
        return (body.Bytes, body.ETag, null);

        static (byte[], string, string?) Variant(StatusBody.Encoded e) => (e.Bytes, e.ETag, e.Encoding);
    }

    /// <summary>Whether an If-None-Match header names <paramref name="etag"/> (or is <c>*</c>), with weak comparison.</summary>
    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        foreach (var value in ifNoneMatch)
        {
            if (string.IsNullOrEmpty(value)) continue;
            foreach (var token in value.Split(','))
            {
                var t = token.AsSpan().Trim();
                if (t.StartsWith("W/", StringComparison.Ordinal)) t = t[2..];
                if (t.SequenceEqual("*") || t.SequenceEqual(etag)) return true;
            }
        }
        return false;
    }
}
