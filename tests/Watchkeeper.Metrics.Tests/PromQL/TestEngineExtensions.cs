using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>Engine calls bound to the running test's cancellation token.</summary>
internal static class TestEngineExtensions
{
    public static QueryResult Query(this Engine e, ISeriesQuerier q, string query, long t) =>
        e.Instant(q, query, t, TestContext.Current.CancellationToken);

    public static QueryResult QueryRange(this Engine e, ISeriesQuerier q, string query, long start, long end, long step) =>
        e.Range(q, query, start, end, step, TestContext.Current.CancellationToken);
}
