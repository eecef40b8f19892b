using System.Diagnostics;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// The hot path of <c>POST /alertmanager/api/v2/alerts</c> (Prometheus posting alerts). A POST of exactly that path whose
/// <c>Authorization</c> header carries an API token (Bearer, or Basic with the token as password, as
/// <see cref="TokenAuthHandler"/> reads it) that resolves to a responder or admin is answered here, before the request
/// metrics, authentication, authorization, antiforgery and endpoint middleware: the same token check
/// (<see cref="Users.FindTokenAsync"/>, cached; revoked, expired and disabled users' tokens are refused as there), the same
/// body reader and answer (<see cref="AlertmanagerApi.PostAlerts"/>: 200, or 400 naming each invalid alert), and a
/// whole-body refusal thrown to the exception handler like the endpoint's. It sits after forwarded headers, the
/// exception handler and the status-code pages (see <see cref="PlatformModule.UsePlatform"/>). Everything else (no,
/// invalid or too weak a token, cookie sessions, other paths and methods) goes on to the normal pipeline, which gives
/// the 401, 403 and antiforgery answers. The request is counted in <c>watchkeeper_http_requests_total</c> and its
/// latency histogram under the endpoint's route pattern, as the request metrics middleware would.
/// </summary>
public static class AlertPostFastPath
{
    /// <summary>The path this handles, which is also the mapped endpoint's route pattern.</summary>
    public const string Path = "/alertmanager/api/v2/alerts";

    private static readonly int ResponderRank = Roles.Rank(Roles.Responder);

    public static void UseAlertPostFastPath(this WebApplication app) => app.Use(Middleware(app.Services));

    /// <summary>The middleware: answers the requests it handles, calls <c>next</c> for all others.</summary>
    internal static Func<HttpContext, RequestDelegate, Task> Middleware(IServiceProvider sp)
    {
        // Resolved on the first request: the alerting engine reads the migrated database when it is built.
        Services? services = null;
        return (http, next) =>
        {
            var req = http.Request;
            if (!HttpMethods.IsPost(req.Method) || !string.Equals(req.Path.Value, Path, StringComparison.Ordinal)) return next(http);
            var token = TokenAuthHandler.TokenFrom(req.Headers.Authorization.ToString());
            if (string.IsNullOrEmpty(token)) return next(http);
            return PostAsync(http, next, token, services ??= new Services(sp));
        };
    }

    private static async Task PostAsync(HttpContext http, RequestDelegate next, string token, Services s)
    {
        var start = Stopwatch.GetTimestamp();
        var row = await s.Users.FindTokenAsync(token, http.RequestAborted);
        if (row is null || Roles.Rank(row.Role) < ResponderRank)
        {
            // The normal pipeline answers: 401 for a bad token, 403 for a viewer (and checks the token again).
            await next(http);
            return;
        }
        var result = await AlertmanagerApi.PostAlerts(http, s.Engine);
        await result.ExecuteAsync(http);
        // As the request metrics middleware: a request that threw (a whole-body refusal) is answered by the exception
        // handler and not counted.
        s.Requests.Inc("POST", Path, SelfMetrics.StatusCode(http.Response.StatusCode));
        s.Latency.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds, "POST", Path);
    }

    private sealed record Services(Users Users, AlertingEngine Engine, SelfMetrics.CounterFamily Requests, SelfMetrics.HistogramFamily Latency)
    {
        // The same families (same name, help and labels) as the request metrics middleware in PlatformModule.
        public Services(IServiceProvider sp) : this(sp.GetRequiredService<Users>(), sp.GetRequiredService<AlertingEngine>(),
            sp.GetRequiredService<SelfMetrics>().Counter("watchkeeper_http_requests_total", "HTTP requests served, by route and status code.", "method", "route", "code"),
            sp.GetRequiredService<SelfMetrics>().Histogram("watchkeeper_http_request_duration_seconds", "HTTP request latency.",
                [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], "method", "route"))
        {
        }
    }
}
