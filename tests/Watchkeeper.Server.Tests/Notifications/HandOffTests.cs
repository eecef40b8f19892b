using System.Diagnostics;
using Dapper;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;
using static Watchkeeper.Server.Tests.Notifications.NotifyFixture;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>
/// The outbox hands a committed notification straight to this process's sender when it may send (no claim, no JSON
/// round trip), inserted already leased to it; never past an older pending notification of the same group, and a
/// lease left by an earlier process on SQLite is released when the sender starts.
/// </summary>
public sealed class HandOffTests
{
    public static TheoryData<bool> Providers => new() { false, true };

    private static async Task UntilAsync(Func<Task<bool>> done, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!await done())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail("timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    private static Task<string?> LeaseAsync(TestServer s, long id) =>
        s.Get<Db>().ReadAsync(c => c.ExecuteScalarAsync<string?>("SELECT lease_owner FROM notification_outbox WHERE id = @id", new { id }));

    [Theory, MemberData(nameof(Providers))]
    public async Task A_committed_notification_goes_to_the_running_sender_directly_and_once(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        var sender = s.Get<NotificationSender>();
        sender.MayRun = () => true;

        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]", Data("ops", alerts: 2)));
        await UntilAsync(async () => (await RowAsync(s, id)).Status == OutboxStatus.Delivered, "the direct delivery");

        var r = Assert.Single(hook.Requests);
        WebhookFormat.AssertVersion4(r.Json, expectedAlerts: 2, truncated: 0);
        var d = await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None);
        Assert.Equal(("delivered", (int?)200, sender.Id), (Assert.Single(d.Attempts).Outcome, d.Attempts[0].StatusCode, d.Attempts[0].Sender));
        Assert.Null(await LeaseAsync(s, id));
        Assert.Equal(0, await sender.RunOnceAsync());
        Assert.Single(hook.Requests);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task A_notification_behind_an_older_pending_one_of_its_group_is_not_handed_over(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url(), SendResolved = true })]);
        var sender = s.Get<NotificationSender>();
        var first = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));        // the sender may not send yet: not handed over
        Assert.Null(await LeaseAsync(s, first));
        sender.MayRun = () => true;
        var second = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]", Data("ops", status: "resolved")));

        // Decided in the enqueue's transaction: an older one of the group is pending, so this one waits for a claim.
        Assert.Null(await LeaseAsync(s, second));
        await UntilAsync(async () =>
        {
            await sender.RunOnceAsync();    // the background pass (woken by the commit) and these claim in turn, never the same row
            return (await RowAsync(s, second)).Status == OutboxStatus.Delivered;
        }, "both notifications");
        Assert.Equal(OutboxStatus.Delivered, (await RowAsync(s, first)).Status);
        Assert.Equal(["firing", "resolved"], hook.Requests.Select(x => x.Json.GetProperty("status").GetString()!).ToArray());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Leases_of_an_earlier_process_are_released_at_start_on_sqlite_only(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        var until = (s.Time.GetUtcNow() + TimeSpan.FromMinutes(2)).ToUnixTimeMilliseconds();
        await s.Get<Db>().WriteAsync((c, tx) => c.ExecuteAsync(
            "UPDATE notification_outbox SET lease_owner = 'host/4242/dead', lease_until = @until WHERE id = @id", new { until, id }, tx));

        var released = await s.Get<NotificationSender>().ReleaseStaleLocalLeasesAsync(CancellationToken.None);

        // SQLite has one server process: the lease is left over and released. PostgreSQL may have another replica holding it.
        Assert.Equal(postgres ? 0 : 1, released);
        Assert.Equal(postgres ? "host/4242/dead" : null, await LeaseAsync(s, id));
        Assert.Equal(postgres ? 0 : 1, await s.Get<NotificationSender>().RunOnceAsync());
    }
}
