using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Maintenance;

public sealed record MaintenanceRunSummary(long Id, string WindowId, string Title, string State, DateTimeOffset Start, DateTimeOffset? FinishedAt);

/// <summary>
/// Maintenance success over a period against the operations manual's target (> 99%): runs that finished in the period,
/// completed ones counting as successes and rolled-back ones as failures. Cancelled runs never started and do not count.
/// </summary>
public sealed record MaintenanceReportView(DateTimeOffset From, DateTimeOffset To, long Finished, long Completed, long RolledBack, long Cancelled,
    double? SuccessPercent, double TargetPercent, bool? MeetsTarget, IReadOnlyList<MaintenanceRunSummary> Runs);

public sealed class MaintenanceReports(Db db, ConfigHolder config, TimeProvider time)
{
    public async Task<MaintenanceReportView> BuildAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        // Without an end, up to and including now (a run finished this millisecond counts).
        var end = to ?? time.GetUtcNow().AddMilliseconds(1);
        var start = from ?? end.AddDays(-90);
        if (end <= start) throw new ValidationException("to", "must be after from");
        if (end - start > TimeSpan.FromDays(3660)) throw new ValidationException("from", "period is limited to 10 years");
        var rows = (await db.ReadAsync(c => c.QueryAsync<(long Id, string WindowId, string Title, string State, long Start, long? Finished)>(new CommandDefinition("""
            SELECT id, window_id, title, state, occurrence_start, finished_at FROM maintenance_runs
            WHERE finished_at >= @s AND finished_at < @e ORDER BY finished_at DESC, id DESC LIMIT 5000
            """, new { s = start.ToUnixTimeMilliseconds(), e = end.ToUnixTimeMilliseconds() }, cancellationToken: ct)), ct)).AsList();
        long completed = rows.Count(r => r.State == RunState.Completed), rolled = rows.Count(r => r.State == RunState.RolledBack), cancelled = rows.Count(r => r.State == RunState.Cancelled);
        double? percent = completed + rolled == 0 ? null : 100.0 * completed / (completed + rolled);
        var target = config.Current.Maintenance.SuccessTarget;
        return new MaintenanceReportView(start, end, completed + rolled, completed, rolled, cancelled, percent, target,
            // The manual's criterion is "> 99%": strictly above the target.
            percent is { } p ? p > target || (target >= 100 && p >= 100) : null,
            [.. rows.Select(r => new MaintenanceRunSummary(r.Id, r.WindowId, r.Title, r.State, DateTimeOffset.FromUnixTimeMilliseconds(r.Start),
                r.Finished is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null))]);
    }
}
