using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// An alerting rule with Prometheus 3's state machine: each result series is an alert, pending when it first
/// appears and firing once it has been active for <c>for</c>; when it disappears a firing alert keeps firing for
/// <c>keep_firing_for</c>, then resolves and is kept (and re-sent) for the resolved retention; a pending one is dropped.
/// </summary>
public sealed class AlertingRule(RuleDef def, Labels labels) : Rule(def, labels)
{
    public const string AlertMetric = "ALERTS";
    public const string AlertForStateMetric = "ALERTS_FOR_STATE";
    public const string AlertNameLabel = "alertname";
    public const string AlertStateLabel = "alertstate";

    private readonly Dictionary<Labels, ActiveAlert> _active = [];
    private readonly Lock _lock = new();

    public TimeSpan HoldDuration => Def.For;
    public TimeSpan KeepFiringFor => Def.KeepFiringFor;

    /// <summary>False until the <c>for</c> state was restored after a start; ALERTS series are written only once it is.</summary>
    public bool Restored { get; internal set; }

    /// <summary>Copies of the alerts held (resolved ones included), for the API and pages.</summary>
    public IReadOnlyList<ActiveAlert> Alerts()
    {
        lock (_lock) return [.. _active.Values.Select(a => a.Clone()).OrderBy(a => a.Labels)];
    }

    /// <summary>Pending and firing alerts.</summary>
    public IReadOnlyList<ActiveAlert> ActiveAlerts() => [.. Alerts().Where(a => a.State != AlertState.Inactive)];

    /// <summary>The rule's state: the highest of its alerts'.</summary>
    public AlertState State
    {
        get
        {
            lock (_lock)
            {
                var s = AlertState.Inactive;
                foreach (var a in _active.Values) if (a.State > s) s = a.State;
                return s;
            }
        }
    }

    internal void CopyStateFrom(AlertingRule old)
    {
        lock (old._lock)
        lock (_lock)
        {
            foreach (var (k, a) in old._active) _active[k] = a.Clone();
        }
        Restored = old.Restored;
    }

    internal List<ActiveAlert> ActiveForRestore()
    {
        lock (_lock) return [.. _active.Values.Where(a => a.State != AlertState.Inactive)];
    }

    internal override async ValueTask<List<(Labels Labels, double Value)>> EvalAsync(DateTimeOffset ts, TimeSpan queryOffset, int limit,
        RuleEvalContext ctx, CancellationToken ct)
    {
        var vector = RuleResults.AsVector(await ctx.Querier.QueryAsync(Def.Expr, Def.Parsed, Ms(ts - queryOffset), ct).ConfigureAwait(false));
        var found = new Dictionary<Labels, ActiveAlert>(vector.Count);
        foreach (var s in vector)
        {
            var data = new RuleTemplateData(Pairs(s.Labels), Pairs(ctx.ExternalLabels), ctx.ExternalUrl, s.V, Ms(ts), TemplateQuery(ctx, ts));
            var pairs = new List<Label>(s.Labels.Count + Labels.Count + 1);
            foreach (var l in s.Labels) if (l.Name != Model.Labels.MetricName) pairs.Add(l);
            foreach (var l in Labels) pairs.Add(new Label(l.Name, Expand(ctx, l.Value, data, ct)));
            pairs.Add(new Label(AlertNameLabel, Name));
            var lbs = Model.Labels.From(pairs);
            var ann = new List<Label>(Def.Annotations.Count);
            foreach (var (k, v) in Def.Annotations) ann.Add(new Label(k, Expand(ctx, v, data, ct)));
            if (found.ContainsKey(lbs)) throw new QueryException("vector contains metrics with the same labelset after applying alert labels");
            found[lbs] = new ActiveAlert(lbs) { Annotations = Model.Labels.From(ann), ActiveAt = ts, State = AlertState.Pending, Value = s.V };
        }

        var output = new List<(Labels, double)>();
        lock (_lock)
        {
            foreach (var (h, a) in found)
            {
                // An alert already pending or firing keeps its start; only its value and annotations follow the new result.
                if (_active.TryGetValue(h, out var existing) && existing.State != AlertState.Inactive)
                {
                    existing.Value = a.Value;
                    existing.Annotations = a.Annotations;
                    continue;
                }
                _active[h] = a;
            }
            var activePending = 0;
            foreach (var (h, a) in _active.ToList())
            {
                if (!found.ContainsKey(h))
                {
                    var keepFiring = false;
                    if (a.State == AlertState.Firing && KeepFiringFor > TimeSpan.Zero)
                    {
                        a.KeepFiringSince ??= ts;
                        if (ts - a.KeepFiringSince.Value < KeepFiringFor) keepFiring = true;
                    }
                    // A resolved alert is kept for the retention period so it is re-sent; a pending one is dropped.
                    if (a.State == AlertState.Pending || (a.ResolvedAt is { } r && ts - r > ctx.ResolvedRetention)) _active.Remove(h);
                    if (a.State != AlertState.Inactive && !keepFiring)
                    {
                        a.State = AlertState.Inactive;
                        a.ResolvedAt = ts;
                    }
                    if (!keepFiring) continue;
                }
                else
                {
                    a.KeepFiringSince = null;
                }
                activePending++;
                if (a.State == AlertState.Pending && ts - a.ActiveAt >= HoldDuration)
                {
                    a.State = AlertState.Firing;
                    a.FiredAt = ts;
                }
                if (Restored)
                {
                    output.Add((AlertSeries(a), 1));
                    output.Add((ForStateSeries(a.Labels), a.ActiveAt.ToUnixTimeSeconds()));
                }
            }
            if (limit > 0 && activePending > limit)
            {
                _active.Clear();
                throw new QueryException($"exceeded limit of {limit} with {activePending} alerts");
            }
        }
        return output;
    }

    /// <summary>The alerts to send after an evaluation at <paramref name="ts"/>, as Prometheus's sendAlerts picks them.</summary>
    internal List<RuleAlert> AlertsToSend(DateTimeOffset ts, TimeSpan resendDelay, TimeSpan interval, RuleEvalContext ctx)
    {
        var list = new List<RuleAlert>();
        var delta = interval > resendDelay ? interval : resendDelay;
        var url = GeneratorUrl(ctx.ExternalUrl, Def.Expr);
        lock (_lock)
        {
            foreach (var a in _active.Values)
            {
                if (!a.NeedsSending(ts, resendDelay)) continue;
                a.LastSentAt = ts;
                a.ValidUntil = ts + 4 * delta;
                var lbs = a.Labels;
                if (ctx.ExternalLabels.Count > 0)
                {
                    var pairs = new List<Label>(ctx.ExternalLabels.Where(e => !a.Labels.Has(e.Name)));
                    if (pairs.Count > 0) lbs = Model.Labels.From(pairs.Concat(a.Labels));
                }
                list.Add(new RuleAlert(lbs, a.Annotations, a.FiredAt ?? a.ActiveAt, a.ResolvedAt ?? a.ValidUntil, url));
            }
        }
        return list;
    }

    /// <summary>Prometheus's generator URL: the expression in the graph page's table tab.</summary>
    public static string GeneratorUrl(string externalUrl, string expr) =>
        externalUrl.TrimEnd('/') + "/graph?g0.expr=" + Uri.EscapeDataString(expr).Replace("%20", "+", StringComparison.Ordinal) + "&g0.tab=1";

    internal static Labels AlertSeries(ActiveAlert a) =>
        Model.Labels.From(a.Labels.Append(new Label(Model.Labels.MetricName, AlertMetric)).Append(new Label(AlertStateLabel, ActiveAlert.StateName(a.State))));

    internal static Labels ForStateSeries(Labels alertLabels) =>
        Model.Labels.From(alertLabels.Append(new Label(Model.Labels.MetricName, AlertForStateMetric)));

    private string Expand(RuleEvalContext ctx, string text, RuleTemplateData data, CancellationToken ct)
    {
        if (!text.Contains("{{", StringComparison.Ordinal)) return text;
        if (ctx.Templates is null) return text;
        var r = RuleTemplating.Expand(ctx.Templates, Name, text, data, ct);
        if (r.StartsWith("<error expanding template: ", StringComparison.Ordinal)) ctx.Log?.Invoke($"rule {Name}: {r}");
        return r;
    }

    private static Func<string, CancellationToken, IReadOnlyList<VectorSample>> TemplateQuery(RuleEvalContext ctx, DateTimeOffset ts) =>
        (q, ct) => RuleResults.AsVector(ctx.Querier.QueryAsync(q, null, Ms(ts), ct).AsTask().GetAwaiter().GetResult());

    private static List<KeyValuePair<string, string>> Pairs(Labels l) => [.. l.Select(x => new KeyValuePair<string, string>(x.Name, x.Value))];

    /// <summary>Prometheus's alert value text in the API: Go's strconv.FormatFloat(v, 'e', -1, 64).</summary>
    public static string FormatValue(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        var sign = v < 0 || (v == 0 && double.IsNegative(v)) ? "-" : "";
        if (v == 0) return sign + "0e+00";
        var r = Math.Abs(v).ToString("R", CultureInfo.InvariantCulture);
        var exp10 = 0;
        var ei = r.IndexOf('E', StringComparison.Ordinal);
        if (ei >= 0)
        {
            exp10 = int.Parse(r[(ei + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ei];
        }
        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? r[..dot] : r;
        var all = intPart + (dot >= 0 ? r[(dot + 1)..] : "");
        var trimmed = all.TrimStart('0');
        var exp = intPart.Length - (all.Length - trimmed.Length) - 1 + exp10;
        var sig = trimmed.TrimEnd('0');
        var m = sig.Length > 1 ? sig[0] + "." + sig[1..] : sig;
        return sign + m + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
    }
}
