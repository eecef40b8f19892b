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
        services.AddSingleton(sp => new AlertingStore(sp.GetRequiredService<Db>(), sp.GetService<INotificationOutbox>()));
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
        app.MapAlertingUi();
    }
}

/// <summary>
/// Drives the dispatcher's group timers (flushes groups as they fall due) and garbage-collects resolved alerts,
/// expired silences and old notification-log entries. Without a notification outbox (Server/Notifications) groups
/// are kept but not flushed, so nothing is recorded as notified that was never queued.
/// </summary>
public sealed class AlertingWorker(AlertingEngine engine, AlertingStore store, TimeProvider time, ILogger<AlertingWorker> log) : BackgroundService
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan GcEvery = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!store.HasOutbox) log.LogWarning("No notification outbox is installed: alerts are grouped but no notification is sent");
        var nextGc = time.GetUtcNow() + GcEvery;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the flush: an alert received during it still wakes the next wait.
            var groupDue = engine.GroupDue;
            try
            {
                if (store.HasOutbox) await engine.FlushDueAsync(stoppingToken);
                if (time.GetUtcNow() >= nextGc)
                {
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
                log.LogError(ex, "Alert dispatch failed; retrying");
            }
            var now = time.GetUtcNow();
            var wait = engine.Dispatcher?.NextDue is { } due ? due - now : MaxWait;
            wait = wait < TimeSpan.FromMilliseconds(5) ? TimeSpan.FromMilliseconds(5) : wait > MaxWait ? MaxWait : wait;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            await Task.WhenAny(Task.Delay(wait, time, wake.Token), groupDue);
            await wake.CancelAsync();
            if (stoppingToken.IsCancellationRequested) return;
        }
    }
}
