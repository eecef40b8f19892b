using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Server.Alerting;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Tests.Notifications;
using static Watchkeeper.Server.Tests.Notifications.NotifyFixture;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// The start-up warm-up of the alert path (Alerting/AlertPathWarmup.cs): a round runs the real code on a synthetic
/// alert (and hot rounds post batches of them) and leaves nothing behind: no alert, group, log entry, outbox row, attempt or lease, nothing sent to any
/// receiver, and a real pending notification goes out once as usual afterwards.
/// </summary>
public sealed class AlertPathWarmupTests
{
    public static TheoryData<bool> Providers => new() { false, true };

    private static Task<(long Nflog, long Outbox, long Attempts, long Audit)> CountsAsync(TestServer s) => s.Get<Db>().ReadAsync(async c => (
        await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM alert_nflog"),
        await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notification_outbox"),
        await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notification_attempts"),
        await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_log")));

    [Theory, MemberData(nameof(Providers))]
    public async Task A_round_runs_the_whole_path_and_keeps_and_sends_nothing(bool postgres)
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        await using var s = await StartAsync(postgres, [Receiver("ops", new WebhookConfig { Url = hook.Url() })]);
        var id = await EnqueueAsync(s, Item(s, "ops", "webhook_configs[0]"));
        var before = await CountsAsync(s);
        var engine = s.Get<AlertingEngine>();
        var alertsBefore = engine.Store.Count;
        var groupsBefore = engine.Groups().Count;

        using var self = new HttpClient();
        for (var round = 0; round < AlertPathWarmup.FullRounds + 1; round++)
        {
            // The shipped route sends the synthetic alert somewhere: the private dispatcher produced a notification.
            Assert.True(await s.Get<AlertPathWarmup>().RunRoundAsync(round, round == 0 ? self : null, CancellationToken.None) > 0);
        }
        // Hot rounds: batches through the endpoint's handler into a private engine, and to the server itself (answered 401).
        for (var round = 0; round < 3; round++) await s.Get<AlertPathWarmup>().RunHotRoundAsync(round, self, CancellationToken.None);
        var (hot, _) = await s.Get<AlertPathWarmup>().SettleAsync(null, CancellationToken.None);
        Assert.True(hot >= 1);

        Assert.Empty(hook.Requests);
        Assert.Equal(before, await CountsAsync(s));
        Assert.Equal(alertsBefore, engine.Store.Count);
        Assert.Equal(groupsBefore, engine.Groups().Count);
        Assert.DoesNotContain(engine.Store.Snapshot(), a => a.Labels.GetValueOrDefault("alertname") == "WatchkeeperWarmUp");
        var lease = await s.Get<Db>().ReadAsync(c => c.ExecuteScalarAsync<string?>("SELECT lease_owner FROM notification_outbox WHERE id = @id", new { id }));
        Assert.Null(lease);
        Assert.Equal((OutboxStatus.Pending, 0), ((await RowAsync(s, id)).Status, (await RowAsync(s, id)).Attempts));

        // The real notification is untouched and goes out once.
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        Assert.Single(hook.Requests);
        Assert.Equal(OutboxStatus.Delivered, (await RowAsync(s, id)).Status);
    }

    [Fact]
    public async Task The_server_process_reports_ready_after_the_warm_up_and_holds_no_warm_up_alert()
    {
        var root = Directory.CreateTempSubdirectory("wk-warmup-").FullName;
        try
        {
            var config = TestServer.CopyConfig(root);
            // ChildServer.StartAsync returns once /-/ready answers 200.
            await using var server = await ChildServer.StartAsync(config, Path.Combine(root, "data"), "warm-up-test-pw", alertWarmup: true);
            Assert.Contains("Alert path warmed up", server.Output, StringComparison.Ordinal);
            using var anon = server.Client();
            var token = (await anon.Post("/api/v1/auth/login", new { username = "admin", password = "warm-up-test-pw" })).Str("token");
            using var c = server.Client(token);
            using var alerts = await c.GetAsync("/alertmanager/api/v2/alerts", TestContext.Current.CancellationToken);
            var body = await alerts.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, alerts.StatusCode);
            Assert.DoesNotContain("WatchkeeperWarmUp", body, StringComparison.Ordinal);
            // The warm-up's refused self-calls are not logged one line each.
            Assert.DoesNotContain("Token was not authenticated", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task Ready_waits_for_the_first_round_and_the_flag_turns_the_warm_up_off()
    {
        Assert.True(new ServeOptions().AlertWarmup);
        Assert.False(ServeOptions.Parse(["serve", "--alert-warmup=false"]).AlertWarmup);
        Assert.True(ServeOptions.Parse(["--alert-warmup", "true"]).AlertWarmup);
        Assert.Throws<ArgumentException>(() => ServeOptions.Parse(["--alert-warmup=maybe"]));

        // Off (as in TestServer): the first round counts as done at once and /-/ready answers 200.
        await using var s = await TestServer.StartAsync();
        Assert.True(s.Get<AlertPathWarmup>().FirstRound.IsCompletedSuccessfully);
        using var anon = s.Client();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await anon.GetAsync("/-/ready")).StatusCode);
    }
}
