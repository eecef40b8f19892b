using System.Globalization;
using Dapper;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Maintenance;

/// <summary>
/// Every <c>maintenance.check_interval</c> on the leader: announces occurrences that enter their notice period
/// (creating their run in <c>preparing</c>) and cancels runs whose window ended without being started.
/// </summary>
public sealed class MaintenanceWorker(MaintenanceRuns runs, ConfigHolder config, TimeProvider time, ILeadership leadership, ILogger<MaintenanceWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (leadership.IsLeader) await runs.TickAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Maintenance pass failed");
            }
            try
            {
                await Task.Delay(config.Current.Maintenance.CheckInterval.Value, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>The status page's view of maintenance: runs announced or running, from the database.</summary>
public sealed class MaintenanceStatusSource(Db db, ConfigHolder config) : IStatusMaintenanceSource
{
    public Task<string> MarkAsync(CancellationToken ct) => db.ReadAsync(async c =>
    {
        var (max, count) = await c.QuerySingleAsync<(long, long)>(new CommandDefinition(
            "SELECT COALESCE(MAX(updated_at), 0), COUNT(*) FROM maintenance_runs", cancellationToken: ct));
        return string.Create(CultureInfo.InvariantCulture, $"m{max}/{count}");
    }, ct);

    public async Task<IReadOnlyList<PublicMaintenance>> ReadAsync(CancellationToken ct)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<RunRow>(new CommandDefinition("""
            SELECT * FROM maintenance_runs WHERE state IN ('scheduled', 'preparing', 'in_progress', 'validating') ORDER BY occurrence_start, id LIMIT 50
            """, cancellationToken: ct)), ct);
        var list = new List<PublicMaintenance>();
        foreach (var r in rows)
        {
            var start = DateTimeOffset.FromUnixTimeMilliseconds(r.OccurrenceStart);
            var end = DateTimeOffset.FromUnixTimeMilliseconds(r.OccurrenceEnd);
            var status = RunState.Running(r.State) ? RunState.InProgress : "scheduled";
            list.Add(new PublicMaintenance(r.Id, r.Title, r.State, MaintenanceNotifier.Body(status, r.Description, start, end), start, end,
                MaintenanceWindowDef.StatusComponents(config.Current, r.ComponentList), DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedAt)));
        }
        return list;
    }
}
