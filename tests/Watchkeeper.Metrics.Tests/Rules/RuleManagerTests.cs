using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Metrics.Tests.Rules;

public sealed class RuleManagerTests
{
    private const string Down = """
        groups:
          - name: g
            rules:
              - alert: ServiceDown
                expr: up == 0
                for: 20m
        """;

    [Fact]
    public void Evaluation_slots_are_aligned_to_the_interval_with_a_stable_per_group_offset()
    {
        var g = new RuleGroup(RuleFileParser.Parse(Down, "t.yml").Groups[0], TimeSpan.FromMinutes(1), TimeSpan.Zero);
        var now = AlertingRuleTests.T0.ToUnixTimeMilliseconds() + 12_345;
        var slot = g.EvalTimestamp(now);
        Assert.True(slot <= now && now - slot < 60_000);
        Assert.Equal(slot + 60_000, g.EvalTimestamp(slot + 60_000));
        Assert.Equal(slot % 60_000, g.EvalTimestamp(now + 3_600_000) % 60_000);
    }

    [Fact]
    public async Task The_manager_evaluates_each_group_on_its_interval_under_an_injected_clock()
    {
        var time = new FakeTimeProvider(AlertingRuleTests.T0);
        var (_, ctx, store, _) = AlertingRuleTests.Setup(Down, time);
        await using var m = new RuleManager(ctx);
        await m.UpdateAsync([RuleFileParser.Parse(Down, "t.yml")], TimeSpan.FromMinutes(1), TimeSpan.Zero);
        var g = Assert.Single(m.Groups);
        for (var i = 0; i < 3; i++)
        {
            AlertingRuleTests.Write(store, "up", time.GetUtcNow(), 0);
            await AdvanceUntil(time, () => g.Iterations > i);
        }
        Assert.Equal(3, g.Iterations);
        Assert.Equal(AlertState.Pending, ((AlertingRule)g.Rules[0]).State);
        Assert.Equal(g.EvalTimestamp(time.GetUtcNow().ToUnixTimeMilliseconds()), g.LastEvaluation!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task After_a_restart_the_for_progress_is_restored_from_ALERTS_FOR_STATE()
    {
        var time = new FakeTimeProvider(AlertingRuleTests.T0);
        var (_, ctx, store, _) = AlertingRuleTests.Setup(Down, time);
        // The previous run: the alert became active 15 minutes before it stopped, 5 minutes ago.
        var activeAt = AlertingRuleTests.T0 - TimeSpan.FromMinutes(20);
        var downAt = AlertingRuleTests.T0 - TimeSpan.FromMinutes(5);
        var a = store.Appender();
        a.Append(Watchkeeper.Metrics.Model.Labels.Of("__name__", "ALERTS_FOR_STATE", "alertname", "ServiceDown"), downAt.ToUnixTimeMilliseconds(), activeAt.ToUnixTimeSeconds());
        a.Commit();
        AlertingRuleTests.Write(store, "up", downAt, 0);
        await using var m = new RuleManager(ctx);
        await m.UpdateAsync([RuleFileParser.Parse(Down, "t.yml")], TimeSpan.FromMinutes(1), TimeSpan.Zero);
        var g = Assert.Single(m.Groups);
        for (var i = 0; i < 2; i++)
        {
            AlertingRuleTests.Write(store, "up", time.GetUtcNow(), 0);
            await AdvanceUntil(time, () => g.Iterations > i && !g.ShouldRestore || g.Iterations > i && i == 0);
        }
        await AdvanceUntil(time, () => !g.ShouldRestore);
        var alert = Assert.Single(((AlertingRule)g.Rules[0]).ActiveAlerts());
        // 15 of 20 minutes were spent pending; 5 remain, less than the 10 minute grace period: it fires 10 minutes after the restore.
        var restoredAt = time.GetUtcNow();
        Assert.Equal((restoredAt + TimeSpan.FromMinutes(10) - TimeSpan.FromMinutes(20)).ToUnixTimeSeconds(), alert.ActiveAt.ToUnixTimeSeconds());
    }

    private static async Task AdvanceUntil(FakeTimeProvider time, Func<bool> done)
    {
        for (var i = 0; i < 400 && !done(); i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            for (var k = 0; k < 20 && !done(); k++) await Task.Delay(1);
        }
        Assert.True(done());
    }
}
