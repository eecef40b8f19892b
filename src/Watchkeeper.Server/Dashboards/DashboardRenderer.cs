using System.Diagnostics;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Dashboards;

/// <summary>A panel as the page shows it: where it sits, and its evaluated data (null for rows, text and placeholders).</summary>
public sealed record PanelView(Panel Panel, PanelResult? Result, int Y, bool RowOpen);

/// <summary>One view of a dashboard: the time range, variables and every visible panel evaluated.</summary>
public sealed record DashboardViewModel(DashboardSummary Meta, Dashboard Model, TimeRange Range, string Tz, string Refresh,
    IReadOnlyList<ResolvedVariable> Variables, IReadOnlyList<PanelView> Panels, IReadOnlyList<string> Problems, IReadOnlyList<int> OpenRows, long ElapsedMs);

/// <summary>The view's options as they come from the URL (Grafana's names: <c>from</c>, <c>to</c>, <c>var-NAME</c>, <c>refresh</c>, <c>tz</c>).</summary>
public sealed record ViewRequest(string? From, string? To, string? Quick, string? Tz, string? Refresh, IReadOnlyDictionary<string, IReadOnlyList<string>> Vars, IReadOnlyList<int> OpenRows)
{
    public static ViewRequest FromQuery(IQueryCollection q)
    {
        var vars = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in q)
            if (k.StartsWith("var-", StringComparison.Ordinal) && k.Length > 4)
                vars[k[4..]] = v.Where(x => x is not null).Select(x => x!).Take(Variables.MaxOptions).ToList();
        var open = q["open"].Select(s => int.TryParse(s, out var i) ? i : -1).Where(i => i >= 0).Distinct().Take(100).ToList();
        return new ViewRequest(q["from"].FirstOrDefault(), q["to"].FirstOrDefault(), q["quick"].FirstOrDefault(), q["tz"].FirstOrDefault(), q["refresh"].FirstOrDefault(), vars, open);
    }
}

/// <summary>Builds a <see cref="DashboardViewModel"/>: parses the stored JSON, reads the URL's options, resolves variables and evaluates the panels.</summary>
public sealed class DashboardRenderer(MetricsRuntime runtime, ConfigHolder config)
{
    public static readonly IReadOnlyList<string> RefreshChoices = ["5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h"];

    public long ScrapeIntervalMs => (long)Math.Max(config.Current.Metrics.Global.ScrapeInterval.TotalMilliseconds, 1000);

    public DashboardViewModel Build(StoredDashboard stored, ViewRequest req, long nowMs, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var json = System.Text.Json.Nodes.JsonNode.Parse(stored.Json)!.AsObject();
        var model = DashboardJson.Read(json, config.Current.Dashboards.Limits.ToLimits() with { MaxJsonBytes = int.MaxValue });
        var problems = new List<string>();

        var from = string.IsNullOrWhiteSpace(req.Quick) ? req.From : req.Quick;
        var to = string.IsNullOrWhiteSpace(req.Quick) ? req.To : "now";
        if (string.IsNullOrWhiteSpace(from)) from = model.TimeFrom;
        if (string.IsNullOrWhiteSpace(to)) to = model.TimeTo;
        if (!TimeRange.TryParse(from, to, nowMs, out var range, out var error))
        {
            problems.Add($"Time range: {error}; showing the dashboard's default range.");
            if (!TimeRange.TryParse(model.TimeFrom, model.TimeTo, nowMs, out range, out _)) TimeRange.TryParse("now-6h", "now", nowMs, out range, out _);
        }
        var tz = req.Tz is "browser" or "utc" ? req.Tz : model.Timezone == "browser" ? "browser" : "utc";
        var refresh = req.Refresh ?? model.Refresh;
        if (refresh.Length > 0 && (!Platform.Duration.TryParse(refresh, out var rd) || rd.Value < TimeSpan.FromSeconds(5)))
        {
            if (req.Refresh is not null && refresh != "off") problems.Add($"Refresh \"{refresh}\" is not a duration of 5s or more; auto-refresh is off.");
            refresh = "";
        }

        var scrape = ScrapeIntervalMs;
        var vars = Variables.Resolve(model, req.Vars, runtime.Engine, runtime.Querier, range, scrape, ct);
        foreach (var v in vars.Where(v => v.Error is not null)) problems.Add($"Variable {v.Def.Name}: {v.Error}");

        // Panels in layout order; the children of a collapsed row only when the row is opened (open=ID in the URL).
        var visible = new List<(Panel Panel, bool Open)>();
        foreach (var p in model.Panels.OrderBy(p => p.Pos.Y).ThenBy(p => p.Pos.X))
        {
            var open = p.IsRow && (!p.Collapsed || req.OpenRows.Contains(p.Id));
            visible.Add((p, open));
            if (p.IsRow && p.Collapsed && open) visible.AddRange(p.Children.OrderBy(c => c.Pos.Y).ThenBy(c => c.Pos.X).Select(c => (c, false)));
        }
        var results = new PanelResult?[visible.Count];
        var work = Enumerable.Range(0, visible.Count).Where(i => visible[i].Panel is { IsSupported: true, IsRow: false } p && p.Type != "text" && p.Targets.Count > 0).ToList();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(Environment.ProcessorCount, 2), CancellationToken = ct },
            i => results[i] = PanelData.Evaluate(visible[i].Panel, vars, range, runtime.Engine, runtime.Querier, scrape, ct));

        // Panels are placed by the page's grid in this order (columns from gridPos.x and w, rows by height).
        var views = visible.Select((v, i) => new PanelView(v.Panel, results[i], v.Panel.Pos.Y, v.Open)).ToList();
        return new DashboardViewModel(stored.Meta, model, range, tz, refresh, vars, views, problems, req.OpenRows, sw.ElapsedMilliseconds);
    }
}
