using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>
/// A querier that offers only <see cref="ISeriesQuerier.Select"/>: the engine takes its load-everything path, which
/// the streamed and counter-window paths are compared with.
/// </summary>
internal sealed class SelectOnlyQuerier(ISeriesQuerier inner) : ISeriesQuerier
{
    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.Select(minT, maxT, matchers);
    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);
    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelValues(name, minT, maxT, matchers);
}
