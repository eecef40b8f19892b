using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>Shared by the notification tests (server and CLI): template data, receivers, a server whose sender the test drives.</summary>
public static class NotifyFixture
{
    public static TemplateData Data(string receiver = "ops", string status = "firing", int alerts = 1, string alertname = "ServiceDown") => new(
        receiver, status,
        [.. Enumerable.Range(0, alerts).Select(i => new TemplateAlert(status,
            new Dictionary<string, string> { ["alertname"] = alertname, ["job"] = "api-service", ["severity"] = "critical", ["instance"] = $"host-{i}:8080" },
            new Dictionary<string, string> { ["summary"] = $"Service api-service is down on host-{i}", ["description"] = "down for more than 1 minute" },
            new DateTimeOffset(2026, 11, 2, 8, 59, 0, TimeSpan.Zero), status == "resolved" ? new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero) : null,
            "http://prom.example/graph?g0.expr=up", (0x1234abcd5678ef00UL + (ulong)i).ToString("x16")))],
        new Dictionary<string, string> { ["alertname"] = alertname },
        new Dictionary<string, string> { ["alertname"] = alertname, ["job"] = "api-service", ["severity"] = "critical" },
        new Dictionary<string, string> { ["description"] = "down for more than 1 minute" },
        "http://watchkeeper.example", "{}:{alertname=\"" + alertname + "\"}");

    public static ReceiverConfig Receiver(string name, IntegrationConfig c) => new(name,
        c is SlackConfig s ? [s] : [], c is EmailConfig e ? [e] : [], c is PagerDutyConfig p ? [p] : [], c is WebhookConfig w ? [w] : [], c is MsTeamsV2Config t ? [t] : []);

    /// <summary>A server whose receivers are <paramref name="receivers"/>; its background sender is held so the test drives each pass.</summary>
    public static async Task<TestServer> StartAsync(bool postgres, IReadOnlyList<ReceiverConfig> receivers, string? dataDir = null, string? pgDatabase = null,
        string notifications = "notifications: {http_retries: 0, retry_initial: 10s, retry_max: 5m, give_up_after: 1h}")
    {
        TestServer.SkipUnlessAvailable(postgres);
        var s = await TestServer.StartAsync(postgres, y => y + "\n" + notifications + "\n", dataDir: dataDir, pgDatabase: pgDatabase,
            configure: b =>
            {
                b.Services.AddSingleton<IReceiverSource>(new StaticReceivers(receivers));
                // Only the test's own notifications in the outbox: the dispatcher (shipped route, rule alerts) stays idle.
                foreach (var d in b.Services.Where(d => d.ImplementationType == typeof(Watchkeeper.Server.Alerting.AlertingWorker)).ToList()) b.Services.Remove(d);
            });
        s.Get<NotificationSender>().MayRun = () => false;
        return s;
    }

    public static async Task<long> EnqueueAsync(TestServer s, OutboxItem item, bool commit = true)
    {
        var db = s.Get<Db>();
        var outbox = s.Get<INotificationOutbox>();
        if (commit) return await db.WriteAsync((c, tx) => outbox.EnqueueAsync(c, tx, item, CancellationToken.None));
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        var id = await outbox.EnqueueAsync(c, tx, item, CancellationToken.None);
        await tx.RollbackAsync();
        return id;
    }

    public static OutboxItem Item(TestServer s, string receiver, string integration, TemplateData? data = null, string? dedup = null) =>
        new(receiver, integration, (data ?? Data(receiver)).GroupKey, data ?? Data(receiver), s.Time.GetUtcNow(), dedup);

    public static async Task<OutboxItemView> RowAsync(TestServer s, long id) => (await s.Get<NotificationQueries>().GetAsync(id, CancellationToken.None)).Item;
}
