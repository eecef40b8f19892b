namespace Watchkeeper.Server.Platform;

/// <summary>Renews the PostgreSQL leader lease every <c>storage.postgres.lease_interval</c> (on the injected clock).</summary>
public sealed class LeaseWorker(ILeadership leadership, ConfigHolder config, TimeProvider time, ILogger<LeaseWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (leadership is not PostgresLease lease) return;
        var interval = config.Current.Storage.Postgres?.LeaseInterval.Value ?? TimeSpan.FromSeconds(5);
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                await lease.RenewAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Leader lease renewal failed");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Release at shutdown so another replica takes over at its next renewal instead of after a session timeout.
        if (leadership is PostgresLease lease) await lease.DisposeAsync();
    }
}

public static class LeadershipModule
{
    /// <summary>Registers <see cref="ILeadership"/>: a PostgreSQL lease with <c>storage.postgres</c>, else always the leader.</summary>
    public static void AddLeadership(this IServiceCollection services)
    {
        services.AddSingleton<ILeadership>(sp =>
        {
            var cfg = sp.GetRequiredService<ConfigHolder>().Current.Storage.Postgres;
            ILeadership l = cfg is null
                ? new SingleProcessLeadership()
                : new PostgresLease(cfg.ConnectionString, cfg.LeaseInterval.Value, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Watchkeeper.Lease"),
                    sp.GetRequiredService<TimeProvider>());
            var metrics = sp.GetRequiredService<SelfMetrics>();
            var changes = metrics.Counter("watchkeeper_leader_changes_total", "Times this replica gained or lost leadership of the singleton work.");
            l.Changed += _ => changes.Inc();
            metrics.AddCollector((w, _) =>
            {
                w.Header("watchkeeper_leader", "Whether this replica leads the singleton work (rule evaluation, group timers, escalations, notification dispatch): 1 or 0.", "gauge");
                w.Sample("watchkeeper_leader", [], [], l.IsLeader ? 1 : 0);
                return Task.CompletedTask;
            });
            return l;
        });
        services.AddHostedService<LeaseWorker>();
    }
}
