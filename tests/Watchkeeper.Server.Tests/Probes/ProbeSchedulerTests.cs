using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>The timer-wheel scheduler on a fake clock with a fake prober: who runs when, what lands in the store.</summary>
public sealed class ProbeSchedulerTests
{
    private sealed class FakeRunner : IProbeRunner
    {
        public readonly Dictionary<string, int> Runs = [];
        public int Running, MaxRunning;
        public TaskCompletionSource? Gate;
        public readonly TaskCompletionSource Saturated = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int SaturatedAt = int.MaxValue;
        public HashSet<string> Failing { get; } = [];

        public async Task<ProbeResult> RunAsync(ProbeRequest request, CancellationToken ct)
        {
            lock (Runs) Runs[request.Target] = Runs.GetValueOrDefault(request.Target) + 1;
            var now = Interlocked.Increment(ref Running);
            lock (Runs) MaxRunning = Math.Max(MaxRunning, now);
            if (now >= SaturatedAt) Saturated.TrySetResult();
            try
            {
                if (Gate is { } g) await g.Task.WaitAsync(ct);
                var r = new ProbeResult { Success = !Failing.Contains(request.Target), DurationSeconds = 0.25, StatusCode = 200 };
                r.Add("probe_http_status_code", 200);
                r.Add("probe_http_duration_seconds", 0.1, "phase", "connect");
                if (!r.Success) r.Fail("down");
                return r;
            }
            finally
            {
                Interlocked.Decrement(ref Running);
            }
        }
    }

    private static ProbesConfig Config(int checks, string interval = "10s", int concurrency = 256)
    {
        var c = new ProbesConfig { MaxConcurrency = concurrency };
        c.Modules["http_2xx"] = new ProbeModuleConfig { Prober = "http" };
        for (var i = 0; i < checks; i++)
            c.Checks.Add(new ProbeCheckConfig { Name = "check-" + i, Module = "http_2xx", Target = "/t/" + i, Interval = Duration.Parse(interval), Service = "svc", Component = i % 2 == 0 ? "api" : "" });
        return c;
    }

    private static async Task Advance(FakeTimeProvider time, TimeSpan by, TimeSpan step)
    {
        for (var t = TimeSpan.Zero; t < by; t += step)
        {
            time.Advance(step);
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Every_check_runs_once_per_interval_and_lands_in_the_store_with_its_labels()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var store = new MemoryStore();
        var runner = new FakeRunner();
        runner.Failing.Add("http://self/t/1");
        await using var s = new ProbeScheduler(runner, store, time, NullLogger.Instance);
        await s.ApplyAsync(Config(20), p => "http://self" + p);
        var ct = TestContext.Current.CancellationToken;

        await Advance(time, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await s.WaitForWrittenAsync(20, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(20, runner.Runs.Count);
        Assert.All(runner.Runs.Values, n => Assert.Equal(1, n));

        await Advance(time, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await s.WaitForWrittenAsync(40, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.All(runner.Runs.Values, n => Assert.Equal(2, n));

        var success = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, Labels.MetricName, "probe_success")]).ToList();
        Assert.Equal(20, success.Count);
        var failing = success.Single(x => x.Labels.Get("probe") == "check-1");
        Assert.Equal("http://self/t/1", failing.Labels.Get("instance"));
        Assert.Equal("probe", failing.Labels.Get("job"));
        Assert.Equal("svc", failing.Labels.Get("service"));
        Assert.Null(failing.Labels.Get("component"));
        Assert.All(failing.Samples, x => Assert.Equal(0, x.V));
        Assert.Equal("api", success.Single(x => x.Labels.Get("probe") == "check-0").Labels.Get("component"));
        var phases = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, Labels.MetricName, "probe_http_duration_seconds")]).ToList();
        Assert.All(phases, p => Assert.Equal("connect", p.Labels.Get("phase")));
        Assert.Equal(20, store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, Labels.MetricName, "probe_duration_seconds")]).Count());

        var states = s.Statuses();
        Assert.Equal(20, states.Count);
        var down = states.Single(x => x.Name == "check-1");
        Assert.False(down.Success);
        Assert.Equal(2, down.ConsecutiveFailures);
        Assert.Equal("down", down.Error);
    }

    [Fact]
    public async Task A_clock_that_jumps_a_day_runs_each_check_once_and_then_on_its_slot_again()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var runner = new FakeRunner();
        await using var s = new ProbeScheduler(runner, new MemoryStore(), time, NullLogger.Instance);
        await s.ApplyAsync(Config(3), p => "http://self" + p);
        var ct = TestContext.Current.CancellationToken;
        await Advance(time, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await s.WaitForWrittenAsync(3, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);

        // 8,640 intervals pass in one step: the wheel wakes once and starts each check once, not once per interval.
        time.Advance(TimeSpan.FromDays(1));
        await s.WaitForWrittenAsync(6, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!s.Idle && DateTime.UtcNow < deadline) await Task.Delay(5, ct);
        Assert.True(s.Idle);
        Assert.All(runner.Runs.Values, n => Assert.Equal(2, n));

        // And the schedule goes on from there: one more run each over the next interval.
        await Advance(time, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await s.WaitForWrittenAsync(9, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.All(runner.Runs.Values, n => Assert.Equal(3, n));
    }

    [Fact]
    public async Task A_removed_check_has_its_series_marked_stale()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var store = new MemoryStore();
        var runner = new FakeRunner();
        await using var s = new ProbeScheduler(runner, store, time, NullLogger.Instance);
        await s.ApplyAsync(Config(2), p => "http://self" + p);
        await Advance(time, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await s.WaitForWrittenAsync(2, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var smaller = Config(1);
        await s.ApplyAsync(smaller, p => "http://self" + p);
        var gone = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "probe", "check-1")]).ToList();
        Assert.NotEmpty(gone);
        Assert.All(gone, g => Assert.True(StaleNaN.Is(g.Samples[^1].V)));
        var kept = store.Select(0, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "probe", "check-0")]).ToList();
        Assert.All(kept, g => Assert.False(StaleNaN.Is(g.Samples[^1].V)));
        Assert.Single(s.Statuses());
        Assert.NotNull(s.Statuses()[0].LastRun); // kept its last result across the reload
    }

    [Fact]
    public async Task At_most_max_concurrency_probes_run_at_once_and_a_busy_check_is_skipped_not_queued()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
        var runner = new FakeRunner { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), SaturatedAt = 3 };
        await using var s = new ProbeScheduler(runner, new MemoryStore(), time, NullLogger.Instance);
        await s.ApplyAsync(Config(10, "1s", concurrency: 3), p => "http://self" + p);
        // Two intervals pass while every probe hangs: each check starts once, three at a time.
        await Advance(time, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100));
        var ct = TestContext.Current.CancellationToken;
        await runner.Saturated.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(3, Volatile.Read(ref runner.Running));
        runner.Gate.SetResult();
        await s.WaitForWrittenAsync(10, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(3, runner.MaxRunning);
        Assert.All(runner.Runs.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public void Checks_spread_over_the_slots_of_their_interval()
    {
        var slots = ProbeScheduler.SlotCount(TimeSpan.FromSeconds(30));
        Assert.Equal(300, slots);
        Assert.Equal(1000, ProbeScheduler.SlotCount(TimeSpan.FromMinutes(5)));
        Assert.Equal(10, ProbeScheduler.SlotCount(TimeSpan.FromSeconds(1)));
        var used = Enumerable.Range(0, 10_000).Select(i => ProbeScheduler.SlotOf("check-" + i, slots)).GroupBy(x => x).ToList();
        Assert.Equal(slots, used.Count);
        Assert.True(used.Max(g => g.Count()) < 3 * 10_000 / slots, "a slot holds far more than its share");
    }
}
