using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

public enum RuleHealth { Unknown, Good, Bad }

/// <summary>What every rule evaluation needs from its surroundings.</summary>
public sealed class RuleEvalContext
{
    public required IRuleQuerier Querier { get; init; }

    /// <summary>Where rule results (recording rules, ALERTS, ALERTS_FOR_STATE) and stale markers are written.</summary>
    public required ISeriesStore Storage { get; init; }

    public IAlertSink? Sink { get; init; }
    public IRuleTemplateEngine? Templates { get; init; }
    public Labels ExternalLabels { get; init; } = Labels.Empty;
    public string ExternalUrl { get; init; } = "";

    /// <summary>Minimum time between two sends of the same alert (Prometheus's --rules.alert.resend-delay).</summary>
    public TimeSpan ResendDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest outage across which the <c>for</c> state is restored (--rules.alert.for-outage-tolerance).</summary>
    public TimeSpan OutageTolerance { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Least time an alert waits after a restart before firing (--rules.alert.for-grace-period).</summary>
    public TimeSpan ForGracePeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a resolved alert is kept and re-sent.</summary>
    public TimeSpan ResolvedRetention { get; init; } = TimeSpan.FromMinutes(15);

    public TimeProvider Time { get; init; } = TimeProvider.System;
    public Action<string>? Log { get; init; }
}

/// <summary>An alerting or recording rule with its evaluation status.</summary>
public abstract class Rule(RuleDef def, Labels labels)
{
    public RuleDef Def { get; } = def;
    public string Name => Def.Name;

    /// <summary>The rule's labels with the group's labels merged under them.</summary>
    public Labels Labels { get; } = labels;

    public RuleHealth Health { get; internal set; }
    public string? LastError { get; internal set; }
    public DateTimeOffset? LastEvaluation { get; internal set; }
    public TimeSpan EvaluationTime { get; internal set; }

    /// <summary>Identity across reloads: kind, name and labels (Prometheus matches rules the same way when copying state).</summary>
    internal string Identity => (Def.IsAlert ? "alert:" : "record:") + Name + Labels;

    /// <summary>Evaluates at <paramref name="ts"/>, querying at ts - <paramref name="queryOffset"/>; returns the samples to append.</summary>
    internal abstract ValueTask<List<(Labels Labels, double Value)>> EvalAsync(DateTimeOffset ts, TimeSpan queryOffset, int limit,
        RuleEvalContext ctx, CancellationToken ct);

    internal static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();
}

/// <summary>A recording rule: the expression's result, renamed and relabelled, written back as new series.</summary>
public sealed class RecordingRule(RuleDef def, Labels labels) : Rule(def, labels)
{
    internal override async ValueTask<List<(Labels Labels, double Value)>> EvalAsync(DateTimeOffset ts, TimeSpan queryOffset, int limit,
        RuleEvalContext ctx, CancellationToken ct)
    {
        var vector = RuleResults.AsVector(await ctx.Querier.QueryAsync(Def.Expr, Def.Parsed, Ms(ts - queryOffset), ct).ConfigureAwait(false));
        var result = new List<(Labels, double)>(vector.Count);
        var seen = new HashSet<Labels>();
        foreach (var s in vector)
        {
            var pairs = new List<Label>(s.Labels.Count + Labels.Count + 1);
            pairs.AddRange(s.Labels);
            pairs.Add(new Label(Model.Labels.MetricName, Name));
            pairs.AddRange(Labels);
            var l = Model.Labels.From(pairs);
            if (!seen.Add(l)) throw new QueryException("vector contains metrics with the same labelset after applying rule labels");
            result.Add((l, s.V));
        }
        if (limit > 0 && result.Count > limit) throw new QueryException($"exceeded limit of {limit} with {result.Count} series");
        return result;
    }
}
