using System.Net;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;
using static Watchkeeper.Server.Tests.Notifications.NotifyFixture;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>The outbox end to end: a real server (SQLite and PostgreSQL), real loopback receivers, the fake clock.</summary>
public sealed class OutboxTests
{
    public static TheoryData<bool> Providers => new() { false, true };

    [Theory, MemberData(nameof(Providers))]
    public async Task A_committed_notification_is_delivered_once_as_webhook_version_4_and_its_attempt_recorded(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url(), SendResolved = true })]);
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]", Data("ops", alerts: 2)));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());

        var r = Assert.Single(hook.Requests);
        Assert.StartsWith("application/json", r.ContentType, StringComparison.Ordinal);
        WebhookFormat.AssertVersion4(r.Json, expectedAlerts: 2, truncated: 0);
        var d = await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None);
        Assert.Equal(OutboxStatus.Delivered, d.Item.Status);
        var a = Assert.Single(d.Attempts);
        Assert.Equal(("delivered", (int?)200), (a.Outcome, a.StatusCode));
        Assert.True(a.LatencyMs >= 0);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task A_rolled_back_enqueue_sends_nothing(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"), commit: false);
        Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Empty(hook.Requests);
        Assert.Equal(0, (await s.Get<NotificationQueries>().ListAsync(null, null, 10, null, CancellationToken.None)).Total);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Receiver_down_then_a_restart_then_receiver_up_delivers_exactly_once(bool postgres)
    {
        var port = LoopbackReceiver.FreePort();
        var receivers = new[] { Receiver("ops", new WebhookConfig { Url = $"http://127.0.0.1:{port}/hook" }) };
        var root = Directory.CreateTempSubdirectory("wk-notify-").FullName;
        var data = Path.Combine(root, "data");
        var pg = postgres && TestServer.PostgresConnectionString is not null ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            long id;
            DateTimeOffset next;
            await using (var s = await StartAsync(postgres, receivers, data, pg))
            {
                id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
                Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
                var row = await RowAsync(s, id);
                Assert.Equal((OutboxStatus.Pending, 1), (row.Status, row.Attempts));
                Assert.Null(row.LastStatusCode);                                       // connection refused: no HTTP status
                next = row.NextAttemptAt!.Value;
                Assert.InRange(next - s.Time.GetUtcNow(), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));   // retry_initial 10s with equal jitter
            }
            await using var hook = await LoopbackReceiver.StartAsync(port);
            await using (var s = await StartAsync(postgres, receivers, data, pg))
            {
                s.Time.SetUtcNow(next - TimeSpan.FromMilliseconds(1));
                Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());     // not due yet
                s.Time.SetUtcNow(next);
                Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
                s.Time.Advance(TimeSpan.FromHours(2));
                Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());
                Assert.Single(hook.Requests);
                var d = await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None);
                Assert.Equal(OutboxStatus.Delivered, d.Item.Status);
                Assert.Equal(["retry", "delivered"], d.Attempts.Select(a => a.Outcome));
                Assert.NotEqual(d.Attempts[0].Sender, d.Attempts[1].Sender);         // a restarted process is a new sender
            }
        }
        finally
        {
            if (pg is not null) await TestServer.DropPostgresDatabaseAsync(pg);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Two_senders_on_one_database_never_send_the_same_notification(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url() })],
            notifications: "notifications: {http_retries: 0, batch: 7, concurrency: 3}");
        const int n = 60;
        for (var i = 0; i < n; i++) await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]", Data("ops", alertname: "A" + i)));
        // A second sender, as a second replica would run, on the same database.
        var other = ActivatorUtilities.CreateInstance<NotificationSender>(s.Services);
        var mine = s.Get<NotificationSender>();
        var passes = 0;
        while (passes++ < 100)
        {
            var counts = await Task.WhenAll(Task.Run(() => mine.RunOnceAsync()), Task.Run(() => other.RunOnceAsync()), Task.Run(() => mine.RunOnceAsync()));
            if (counts.Sum() == 0) break;
        }
        Assert.Equal(n, hook.Requests.Count);
        Assert.Equal(n, hook.Requests.Select(r => r.Json.GetProperty("groupKey").GetString()).Distinct().Count());
        var page = await s.Get<NotificationQueries>().ListAsync(OutboxStatus.Delivered, null, 1000, null, CancellationToken.None);
        Assert.Equal(n, page.Total);
        Assert.All(page.Items, i => Assert.Equal(1, i.Attempts));
    }

    [Fact]
    public async Task A_429_is_retried_no_earlier_than_Retry_After_and_a_400_fails_at_once()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        hook.Respond = r => r.Path == "/busy" ? (429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "120" }) : (400, "invalid payload", null);
        await using var s = await StartAsync(false, [new ReceiverConfig("ops", [], [], [], [new WebhookConfig { Url = hook.Url("/busy") }, new WebhookConfig { Url = hook.Url("/bad") }], [])]);
        var busy = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        var bad = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[1]"));
        Assert.Equal(2, await s.Get<NotificationSender>().RunOnceAsync());
        var b = await RowAsync(s, busy);
        Assert.Equal((OutboxStatus.Pending, (int?)429), (b.Status, b.LastStatusCode));
        Assert.Equal(s.Time.GetUtcNow() + TimeSpan.FromSeconds(120), b.NextAttemptAt);   // Retry-After beats the 10s backoff
        var x = await RowAsync(s, bad);
        Assert.Equal((OutboxStatus.Failed, (int?)400), (x.Status, x.LastStatusCode));
        Assert.Contains("invalid payload", x.LastError, StringComparison.Ordinal);
        s.Time.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());
        hook.Respond = _ => (200, "ok", null);
        s.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Equal(OutboxStatus.Delivered, (await RowAsync(s, busy)).Status);
        Assert.Equal(3, hook.Requests.Count);
    }

    [Fact]
    public async Task A_receiver_down_past_give_up_after_is_marked_failed_after_backing_off_exponentially()
    {
        var port = LoopbackReceiver.FreePort();
        await using var s = await StartAsync(false, [Receiver("ops", new WebhookConfig { Url = $"http://127.0.0.1:{port}/hook" })],
            notifications: "notifications: {http_retries: 0, retry_initial: 10s, retry_max: 5m, give_up_after: 30m}");
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        var created = s.Time.GetUtcNow();
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
            var row = await RowAsync(s, id);
            if (row.Status != OutboxStatus.Pending) break;
            waits.Add(row.NextAttemptAt!.Value - s.Time.GetUtcNow());
            s.Time.SetUtcNow(row.NextAttemptAt.Value);
        }
        var final = await RowAsync(s, id);
        Assert.Equal(OutboxStatus.Failed, final.Status);
        Assert.Contains("gave up after", final.LastError, StringComparison.Ordinal);
        Assert.True(s.Time.GetUtcNow() - created <= TimeSpan.FromMinutes(30));
        // Each wait is within [d/2, d] of d = 10s * 2^(n-1), capped at 5m.
        for (var n = 1; n <= waits.Count; n++)
        {
            var d = TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, n - 1)));
            Assert.InRange(waits[n - 1], d / 2 - TimeSpan.FromMilliseconds(1), d + TimeSpan.FromMilliseconds(1));
        }
        Assert.True(waits.Count >= 5, $"only {waits.Count} retries before giving up");
    }

    [Fact]
    public async Task Unconfigured_integrations_and_resolved_only_without_send_resolved_are_skipped_not_failed()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(false, [
            new ReceiverConfig("team", [new SlackConfig()], [new EmailConfig { To = "ops@example.org" }], [new PagerDutyConfig()], [new WebhookConfig { Url = hook.Url(), SendResolved = false }], [new MsTeamsV2Config()]),
        ]);
        var ids = new List<long>();
        foreach (var i in new[] { "slack_configs[0]", "email_configs[0]", "pagerduty_configs[0]", "msteamsv2_configs[0]" }) ids.Add(await EnqueueAsync(s, Item(s, "team", i)));
        var resolved = await EnqueueAsync(s, Item(s, "team", "webhook_configs[0]", Data("team", status: "resolved")));
        var missing = await EnqueueAsync(s, Item(s, "nobody", "webhook_configs[0]"));
        Assert.Equal(6, await s.Get<NotificationSender>().RunOnceAsync());
        foreach (var id in ids)
        {
            var d = await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None);
            Assert.Equal(OutboxStatus.Skipped, d.Item.Status);
            Assert.StartsWith("unconfigured: ", d.Item.LastError, StringComparison.Ordinal);
            Assert.Equal("skipped", Assert.Single(d.Attempts).Outcome);
        }
        Assert.Equal(OutboxStatus.Skipped, (await RowAsync(s, resolved)).Status);
        Assert.Equal(OutboxStatus.Failed, (await RowAsync(s, missing)).Status);
        Assert.Empty(hook.Requests);

        var info = ReceiverInfo.List(s.Get<IReceiverSource>());
        Assert.Equal(["email_configs[0]", "msteamsv2_configs[0]", "pagerduty_configs[0]", "slack_configs[0]"],
            info.Where(i => !i.Configured).Select(i => i.Integration).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_lease_held_by_a_sender_that_died_is_taken_over_when_it_runs_out()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(false, [Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        // A sender claimed the row and died before recording (the at-least-once window).
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        await s.Get<Db>().WriteAsync((c, tx) => c.ExecuteAsync("UPDATE notification_outbox SET lease_owner = 'dead', lease_until = @u WHERE id = @id",
            new { u = now + 120_000, id }, tx));
        Assert.Equal(0, await s.Get<NotificationSender>().RunOnceAsync());
        s.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Single(hook.Requests);
        Assert.Equal(OutboxStatus.Delivered, (await RowAsync(s, id)).Status);
    }

    [Fact]
    public async Task Quick_HTTP_retries_of_the_resilience_pipeline_are_each_recorded_as_an_attempt()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        var calls = 0;
        hook.Respond = _ => Interlocked.Increment(ref calls) == 1 ? (503, "busy", null) : (200, "ok", null);
        await using var s = await StartAsync(false, [Receiver("ops", new WebhookConfig { Url = hook.Url() })],
            notifications: "notifications: {http_retries: 2, http_retry_delay: 1s}");
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        var run = s.Get<NotificationSender>().RunOnceAsync();
        // The pipeline waits on the injected clock: move it on until the pass ends (bounded).
        for (var i = 0; i < 500 && !run.IsCompleted; i++)
        {
            s.Time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.WhenAny(run, Task.Delay(10));
        }
        Assert.Equal(1, await run);
        var d = await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None);
        Assert.Equal(OutboxStatus.Delivered, d.Item.Status);
        Assert.Equal([("retry", (int?)503), ("delivered", (int?)200)], d.Attempts.Select(a => (a.Outcome, a.StatusCode)));
        Assert.Equal(2, d.Item.Attempts);
        Assert.Equal(2, hook.Requests.Count);
    }
}
