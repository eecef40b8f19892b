using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Metrics.Tests.Rules;

public sealed class AlertingRuleTests
{
    internal sealed class Sink : IAlertSink
    {
        public List<(DateTimeOffset At, IReadOnlyList<RuleAlert> Alerts)> Batches { get; } = [];
        public DateTimeOffset Now { get; set; }

        public ValueTask SendAsync(IReadOnlyList<RuleAlert> alerts, CancellationToken ct)
        {
            Batches.Add((Now, alerts));
            return ValueTask.CompletedTask;
        }
    }

    internal static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    internal static (RuleGroup Group, RuleEvalContext Ctx, MemoryStore Store, Sink Sink) Setup(string yaml, TimeProvider? time = null)
    {
        var store = new MemoryStore();
        var sink = new Sink();
        var ctx = new RuleEvalContext
        {
            Querier = new EngineRuleQuerier(new Engine(), store),
            Storage = store,
            Sink = sink,
            ExternalUrl = "http://wk.example",
            Time = time ?? new FakeTimeProvider(T0),
        };
        var file = RuleFileParser.Parse(yaml, "t.yml");
        var g = new RuleGroup(file.Groups[0], TimeSpan.FromMinutes(1), TimeSpan.Zero);
        foreach (var r in g.Rules.OfType<AlertingRule>()) r.Restored = true;
        return (g, ctx, store, sink);
    }

    internal static void Write(MemoryStore store, string series, DateTimeOffset t, double v)
    {
        var a = store.Appender();
        var sel = Watchkeeper.Metrics.PromQL.Parser.ParseSelector(series);
        a.Append(Labels.From(sel.Matchers.Select(m => new Label(m.Name, m.Value))), t.ToUnixTimeMilliseconds(), v);
        a.Commit();
    }

    private static double? Latest(MemoryStore store, string series, DateTimeOffset at)
    {
        var r = new Engine().Instant(store, series, at.ToUnixTimeMilliseconds());
        return r.Value is VectorResult { Samples: [var s] } ? s.V : null;
    }

    private const string Down = """
        groups:
          - name: g
            rules:
              - alert: ServiceDown
                expr: up == 0
                for: 2m
                labels: {severity: critical}
        """;

    [Fact]
    public async Task An_alert_is_pending_then_fires_after_for_and_is_sent_with_endsAt_four_intervals_ahead()
    {
        var (g, ctx, store, sink) = Setup(Down);
        var rule = (AlertingRule)g.Rules[0];
        for (var i = 0; i <= 3; i++)
        {
            var t = T0 + TimeSpan.FromMinutes(i);
            Write(store, "up{job=\"api\"}", t, 0);
            sink.Now = t;
            await g.EvalAsync(t, ctx, CancellationToken.None);
            Assert.Equal(i < 2 ? AlertState.Pending : AlertState.Firing, rule.State);
        }
        // Pending alerts are never sent; the first batch is at the firing evaluation (t0+2m), then after the resend delay.
        Assert.Equal([T0 + TimeSpan.FromMinutes(2)], sink.Batches.Select(b => b.At).Take(1));
        var first = Assert.Single(sink.Batches[0].Alerts);
        Assert.Equal(Labels.Of("alertname", "ServiceDown", "job", "api", "severity", "critical"), first.Labels);
        Assert.Equal(T0 + TimeSpan.FromMinutes(2), first.StartsAt);
        Assert.Equal(T0 + TimeSpan.FromMinutes(2 + 4), first.EndsAt);
        Assert.Equal("http://wk.example/graph?g0.expr=up+%3D%3D+0&g0.tab=1", first.GeneratorUrl);
        var at = T0 + TimeSpan.FromMinutes(3);
        Assert.Equal(1, Latest(store, "ALERTS{alertstate=\"firing\",alertname=\"ServiceDown\"}", at));
        Assert.Equal(T0.ToUnixTimeSeconds(), Latest(store, "ALERTS_FOR_STATE{alertname=\"ServiceDown\"}", at));
    }

    [Fact]
    public async Task A_resolved_alert_is_sent_with_its_resolve_time_then_kept_and_resent_for_fifteen_minutes()
    {
        var (g, ctx, store, sink) = Setup(Down);
        var rule = (AlertingRule)g.Rules[0];
        for (var i = 0; i <= 2; i++)
        {
            var t = T0 + TimeSpan.FromMinutes(i);
            Write(store, "up{job=\"api\"}", t, 0);
            await g.EvalAsync(t, ctx, CancellationToken.None);
        }
        var resolvedAt = T0 + TimeSpan.FromMinutes(3);
        Write(store, "up{job=\"api\"}", resolvedAt, 1);
        sink.Batches.Clear();
        await g.EvalAsync(resolvedAt, ctx, CancellationToken.None);
        Assert.Equal(AlertState.Inactive, rule.State);
        Assert.Equal(resolvedAt, Assert.Single(sink.Batches[0].Alerts).EndsAt);
        Assert.Empty(rule.ActiveAlerts());
        Assert.Single(rule.Alerts());
        // The ALERTS series got a stale marker at the resolve.
        Assert.Null(Latest(store, "ALERTS", resolvedAt));
        for (var m = 4; m <= 19; m++)
        {
            var t = T0 + TimeSpan.FromMinutes(m);
            Write(store, "up{job=\"api\"}", t, 1);
            await g.EvalAsync(t, ctx, CancellationToken.None);
        }
        Assert.True(sink.Batches.Count > 3);
        Assert.Empty(rule.Alerts());
    }

    [Fact]
    public async Task A_pending_alert_that_clears_is_dropped_without_being_sent()
    {
        var (g, ctx, store, sink) = Setup(Down);
        Write(store, "up{job=\"api\"}", T0, 0);
        await g.EvalAsync(T0, ctx, CancellationToken.None);
        Write(store, "up{job=\"api\"}", T0 + TimeSpan.FromMinutes(1), 1);
        await g.EvalAsync(T0 + TimeSpan.FromMinutes(1), ctx, CancellationToken.None);
        Assert.Empty(((AlertingRule)g.Rules[0]).Alerts());
        Assert.Empty(sink.Batches);
    }

    [Fact]
    public async Task Keep_firing_for_holds_a_firing_alert_after_its_condition_clears()
    {
        var (g, ctx, store, _) = Setup("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: up == 0
                    keep_firing_for: 3m
            """);
        var rule = (AlertingRule)g.Rules[0];
        Write(store, "up", T0, 0);
        await g.EvalAsync(T0, ctx, CancellationToken.None);
        Assert.Equal(AlertState.Firing, rule.State);
        for (var m = 1; m <= 4; m++)
        {
            var t = T0 + TimeSpan.FromMinutes(m);
            Write(store, "up", t, 1);
            await g.EvalAsync(t, ctx, CancellationToken.None);
            Assert.Equal(m < 4 ? AlertState.Firing : AlertState.Inactive, rule.State);
        }
    }

    [Fact]
    public async Task Labels_that_collide_after_templating_fail_the_rule_and_the_limit_is_enforced()
    {
        var (g, ctx, store, _) = Setup("""
            groups:
              - name: g
                limit: 1
                rules:
                  - alert: A
                    expr: up == 0
            """);
        Write(store, "up{job=\"a\"}", T0, 0);
        Write(store, "up{job=\"b\"}", T0, 0);
        await g.EvalAsync(T0, ctx, CancellationToken.None);
        Assert.Equal(RuleHealth.Bad, g.Rules[0].Health);
        Assert.Equal("exceeded limit of 1 with 2 alerts", g.Rules[0].LastError);
        Assert.Equal(1, g.EvaluationFailures);

        var (g2, ctx2, store2, _) = Setup("""
            groups:
              - name: g
                rules:
                  - record: r
                    expr: sum without (job) (up)
                  - record: same
                    expr: up
                    labels: {job: x}
            """);
        Write(store2, "up{job=\"a\"}", T0, 0);
        Write(store2, "up{job=\"b\"}", T0, 0);
        await g2.EvalAsync(T0, ctx2, CancellationToken.None);
        Assert.Equal(RuleHealth.Good, g2.Rules[0].Health);
        Assert.Equal("vector contains metrics with the same labelset after applying rule labels", g2.Rules[1].LastError);
    }

    [Fact]
    public async Task A_recording_rule_writes_its_series_and_marks_the_ones_it_stops_producing_stale()
    {
        var (g, ctx, store, _) = Setup("""
            groups:
              - name: g
                rules:
                  - record: job:up:sum
                    expr: sum by (job) (up)
                    labels: {source: rule}
            """);
        Write(store, "up{job=\"a\",i=\"1\"}", T0, 1);
        Write(store, "up{job=\"b\",i=\"1\"}", T0, 1);
        await g.EvalAsync(T0, ctx, CancellationToken.None);
        var t1 = T0 + TimeSpan.FromMinutes(1);
        Write(store, "up{job=\"a\",i=\"1\"}", t1, 1);
        Write(store, "up{job=\"a\",i=\"2\"}", t1, 1);
        Write(store, "up{job=\"b\",i=\"1\"}", t1, StaleNaN.Value);
        await g.EvalAsync(t1, ctx, CancellationToken.None);
        Assert.Equal(2, Latest(store, "job:up:sum{job=\"a\",source=\"rule\"}", t1));
        Assert.Null(Latest(store, "job:up:sum{job=\"b\"}", t1));
        var raw = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "job", "b"), new LabelMatcher(MatchOp.Equal, "__name__", "job:up:sum")]).Single();
        Assert.True(StaleNaN.Is(raw.Samples[^1].V));
    }

    [Fact]
    public async Task Query_offset_queries_and_writes_at_the_evaluation_time_minus_the_offset()
    {
        var (g, ctx, store, _) = Setup("""
            groups:
              - name: g
                query_offset: 1m
                rules:
                  - record: r
                    expr: up
            """);
        Write(store, "up", T0, 7);
        await g.EvalAsync(T0 + TimeSpan.FromMinutes(1), ctx, CancellationToken.None);
        var s = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "r")]).Single();
        Assert.Equal(new Sample(T0.ToUnixTimeMilliseconds(), 7), s.Samples.Single());
    }

    [Fact]
    public void Alert_values_are_formatted_as_Prometheus_formats_them()
    {
        Assert.Equal("1e+00", AlertingRule.FormatValue(1));
        Assert.Equal("0e+00", AlertingRule.FormatValue(0));
        Assert.Equal("1.2345e+02", AlertingRule.FormatValue(123.45));
        Assert.Equal("-1.5e-03", AlertingRule.FormatValue(-0.0015));
        Assert.Equal("1.8e+09", AlertingRule.FormatValue(1.8e9));
        Assert.Equal("NaN", AlertingRule.FormatValue(double.NaN));
    }
}
