using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Uptime;

public sealed record UptimeDay(DateOnly Day, long OkSamples, long TotalSamples, double? AvailabilityPercent);

public sealed record UptimeReportRow(UptimeSummary Summary, IReadOnlyList<UptimeDay> Daily);

public sealed record UptimeReport(int Days, double TargetPercent, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<UptimeReportRow> Services);

/// <summary>The uptime report: every service (and its components) over the last N days against the target, with daily figures.</summary>
public sealed class UptimeReports(IUptimeQuery uptime, TimeProvider time)
{
    public async Task<UptimeReport> BuildAsync(string? service, int? days, CancellationToken ct)
    {
        var n = days ?? 30;
        if (n is < 1 or > 400) throw new ValidationException("days", "must be between 1 and 400");
        var keys = await uptime.KeysAsync(ct);
        if (service is { Length: > 0 })
        {
            keys = [.. keys.Where(k => k.Service == service)];
            if (keys.Count == 0) throw new NotFoundException($"no uptime data for service '{service}'");
        }
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var rows = new List<UptimeReportRow>();
        foreach (var k in keys)
        {
            var summary = await uptime.SummaryAsync(k.Service, k.Component, n, ct);
            var daily = await uptime.DailyAsync(k.Service, k.Component, today.AddDays(-(n - 1)), today, ct);
            rows.Add(new UptimeReportRow(summary, [.. daily.Select(d => new UptimeDay(DateOnly.FromDateTime(d.Start.UtcDateTime), d.OkSamples, d.TotalSamples,
                d.Availability * 100))]));
        }
        var from = new DateTimeOffset(today.AddDays(-(n - 1)).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return new UptimeReport(n, uptime.TargetPercent, from, time.GetUtcNow(), rows);
    }
}

public static class UptimeModule
{
    public static void AddUptime(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IUptimeQuery, UptimeQuery>();
        builder.Services.AddSingleton<UptimeRollup>();
        builder.Services.AddSingleton<UptimeReports>();
        builder.Services.AddHostedService<UptimeRollup.Worker>();
    }

    public static void MapUptime(this WebApplication app)
    {
        app.MapGet("/api/v1/reports/uptime", async (UptimeReports reports, string? service, string? days, CancellationToken ct) =>
            {
                int? n = null;
                if (days is { Length: > 0 })
                    n = int.TryParse(days, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var d)
                        ? d : throw new ValidationException("days", $"'{days}' is not a whole number of days");
                return TypedResults.Ok(await reports.BuildAsync(service, n, ct));
            })
            .ProducesValidationProblem().WithTags("reports").RequireAuthorization(Policies.Viewer);
    }
}
