using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>Where rules read from: the embedded TSDB through the PromQL engine, or an external query API.</summary>
public interface IRuleQuerier
{
    /// <summary>Evaluates an instant query at <paramref name="timeMs"/> (<paramref name="parsed"/> when the caller has it).</summary>
    ValueTask<QueryValue> QueryAsync(string query, Expr? parsed, long timeMs, CancellationToken ct);

    /// <summary>Raw samples (stale markers included where the store keeps them) of series matching all matchers in [minT, maxT].</summary>
    ValueTask<IReadOnlyList<SeriesSamples>> SelectAsync(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken ct);
}

/// <summary>Queries a local store with the PromQL engine.</summary>
public sealed class EngineRuleQuerier(Engine engine, ISeriesQuerier querier) : IRuleQuerier
{
    public async ValueTask<QueryValue> QueryAsync(string query, Expr? parsed, long timeMs, CancellationToken ct)
    {
        var result = await engine.InstantAsync(querier, parsed ?? PromQL.Parser.Parse(query), timeMs, ct).ConfigureAwait(false);
        return result.Value;
    }

    public ValueTask<IReadOnlyList<SeriesSamples>> SelectAsync(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<SeriesSamples>>([.. querier.Select(minT, maxT, matchers)]);
}

internal static class RuleResults
{
    /// <summary>An instant result as rules take it: a vector, or a scalar as one sample without labels (as Prometheus's EngineQueryFunc).</summary>
    public static IReadOnlyList<VectorSample> AsVector(QueryValue v) => v switch
    {
        VectorResult vec => vec.Samples,
        ScalarResult s => [new VectorSample(Labels.Empty, s.T, s.V)],
        _ => throw new QueryException("rule result is not a vector or scalar"),
    };
}
