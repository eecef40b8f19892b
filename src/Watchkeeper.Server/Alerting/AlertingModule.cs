using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Server.Alerting.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>Alertmanager's core hosted in the server: alert store, silences, dispatcher, API v2 under /alertmanager.</summary>
public static class AlertingModule
{
    public static void AddAlerting(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(sp => new AlertingStore(sp.GetRequiredService<Db>(), sp.GetService<INotificationOutbox>(), sp.GetService<AuditLog>()));
        services.AddSingleton(sp => new AlertStore(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new SilenceBook(sp.GetRequiredService<AlertingStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var config = sp.GetRequiredService<ConfigHolder>();
            var engine = new AlertingEngine(sp.GetRequiredService<AlertStore>(), sp.GetRequiredService<SilenceBook>(), sp.GetRequiredService<AlertingStore>(),
                sp.GetRequiredService<TimeProvider>(), config.Current.Server.Absolute("/alertmanager"));
            // Silences and the notification log are read before the first request is served (the schema is migrated by then).
            engine.StartAsync(config.Current.Alertmanager, CancellationToken.None).GetAwaiter().GetResult();
            config.Reloaded += c => engine.ApplyConfigAsync(c.Alertmanager, CancellationToken.None).GetAwaiter().GetResult();
            return engine;
        });
        // The rule evaluator's alerts (IAlertSink from Metrics/Rules) are received in process.
        services.AddSingleton<Watchkeeper.Metrics.Rules.IAlertSink, AlertmanagerAlertSink>();
        services.AddHostedService<AlertingWorker>();
        services.AddSingleton<AlertPathWarmup>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertPathWarmup>());
        services.AddAlertingUi();
    }

    public static void MapAlerting(this WebApplication app)
    {
        var engine = app.Services.GetRequiredService<AlertingEngine>();
        // Alertmanager's alertmanager_alerts (summed over states) and alertmanager_dispatcher_aggregation_groups.
        app.Services.GetRequiredService<SelfMetrics>().AddCollector((w, _) =>
        {
            w.Header("watchkeeper_alerts", "Alerts held by the alert store (active, suppressed and unprocessed).", "gauge");
            w.Sample("watchkeeper_alerts", [], [], engine.Store.Count);
            w.Header("watchkeeper_dispatcher_aggregation_groups", "Aggregation groups held by the dispatcher.", "gauge");
            w.Sample("watchkeeper_dispatcher_aggregation_groups", [], [], engine.Dispatcher?.GroupCount ?? 0);
            return Task.CompletedTask;
        });
        app.MapAlertmanagerApi();
        app.MapAlertAckApi();
        app.MapAlertingUi();
    }
}

/// <summary>
/// Drives the dispatcher's group timers (flushes groups as they fall due) and garbage-collects resolved alerts,
/// expired silences and old notification-log entries. Without a notification outbox (Server/Notifications) groups
/// are kept but not flushed, so nothing is recorded as notified that was never queued.
/// <para>
/// Flushing is singleton work: only the replica holding the leader lease (<see cref="ILeadership"/>) flushes. A
/// follower keeps receiving alerts through the API and grouping them (so it can take over), drops resolved alerts
/// from its groups as a flush would, and re-reads the shared silences every <see cref="SyncEvery"/>. A replica that
/// becomes the leader first re-reads the silences and the notification log the previous leader wrote, then flushes:
/// groups the old leader already notified are not notified again unless they changed.
/// </para>
/// </summary>
public sealed class AlertingWorker(AlertingEngine engine, AlertingStore store, ILeadership leadership, TimeProvider time, ILogger<AlertingWorker> log)
    : BackgroundService
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan GcEvery = TimeSpan.FromMinutes(1);

    /// <summary>How often a replica sharing the database with others re-reads the silences.</summary>
    public static readonly TimeSpan SyncEvery = TimeSpan.FromSeconds(5);

    /// <summary>How long past its group_interval a follower keeps a resolved alert in its groups.</summary>
    public static readonly TimeSpan FollowerKeepsResolved = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!store.HasOutbox) log.LogWarning("No notification outbox is installed: alerts are grouped but no notification is sent");
        var shared = leadership is not SingleProcessLeadership;
        var nextGc = time.GetUtcNow() + GcEvery;
        var nextSync = time.GetUtcNow() + SyncEvery;
        // The engine read the shared state when it was built; a replica leading from the start flushes at once.
        var led = leadership.IsLeader;
        while (!stoppingToken.IsCancellationRequested)
        {
            var leads = leadership.IsLeader;
            // Taken before the flush: an alert received during it still wakes the next wait.
            var groupDue = engine.GroupDue;
            try
            {
                if (leads && !led)
                {
                    await engine.ResumeAsLeaderAsync(stoppingToken);
                    log.LogInformation("Alert dispatch: this replica leads; group timers started");
                    nextSync = time.GetUtcNow() + SyncEvery;
                }
                else if (!leads && led) log.LogInformation("Alert dispatch: this replica follows; group timers stopped");
                led = leads;
                if (leads && store.HasOutbox) await engine.FlushDueAsync(stoppingToken);
                if (shared && time.GetUtcNow() >= nextSync)
                {
                    await engine.Silences.SyncAsync(stoppingToken);
                    nextSync = time.GetUtcNow() + SyncEvery;
                }
                if (time.GetUtcNow() >= nextGc)
                {
                    if (!leads) engine.DropResolved(FollowerKeepsResolved);
                    await engine.GcAsync(stoppingToken);
                    nextGc = time.GetUtcNow() + GcEvery;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A failed resume leaves `led` false: the next pass resumes again before flushing.
                log.LogError(ex, "Alert dispatch failed; retrying");
            }
            var now = time.GetUtcNow();
            var wait = leads && engine.Dispatcher?.NextDue is { } due ? due - now : MaxWait;
            wait = wait < TimeSpan.FromMilliseconds(5) ? TimeSpan.FromMilliseconds(5) : wait > MaxWait ? MaxWait : wait;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            // A leader wakes when a group falls due; a follower when it gains the lease (or to collect garbage).
            await Task.WhenAny(Task.Delay(wait, time, wake.Token), leads ? groupDue : leadership.WaitForLeadershipAsync(wake.Token));
            await wake.CancelAsync();
            if (stoppingToken.IsCancellationRequested) return;
        }
    }
}
