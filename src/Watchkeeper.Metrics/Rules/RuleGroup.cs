using System.Diagnostics;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// A rule group: its rules evaluated in order at one timestamp every <see cref="Interval"/>. Results are appended at
/// the query time (evaluation time minus <see cref="QueryOffset"/>); series a rule returned last time but not now get
/// a stale marker. Holds the group's evaluation status and counters (Prometheus's rule group metrics).
/// </summary>
public sealed class RuleGroup
{
    private readonly HashSet<Labels>[] _previous;

    public RuleGroup(RuleGroupDef def, TimeSpan defaultInterval, TimeSpan defaultQueryOffset)
    {
        Def = def;
        Interval = def.Interval is { } i && i > TimeSpan.Zero ? i : defaultInterval;
        QueryOffset = def.QueryOffset ?? defaultQueryOffset;
        var groupLabels = def.Labels.Select(l => new Label(l.Key, l.Value)).ToList();
        Rules = [.. def.Rules.Select(r =>
        {
            var labels = Labels.From(groupLabels.Concat(r.Labels.Select(l => new Label(l.Key, l.Value))));
            return r.IsAlert ? (Rule)new AlertingRule(r, labels) : new RecordingRule(r, labels);
        })];
        _previous = [.. Rules.Select(_ => new HashSet<Labels>())];
    }

    public RuleGroupDef Def { get; }
    public string Name => Def.Name;
    public string File => Def.File;

    /// <summary>Prometheus's <c>rule_group</c> label value: <c>file;name</c>.</summary>
    public string Key => Def.File + ";" + Def.Name;

    public TimeSpan Interval { get; }
    public TimeSpan QueryOffset { get; }
    public int Limit => Def.Limit;
    public IReadOnlyList<Rule> Rules { get; }

    public DateTimeOffset? LastEvaluation { get; private set; }
    public TimeSpan EvaluationTime { get; private set; }
    public long Evaluations;
    public long EvaluationFailures;
    public long Iterations;
    public long IterationsMissed;
    public long LastSamples { get; private set; }

    /// <summary>Whether the <c>for</c> state is still to be restored (a group created at start, not by a reload).</summary>
    public bool ShouldRestore { get; internal set; }

    /// <summary>
    /// The evaluation slot at or before <paramref name="nowMs"/>: multiples of the interval shifted by a per-group offset
    /// from a hash of file and name, so groups spread over the interval yet keep their slot across restarts.
    /// </summary>
    public long EvalTimestamp(long nowMs)
    {
        var interval = (long)Interval.TotalMilliseconds;
        if (interval <= 0) return nowMs;
        var offset = (long)(Hash(Def.File, Def.Name) % (ulong)interval);
        var adj = nowMs - offset;
        var b = adj - (((adj % interval) + interval) % interval);
        return b + offset;
    }

    /// <summary>Evaluates every rule at <paramref name="ts"/>, writes the results and hands alerts to the sink.</summary>
    public async Task EvalAsync(DateTimeOffset ts, RuleEvalContext ctx, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        long samples = 0;
        var writeTs = Rule.Ms(ts - QueryOffset);
        for (var i = 0; i < Rules.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var rule = Rules[i];
            var ruleStart = Stopwatch.GetTimestamp();
            rule.LastEvaluation = ts;
            Interlocked.Increment(ref Evaluations);
            List<(Labels Labels, double Value)> vector;
            try
            {
                vector = await rule.EvalAsync(ts, QueryOffset, Limit, ctx, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is QueryException or ParseException or HttpRequestException or RuleQueryException
                                           || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                rule.Health = RuleHealth.Bad;
                rule.LastError = ex.Message;
                rule.EvaluationTime = Stopwatch.GetElapsedTime(ruleStart);
                Interlocked.Increment(ref EvaluationFailures);
                ctx.Log?.Invoke($"evaluating rule {rule.Name} of group {Name} failed: {ex.Message}");
                continue;
            }
            rule.Health = RuleHealth.Good;
            rule.LastError = null;
            if (rule is AlertingRule ar && ctx.Sink is { } sink)
            {
                var alerts = ar.AlertsToSend(ts, ctx.ResendDelay, Interval, ctx);
                if (alerts.Count > 0)
                {
                    try
                    {
                        await sink.SendAsync(alerts, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        ctx.Log?.Invoke($"sending alerts of rule {rule.Name} failed: {ex.Message}");
                    }
                }
            }
            var returned = new HashSet<Labels>(vector.Count);
            var app = ctx.Storage.Appender();
            var outOfOrder = 0;
            foreach (var (l, v) in vector)
            {
                var r = app.Append(l, writeTs, v);
                if (r is AppendResult.OutOfOrder or AppendResult.Duplicate or AppendResult.TooOld) outOfOrder++;
                else if (r != AppendResult.Ok)
                {
                    rule.Health = RuleHealth.Bad;
                    rule.LastError = AppendResults.Describe(r);
                }
                returned.Add(l);
            }
            foreach (var l in _previous[i])
                if (!returned.Contains(l)) app.Append(l, writeTs, StaleNaN.Value);
            app.Commit();
            if (outOfOrder > 0) ctx.Log?.Invoke($"rule {rule.Name} of group {Name}: {outOfOrder} samples out of order or duplicate");
            _previous[i] = returned;
            samples += vector.Count;
            rule.EvaluationTime = Stopwatch.GetElapsedTime(ruleStart);
        }
        LastSamples = samples;
        LastEvaluation = ts;
        EvaluationTime = Stopwatch.GetElapsedTime(start);
        Interlocked.Increment(ref Iterations);
    }

    /// <summary>Writes stale markers for every series this group's rules wrote last (the group is going away).</summary>
    public void MarkStale(DateTimeOffset ts, RuleEvalContext ctx)
    {
        var app = ctx.Storage.Appender();
        var t = Rule.Ms(ts - QueryOffset);
        foreach (var set in _previous)
            foreach (var l in set) app.Append(l, t, StaleNaN.Value);
        app.Commit();
    }

    /// <summary>Takes over the alerts, series and status of the same rules in the group this one replaces on reload.</summary>
    public void CopyStateFrom(RuleGroup old)
    {
        LastEvaluation = old.LastEvaluation;
        EvaluationTime = old.EvaluationTime;
        var byIdentity = new Dictionary<string, Queue<int>>(StringComparer.Ordinal);
        for (var i = 0; i < old.Rules.Count; i++)
        {
            if (!byIdentity.TryGetValue(old.Rules[i].Identity, out var q)) byIdentity[old.Rules[i].Identity] = q = new Queue<int>();
            q.Enqueue(i);
        }
        for (var i = 0; i < Rules.Count; i++)
        {
            if (!byIdentity.TryGetValue(Rules[i].Identity, out var q) || q.Count == 0) continue;
            var j = q.Dequeue();
            var (from, to) = (old.Rules[j], Rules[i]);
            to.Health = from.Health;
            to.LastError = from.LastError;
            to.LastEvaluation = from.LastEvaluation;
            to.EvaluationTime = from.EvaluationTime;
            _previous[i] = old._previous[j];
            if (from is AlertingRule a && to is AlertingRule b) b.CopyStateFrom(a);
        }
        // Series of rules that are gone are marked stale by the caller through the old group's remaining series.
        for (var j = 0; j < old.Rules.Count; j++)
            if (byIdentity.TryGetValue(old.Rules[j].Identity, out var q) && q.Contains(j)) old._removed.Add(j);
        foreach (var r in Rules.OfType<AlertingRule>()) r.Restored = true;
    }

    private readonly HashSet<int> _removed = [];

    /// <summary>After <see cref="CopyStateFrom"/>: stale markers for the series of old rules that have no successor.</summary>
    public void MarkRemovedRulesStale(DateTimeOffset ts, RuleEvalContext ctx)
    {
        if (_removed.Count == 0) return;
        var app = ctx.Storage.Appender();
        var t = Rule.Ms(ts - QueryOffset);
        foreach (var j in _removed)
            foreach (var l in _previous[j]) app.Append(l, t, StaleNaN.Value);
        app.Commit();
    }

    /// <summary>
    /// Restores the <c>for</c> progress of the alerts active now from their ALERTS_FOR_STATE series, as Prometheus does
    /// after a restart: an alert down for less than the outage tolerance keeps its progress (shifted by the downtime),
    /// and never fires sooner than the grace period after the restart.
    /// </summary>
    public async Task RestoreForStateAsync(DateTimeOffset ts, RuleEvalContext ctx, CancellationToken ct)
    {
        var maxT = Rule.Ms(ts);
        var minT = Rule.Ms(ts - ctx.OutageTolerance);
        foreach (var rule in Rules.OfType<AlertingRule>())
        {
            if (rule.HoldDuration < ctx.ForGracePeriod)
            {
                rule.Restored = true;
                continue;
            }
            foreach (var a in rule.ActiveForRestore())
            {
                var matchers = new List<LabelMatcher> { new(MatchOp.Equal, Labels.MetricName, AlertingRule.AlertForStateMetric) };
                foreach (var l in a.Labels) matchers.Add(new LabelMatcher(MatchOp.Equal, l.Name, l.Value));
                IReadOnlyList<SeriesSamples> found;
                try
                {
                    found = await ctx.Querier.SelectAsync(matchers, minT, maxT, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is QueryException or HttpRequestException or RuleQueryException)
                {
                    ctx.Log?.Invoke($"restoring the for state of {rule.Name} failed: {ex.Message}");
                    continue;
                }
                var series = found.FirstOrDefault(s => s.Labels.Count == a.Labels.Count + 1 && s.Samples.Count > 0);
                if (series is null) continue;
                var last = series.Samples[^1];
                if (StaleNaN.Is(last.V)) continue;
                var downAt = DateTimeOffset.FromUnixTimeSeconds(last.T / 1000);
                var activeAt = DateTimeOffset.FromUnixTimeSeconds((long)last.V);
                var remaining = rule.HoldDuration - (downAt - activeAt);
                if (remaining <= TimeSpan.Zero)
                {
                    // It was firing when the evaluator stopped; the next evaluation fires it again if it still holds.
                }
                else if (remaining < ctx.ForGracePeriod) activeAt = ts + ctx.ForGracePeriod - rule.HoldDuration;
                else activeAt += ts - downAt;
                a.ActiveAt = activeAt;
            }
            rule.Restored = true;
        }
        ShouldRestore = false;
    }

    /// <summary>FNV-1a over file and name: a stable per-group offset.</summary>
    private static ulong Hash(string file, string name)
    {
        var h = 14695981039346656037UL;
        foreach (var c in "name\u00ff" + name + "\u00fffile\u00ff" + file)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return h;
    }
}

/// <summary>An external query API answered with an error (status, errorType and error text).</summary>
public sealed class RuleQueryException : Exception
{
    public RuleQueryException() { }
    public RuleQueryException(string message) : base(message) { }
    public RuleQueryException(string message, Exception inner) : base(message, inner) { }
}
