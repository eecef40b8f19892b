using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

/// <summary>
/// Large head selections are remembered in label order between queries (Tsdb.HeadSelectSorted): a series added or
/// removed since must show up or disappear at once, and the order must stay the label order.
/// </summary>
public sealed class SortedSelectionTests : TsdbTestBase
{
    private static readonly LabelMatcher[] Api = [new(MatchOp.Equal, "job", "api")];

    [Fact]
    public void A_remembered_selection_sees_series_added_and_removed_since()
    {
        using var db = Open(blockDuration: TimeSpan.FromHours(2));
        // 400 series (more than the 256 a selection needs to be remembered), in reverse label order of creation.
        var app = db.Appender();
        for (var i = 399; i >= 0; i--) app.Append(Series(i * 2), T0, i);
        app.Commit();
        AssertSelected(db, T0, T0 + Hour, 400);
        AssertSelected(db, T0, T0 + Hour, 400);

        // A new series that sorts in the middle, and one of another job that must not appear.
        app = db.Appender();
        app.Append(Series(401), T0 + Minute, 1);
        app.Append(Series(401, "web"), T0 + Minute, 1);
        app.Commit();
        var labels = AssertSelected(db, T0, T0 + Hour, 401);
        Assert.Contains(Series(401), labels);

        // The streamed and the counter-window reads use the same selection.
        var streamed = new List<Labels>();
        db.SelectEach(T0, T0 + Hour, Api, (l, _) => streamed.Add(l));
        Assert.Equal(labels, streamed);
        var windows = new List<Labels>();
        db.SelectCounterWindows(T0, T0 + Hour, Api, (l, _) => windows.Add(l));
        Assert.Equal(labels, windows);

        // Later samples for all but the new series, then a head cut: the series with nothing after the cut leave the head.
        app = db.Appender();
        for (var i = 0; i < 400; i++) app.Append(Series(i * 2), T0 + 5 * Hour, i);
        app.Commit();
        db.RunMaintenance();
        Assert.True(db.Stats.SeriesRemoved > 0);
        var after = AssertSelected(db, T0 + 4 * Hour, T0 + 6 * Hour, 400);
        Assert.DoesNotContain(Series(401), after);
    }

    private static List<Labels> AssertSelected(Tsdb.Tsdb db, long minT, long maxT, int expected)
    {
        var labels = new List<Labels>();
        db.SelectEach(minT, maxT, Api, (l, _) => labels.Add(l));
        Assert.Equal(expected, labels.Count);
        for (var i = 1; i < labels.Count; i++) Assert.True(labels[i - 1].CompareTo(labels[i]) < 0, $"{labels[i - 1]} before {labels[i]}");
        return labels;
    }
}
