using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Uptime;

/// <summary>A service, or one component of it ("" for the whole service), that has availability roll-ups.</summary>
public sealed record UptimeKey(string Service, string Component);

/// <summary>One hour or day: probe results and <c>up</c> samples that were good, of all taken.</summary>
public sealed record UptimeBucket(DateTimeOffset Start, long OkSamples, long TotalSamples)
{
    /// <summary>Good samples over all samples, 0..1; null when there were none (no data, not downtime).</summary>
    public double? Availability => TotalSamples == 0 ? null : (double)OkSamples / TotalSamples;
}

/// <summary>Availability over a window against the target, and the error budget left.</summary>
public sealed record UptimeSummary(
    string Service, string Component, DateTimeOffset From, DateTimeOffset To, long OkSamples, long TotalSamples,
    double? AvailabilityPercent, double TargetPercent, double BudgetMinutes, double? BudgetRemainingMinutes, double? BudgetRemainingPercent,
    bool? MeetsTarget);

/// <summary>
/// Reads the availability roll-ups (kept at least 400 days whatever the TSDB keeps). Stable for other features: the
/// status page draws its 90-day bars from <see cref="DailyAsync"/>, the reports page and <c>wk report uptime</c> use
/// <see cref="SummaryAsync"/>. Days are UTC days.
/// </summary>
public interface IUptimeQuery
{
    /// <summary>The target from configuration (the seed's 99.9), in percent.</summary>
    double TargetPercent { get; }

    /// <summary>Every service and component with roll-ups, services first ("" component).</summary>
    Task<IReadOnlyList<UptimeKey>> KeysAsync(CancellationToken ct = default);

    /// <summary>One bucket per UTC day from <paramref name="from"/> to <paramref name="to"/> inclusive; days without data have 0 samples.</summary>
    Task<IReadOnlyList<UptimeBucket>> DailyAsync(string service, string? component, DateOnly from, DateOnly to, CancellationToken ct = default);

    /// <summary>The hourly buckets with data in [from, to).</summary>
    Task<IReadOnlyList<UptimeBucket>> HourlyAsync(string service, string? component, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default);

    /// <summary>Availability over the <paramref name="days"/> UTC days ending today (today so far included), against the target.</summary>
    Task<UptimeSummary> SummaryAsync(string service, string? component, int days, CancellationToken ct = default);
}

public sealed class UptimeQuery(Db db, ConfigHolder config, TimeProvider time) : IUptimeQuery
{
    public double TargetPercent => config.Current.Uptime.Target;

    public async Task<IReadOnlyList<UptimeKey>> KeysAsync(CancellationToken ct = default)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<KeyRow>(new CommandDefinition(
            "SELECT DISTINCT service, component FROM uptime_rollups WHERE granularity = 'day' ORDER BY service, component", cancellationToken: ct)), ct);
        return [.. rows.Select(r => new UptimeKey(r.Service, r.Component))];
    }

    public async Task<IReadOnlyList<UptimeBucket>> DailyAsync(string service, string? component, DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        if (to < from) return [];
        var start = Day(from);
        var end = Day(to.AddDays(1));
        var rows = (await Read("day", service, component, start, end, ct)).ToDictionary(r => r.BucketStart);
        var list = new List<UptimeBucket>(to.DayNumber - from.DayNumber + 1);
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            var t = Day(d);
            list.Add(rows.TryGetValue(t.ToUnixTimeMilliseconds(), out var r) ? new UptimeBucket(t, r.OkSamples, r.TotalSamples) : new UptimeBucket(t, 0, 0));
        }
        return list;
    }

    public async Task<IReadOnlyList<UptimeBucket>> HourlyAsync(string service, string? component, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default) =>
        [.. (await Read("hour", service, component, from, to, ct)).Select(r => new UptimeBucket(DateTimeOffset.FromUnixTimeMilliseconds(r.BucketStart), r.OkSamples, r.TotalSamples))];

    public async Task<UptimeSummary> SummaryAsync(string service, string? component, int days, CancellationToken ct = default)
    {
        if (days is < 1 or > 400) throw new ValidationException("days", "must be between 1 and 400");
        var now = time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var from = today.AddDays(-(days - 1));
        var rows = await Read("day", service, component, Day(from), Day(today.AddDays(1)), ct);
        long ok = rows.Sum(r => r.OkSamples), total = rows.Sum(r => r.TotalSamples);
        return Summarise(service, component ?? "", Day(from), now, ok, total, TargetPercent, TimeSpan.FromDays(days));
    }

    /// <summary>
    /// The error budget: (100 - target)% of the window is allowed to be bad. Remaining = allowed minus the bad share
    /// measured (bad samples over all samples, applied to the whole window); negative when the budget is overspent.
    /// </summary>
    public static UptimeSummary Summarise(string service, string component, DateTimeOffset from, DateTimeOffset to, long ok, long total, double target, TimeSpan window)
    {
        var budget = (100 - target) / 100 * window.TotalMinutes;
        if (total == 0) return new UptimeSummary(service, component, from, to, ok, total, null, target, budget, null, null, null);
        var availability = 100.0 * ok / total;
        var bad = (100 - availability) / 100 * window.TotalMinutes;
        var remaining = budget - bad;
        return new UptimeSummary(service, component, from, to, ok, total, availability, target, budget, remaining,
            budget > 0 ? 100 * remaining / budget : null, availability >= target);
    }

    private static DateTimeOffset Day(DateOnly d) => new(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private sealed class KeyRow
    {
        public string Service { get; set; } = "";
        public string Component { get; set; } = "";
    }

    private sealed class Row
    {
        public long BucketStart { get; set; }
        public long OkSamples { get; set; }
        public long TotalSamples { get; set; }
    }

    private async Task<IReadOnlyList<Row>> Read(string granularity, string service, string? component, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        (await db.ReadAsync(c => c.QueryAsync<Row>(new CommandDefinition(
            "SELECT bucket_start, ok_samples, total_samples FROM uptime_rollups WHERE granularity = @granularity AND service = @service AND component = @component "
            + "AND bucket_start >= @from AND bucket_start < @to ORDER BY bucket_start",
            new { granularity, service, component = component ?? "", from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds() },
            cancellationToken: ct)), ct)).AsList();
}
