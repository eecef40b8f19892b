using System.Globalization;
using System.Security.Claims;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Alerting.Ui;

/// <summary>The Alertmanager pages: <c>/alerts</c> (firing alerts by group) and <c>/silences</c> (list, create, expire).</summary>
public static class AlertingUi
{
    /// <summary>Largest matcher text and comment the silence form accepts (the silence book also limits the whole silence).</summary>
    private const int MaxFieldLength = 16 * 1024;

    public static void AddAlertingUi(this IServiceCollection services)
    {
        services.AddNavItem(new NavItem("alerts", "Alerts", "/alerts", 250));
        services.AddNavItem(new NavItem("silences", "Silences", "/silences", 260));
    }

    public static void MapAlertingUi(this WebApplication app)
    {
        var web = app.MapPages();
        web.MapGet("/alerts", (HttpContext http, AlertingEngine e, Rules.RulesRuntime rules, string? filter, string? f, string? silenced, string? inhibited) =>
            Alerts(new PageContext(http), e, rules, filter, f is null || silenced is not null, f is null || inhibited is not null)).RequireAuthorization(Policies.Viewer);
        web.MapGet("/silences", (HttpContext http, AlertingEngine e, string? matchers, string? comment) =>
            SilencesPage(new PageContext(http), e, null, matchers, comment)).RequireAuthorization(Policies.Viewer);
        web.MapPost("/silences", Create).RequireAuthorization(Policies.Responder);
        web.MapPost("/silences/{id}/expire", Expire).RequireAuthorization(Policies.Responder);
    }

    private static IResult Alerts(PageContext ctx, AlertingEngine e, Rules.RulesRuntime rules, string? filter, bool showSilenced, bool showInhibited)
    {
        List<Matcher> matchers = [];
        string? filterError = null;
        if (!string.IsNullOrWhiteSpace(filter))
        {
            try
            {
                matchers = MatcherParser.ParseList(filter.Length > MaxFieldLength ? throw new FormatException("filter too long") : filter);
            }
            catch (FormatException ex)
            {
                filterError = ex.Message;
            }
        }
        var groups = new List<AlertsView.GroupRow>();
        var routed = new HashSet<ulong>();
        foreach (var g in e.Groups())
        {
            foreach (var a in g.Alerts) routed.Add(a.Fingerprint);
            AddGroup(g.Route.Opts.Receiver, g.Labels, g.Alerts);
        }
        // Alerts no route takes (no alertmanager route configured) are still held and shown, in a group of their own.
        AddGroup("", new Dictionary<string, string>(), e.Store.Snapshot().Where(a => !routed.Contains(a.Fingerprint)));
        void AddGroup(string receiver, IReadOnlyDictionary<string, string> labels, IEnumerable<Alert> alerts)
        {
            var rows = new List<AlertsView.AlertRow>();
            foreach (var a in alerts.OrderBy(a => a.StartsAt).ThenBy(a => a.Fingerprint))
            {
                if (a.Resolved(ctx.Now) || !matchers.All(m => m.Matches(a.Labels))) continue;
                var st = e.Status(a);
                if (!showSilenced && st.SilencedBy.Count > 0) continue;
                if (!showInhibited && st.InhibitedBy.Count > 0) continue;
                rows.Add(new AlertsView.AlertRow(a, st));
            }
            if (rows.Count > 0) groups.Add(new AlertsView.GroupRow(receiver, labels, rows));
        }
        return Pages.Render<AlertsView>(filterError is null ? 200 : 400, new()
        {
            [nameof(AlertsView.Ctx)] = ctx,
            [nameof(AlertsView.Groups)] = groups,
            [nameof(AlertsView.Pending)] = PendingGroups(e, rules, matchers),
            [nameof(AlertsView.Filter)] = filter ?? "",
            [nameof(AlertsView.FilterError)] = filterError,
            [nameof(AlertsView.ShowSilenced)] = showSilenced,
            [nameof(AlertsView.ShowInhibited)] = showInhibited,
        });
    }

    /// <summary>
    /// The rules' pending alerts (active, <c>for</c> not yet elapsed; not sent to the dispatcher), grouped as the
    /// dispatcher will group them once they fire: per matching route, by its receiver and <c>group_by</c> labels.
    /// Labels are the alert's plus the external labels it does not have, as they are sent.
    /// </summary>
    private static List<AlertsView.PendingGroup> PendingGroups(AlertingEngine e, Rules.RulesRuntime rules, List<Matcher> matchers)
    {
        var byKey = new Dictionary<string, AlertsView.PendingGroup>(StringComparer.Ordinal);
        if (rules.Manager is not { } m) return [];
        var external = m.Context.ExternalLabels;
        foreach (var g in m.Groups)
        {
            foreach (var rule in g.Rules.OfType<Watchkeeper.Metrics.Rules.AlertingRule>())
            {
                foreach (var a in rule.ActiveAlerts())
                {
                    if (a.State != Watchkeeper.Metrics.Rules.AlertState.Pending) continue;
                    var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var l in a.Labels) labels[l.Name] = l.Value;
                    foreach (var l in external) labels.TryAdd(l.Name, l.Value);
                    if (!matchers.All(x => x.Matches(labels))) continue;
                    var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var l in a.Annotations) annotations[l.Name] = l.Value;
                    var row = new AlertsView.PendingRow(rule.Name, g.Name, labels, annotations, a.ActiveAt, rule.HoldDuration);
                    var routes = e.Routes(labels);
                    if (routes.Count == 0) Add("\n", "", new Dictionary<string, string>(), row);
                    foreach (var r in routes)
                    {
                        var gl = r.Opts.GroupLabels(labels);
                        Add(r.Id + "\n" + LabelSets.Format(gl), r.Opts.Receiver, gl, row);
                    }
                }
            }
        }
        return [.. byKey.Values.OrderBy(x => x.Receiver, StringComparer.Ordinal).ThenBy(x => LabelSets.Format(x.Labels), StringComparer.Ordinal)];

        void Add(string key, string receiver, IReadOnlyDictionary<string, string> labels, AlertsView.PendingRow row)
        {
            if (!byKey.TryGetValue(key, out var pg)) byKey[key] = pg = new AlertsView.PendingGroup(receiver, labels, []);
            pg.Alerts.Add(row);
        }
    }

    /// <summary>The matcher text that selects exactly this label set (the "Silence" link's prefill).</summary>
    public static string MatchersFor(IReadOnlyDictionary<string, string> labels) => LabelSets.Format(labels);

    private static IResult SilencesPage(PageContext ctx, AlertingEngine e, FormError? err, string? matchers, string? comment, int status = 200)
    {
        var now = ctx.Now;
        var muted = new Dictionary<string, List<Alert>>(StringComparer.Ordinal);
        foreach (var a in e.Store.Snapshot())
        {
            if (a.Resolved(now)) continue;
            foreach (var id in e.Silences.Mutes(a.Labels))
            {
                if (!muted.TryGetValue(id, out var list)) muted[id] = list = [];
                list.Add(a);
            }
        }
        var all = e.Silences.All();
        return Pages.Render<SilencesView>(status, new()
        {
            [nameof(SilencesView.Ctx)] = ctx,
            [nameof(SilencesView.Active)] = all.Where(s => s.State(now) == SilenceState.Active).OrderBy(s => s.EndsAt).ToList(),
            [nameof(SilencesView.Pending)] = all.Where(s => s.State(now) == SilenceState.Pending).OrderBy(s => s.StartsAt).ToList(),
            [nameof(SilencesView.Expired)] = all.Where(s => s.State(now) == SilenceState.Expired).OrderByDescending(s => s.EndsAt).Take(50).ToList(),
            [nameof(SilencesView.Muted)] = muted,
            [nameof(SilencesView.Err)] = err,
            [nameof(SilencesView.Matchers)] = matchers ?? "",
            [nameof(SilencesView.Comment)] = comment ?? "",
        });
    }

    private static async Task<IResult> Create(HttpContext http, IFormCollection f, AlertingEngine e, ClaimsPrincipal user)
    {
        try
        {
            var now = e.Time.GetUtcNow();
            var text = f["matchers"].ToString();
            if (string.IsNullOrWhiteSpace(text)) throw new ValidationException("matchers", "required, for example {alertname=\"HighLatency\"}");
            if (text.Length > MaxFieldLength) throw new ValidationException("matchers", $"longer than {MaxFieldLength} characters");
            List<Matcher> ms;
            try
            {
                ms = MatcherParser.ParseList(text);
            }
            catch (FormatException ex)
            {
                throw new ValidationException("matchers", ex.Message);
            }
            if (ms.Count == 0) throw new ValidationException("matchers", "at least one matcher is required");
            var until = f["until"].ToString().Trim();
            DateTimeOffset ends;
            if (until.Length == 0) throw new ValidationException("until", "required: a duration such as 2h or an end time such as 2026-01-02T15:04:05Z");
            if (PromDuration.TryParse(until, out var d) && d > TimeSpan.Zero) ends = now + d;
            else if (until.Contains('-', StringComparison.Ordinal) && PromTime.TryParse(until, out var ms2)) ends = DateTimeOffset.FromUnixTimeMilliseconds(ms2);
            else throw new ValidationException("until", "not a positive duration (2h, 30m) or an RFC 3339 end time");
            if (ends <= now) throw new ValidationException("until", "the end time is in the past");
            var comment = f["comment"].ToString().Trim();
            if (comment.Length == 0) throw new ValidationException("comment", "required: say why these alerts are silenced");
            if (comment.Length > MaxFieldLength) throw new ValidationException("comment", $"longer than {MaxFieldLength} characters");
            try
            {
                await e.Silences.SetAsync(new Silence("", new Matchers(ms), now, ends, now, user.Actor(), comment), user.Actor(), http.RequestAborted);
            }
            catch (SilenceException ex)
            {
                throw new ValidationException("matchers", ex.Message);
            }
            return Results.Redirect("/silences");
        }
        catch (ValidationException ex)
        {
            return SilencesPage(new PageContext(http), e, FormError.From(ex, "silence", f), f["matchers"], f["comment"], 400);
        }
    }

    private static async Task<IResult> Expire(string id, HttpContext http, AlertingEngine e, ClaimsPrincipal user)
    {
        try
        {
            await e.Silences.ExpireAsync(id, new SilenceChange(user.Actor(), "expired from the silences page"), http.RequestAborted);
        }
        catch (SilenceException ex) when (ex.NotFound)
        {
            return ErrorPages.Page(http, 404, $"Silence {id} not found.", heading: "Silence not found");
        }
        catch (SilenceException ex)
        {
            return ErrorPages.Page(http, 409, Html.ErrorMessage(ex) + ".", heading: "Silence not expired");
        }
        return Results.Redirect("/silences");
    }

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
