using System.Data.Common;
using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.StatusPage;

/// <summary>Everything the public endpoints serve, rendered once: requests only copy bytes.</summary>
public sealed record StatusSnapshot(StatusData Data, StatusBody Page, StatusBody Summary, StatusBody Status, StatusBody Components,
    StatusBody Incidents, StatusBody Notice, StatusBody Feed, IReadOnlyDictionary<string, StatusBody> Badges);

/// <summary>
/// The in-memory snapshot of the public page. <see cref="RefreshAsync"/> compares the live inputs (component levels
/// from alerts and targets, the database's change mark) with the snapshot and rebuilds it when one changed, when the
/// configuration was reloaded, or when <c>status_page.rebuild_interval</c> passed. When the database cannot be read,
/// the last incidents read are kept, component levels stay live, and the page says how old the incident information is.
/// </summary>
public sealed class StatusSnapshots(StatusSnapshotBuilder builder, ConfigHolder config, Db db, TimeProvider time, IServiceProvider services,
    ILoggerFactory loggers, StaticAssets assets, ILogger<StatusSnapshots> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private StatusSnapshot? _current;
    private StatusDbPart? _db;
    private long _dbGeneration = -1;
    private string? _dbError;
    private Dictionary<string, string>? _live;
    private WatchkeeperConfig? _config;

    /// <summary>Wakes the refresh worker (a change this process made, e.g. a subscription).</summary>
    public NotificationSignal Signal { get; } = new();

    public StatusSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>How many times the snapshot was rebuilt (tests and metrics).</summary>
    public long Rebuilds => Interlocked.Read(ref _rebuilds);
    private long _rebuilds;

    /// <summary>The last database error, or null when the last read succeeded.</summary>
    public string? DatabaseError => _dbError;

    public void Dispose()
    {
        _gate.Dispose();
        Signal.Dispose();
    }

    /// <summary>The snapshot, building the first one if none exists yet.</summary>
    public async ValueTask<StatusSnapshot> GetAsync(CancellationToken ct)
    {
        if (Current is { } s) return s;
        await RefreshAsync(force: true, ct);
        return Current!;
    }

    /// <summary>Compares the inputs with the snapshot and rebuilds it when something changed (always with <paramref name="force"/>). True when rebuilt.</summary>
    public async Task<bool> RefreshAsync(bool force, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var c = config.Current;
            var s = c.StatusPage;
            var now = time.GetUtcNow();
            var live = builder.LiveLevels(s);
            var periodic = _current is null || now - _current.Data.BuiltAt >= s.RebuildInterval.Value;
            var changed = force || periodic || !ReferenceEquals(c, _config) || _live is null || !Same(live, _live);
            var hadError = _dbError is not null;
            try
            {
                var generation = db.WriteGeneration;
                // With SQLite this process is the only writer: no write since the last read means nothing changed, and the
                // database is read only by the periodic rebuild (which also finds out when it became unreadable).
                if (_db is null || force || periodic || !db.SingleWriter || generation != _dbGeneration || hadError)
                {
                    var mark = await builder.ReadMarkAsync(ct);
                    if (_db is null || force || mark != _db.Mark || hadError || !ReferenceEquals(c, _config))
                    {
                        _db = await builder.ReadDbAsync(ct);
                        changed = true;
                    }
                    else
                    {
                        _db = _db with { ReadAt = now };
                    }
                    _dbGeneration = generation;
                }
                else
                {
                    _db = _db with { ReadAt = now };
                }
                if (hadError) logger.LogInformation("Status page: the database is readable again");
                _dbError = null;
            }
            catch (Exception ex) when (IsDatabaseFailure(ex) && !ct.IsCancellationRequested)
            {
                if (!hadError) logger.LogWarning("Status page: the database cannot be read ({Error}); serving the last incidents read", ex.Message);
                _dbError = ex.Message;
                changed = true;
            }
            if (!changed) return false;
            var stale = _dbError is null ? null : StaleNote(_db, now);
            var data = builder.Compose(_db ?? new StatusDbPart([], [], "", now), live, _current?.Data, stale);
            Volatile.Write(ref _current, await RenderAsync(data));
            _live = live;
            _config = c;
            Interlocked.Increment(ref _rebuilds);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static bool Same(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string StaleNote(StatusDbPart? part, DateTimeOffset now)
    {
        if (part is null) return "Incident information is temporarily unavailable. Component status below is current.";
        var age = now - part.ReadAt;
        var ago = age < TimeSpan.FromMinutes(1) ? "less than a minute" : age < TimeSpan.FromHours(2)
            ? $"{(int)age.TotalMinutes} minute{((int)age.TotalMinutes == 1 ? "" : "s")}" : $"{(int)age.TotalHours} hours";
        return $"Incident information was last refreshed at {part.ReadAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC ({ago} ago) and may be out of date. Component status below is current.";
    }

    /// <summary>Errors that mean "the database is unreachable or broken", as opposed to a bug.</summary>
    public static bool IsDatabaseFailure(Exception ex) => ex is DbException or IOException or TimeoutException or System.Net.Sockets.SocketException
        || ex.InnerException is { } inner && IsDatabaseFailure(inner);

    private async Task<StatusSnapshot> RenderAsync(StatusData d)
    {
        var html = await RenderPageAsync(d);
        var badges = new Dictionary<string, StatusBody>(StringComparer.Ordinal);
        foreach (var x in d.Components) badges[x.Id] = StatusDocuments.Badge(x.Name, x.Level);
        foreach (var g in d.Groups) badges[g.Id] = StatusDocuments.Badge(g.Name, g.Level);
        return new StatusSnapshot(d, StatusBody.Of(html, "text/html; charset=utf-8"), StatusDocuments.SummaryJson(d), StatusDocuments.StatusJson(d),
            StatusDocuments.ComponentsJson(d), StatusDocuments.IncidentsJson(d), StatusDocuments.NoticeJson(d), StatusDocuments.Feed(d), badges);
    }

    private async Task<string> RenderPageAsync(StatusData d)
    {
        await using var renderer = new HtmlRenderer(services, loggers);
        return await renderer.Dispatcher.InvokeAsync(async () =>
        {
            var output = await renderer.RenderComponentAsync<StatusPublicPage>(ParameterView.FromDictionary(new Dictionary<string, object?>
            {
                [nameof(StatusPublicPage.Data)] = d,
                [nameof(StatusPublicPage.Stylesheet)] = assets.Url("css/status.css"),
                [nameof(StatusPublicPage.Icon)] = assets.Url("favicon.svg"),
            }));
            return "<!doctype html>\n" + output.ToHtmlString();
        });
    }
}

/// <summary>Refreshes the snapshot every <c>status_page.refresh_interval</c> or when woken.</summary>
public sealed class StatusSnapshotWorker(StatusSnapshots snapshots, ConfigHolder config, TimeProvider time, ILogger<StatusSnapshotWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await snapshots.RefreshAsync(force: false, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Status page snapshot refresh failed");
            }
            try
            {
                await snapshots.Signal.WaitAsync(config.Current.StatusPage.RefreshInterval.Value, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
