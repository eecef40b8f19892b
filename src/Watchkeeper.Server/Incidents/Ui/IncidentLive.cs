using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Incidents.Ui;

/// <summary>
/// What keeps an open incident page current without reloads: <c>GET /incidents/{id}/events</c> streams change notices
/// (server-sent events) and <c>GET /incidents/{id}/live</c> renders only the page's live parts for the script to swap
/// in. Both are for viewers. A user holds at most <see cref="IncidentEvents.MaxStreamsPerUser"/> streams at once.
/// </summary>
public static class IncidentLive
{
    /// <summary>How often an idle stream sends a comment and compares the stored version (another replica's changes).</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>True for a post the incident page's script made with fetch (it wants 204 or problem details, not a page).</summary>
    public static bool IsFetch(HttpRequest r) => string.Equals(r.Headers["X-Requested-With"], "fetch", StringComparison.Ordinal);

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/incidents/{id:long}/live", async (long id, HttpContext http, IncidentService s) =>
        {
            var m = await IncidentPages.Load(new PageContext(http), s, id, null);
            if (m is null) return Results.NotFound();
            http.Response.Headers.CacheControl = "no-store";
            return Pages.Render<IncidentLiveParts>(new() { [nameof(IncidentLiveParts.Model)] = m });
        }).RequireAuthorization(Policies.Viewer);

        web.MapGet("/incidents/{id:long}/events", Events).RequireAuthorization(Policies.Viewer);

        web.MapGet("/incidents/{id:long}/postmortem.md", async (long id, IncidentService s, HttpContext http) =>
        {
            var pm = await s.PostmortemAsync(id, http.RequestAborted);
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"postmortem-{id.ToString(CultureInfo.InvariantCulture)}.md\"";
            return Results.Text(pm.Markdown, "text/markdown; charset=utf-8");
        }).RequireAuthorization(Policies.Viewer);
    }

    private static async Task Events(long id, long? v, HttpContext http, IncidentEvents events, Db db, TimeProvider time, IHostApplicationLifetime life)
    {
        var user = http.User.Actor();
        var current = await Version(db, id, http.RequestAborted);
        if (current is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!events.TryAcquire(user))
        {
            http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            http.Response.Headers.RetryAfter = "30";
            await http.Response.WriteAsync($"too many open event streams for {user} (at most {IncidentEvents.MaxStreamsPerUser})", http.RequestAborted);
            return;
        }
        try
        {
            using var sub = events.Subscribe(id);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, life.ApplicationStopping);
            var ct = cts.Token;
            http.Response.ContentType = "text/event-stream; charset=utf-8";
            http.Response.Headers.CacheControl = "no-store";
            http.Response.Headers["X-Accel-Buffering"] = "no";
            var seen = v ?? current.Value;
            await Write(http, "retry: 5000\n\n", ct);
            // A change between the page's render and this connection is sent at once.
            if (current.Value > seen)
            {
                seen = current.Value;
                await Send(http, new IncidentChange(id, current.Value, "", ""), ct);
            }
            else
            {
                await Write(http, ": connected\n\n", ct);
            }
            Task<bool>? read = null;
            while (!ct.IsCancellationRequested)
            {
                read ??= sub.Reader.WaitToReadAsync(ct).AsTask();
                var done = await Beat(read, time, ct);
                if (done == read)
                {
                    if (!await read) break;
                    read = null;
                    IncidentChange? last = null;
                    while (sub.Reader.TryRead(out var change)) if (change.Version > seen) last = change;
                    if (last is null) continue;
                    seen = last.Version;
                    await Send(http, last, ct);
                }
                else
                {
                    var stored = await Version(db, id, ct);
                    if (stored is { } sv && sv > seen)
                    {
                        seen = sv;
                        await Send(http, new IncidentChange(id, sv, "", ""), ct);
                    }
                    else
                    {
                        await Write(http, ": ping\n\n", ct);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            events.Release(user);
        }
    }

    /// <summary>Waits for the reader or the heartbeat, whichever comes first; the heartbeat's timer does not outlive the wait.</summary>
    private static async Task<Task> Beat(Task<bool> read, TimeProvider time, CancellationToken ct)
    {
        using var beatCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var done = await Task.WhenAny(read, Task.Delay(Heartbeat, time, beatCts.Token));
        await beatCts.CancelAsync();
        return done;
    }

    private static Task<long?> Version(Db db, long id, CancellationToken ct) =>
        db.ReadAsync(c => c.ExecuteScalarAsync<long?>("SELECT version FROM incidents WHERE id = @id", new { id }), ct);

    private static Task Send(HttpContext http, IncidentChange c, CancellationToken ct) =>
        Write(http, "event: change\ndata: " + JsonSerializer.Serialize(new { version = c.Version, actor = c.Actor, action = c.Action }) + "\n\n", ct);

    private static async Task Write(HttpContext http, string text, CancellationToken ct)
    {
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
        await http.Response.Body.FlushAsync(ct);
    }
}
