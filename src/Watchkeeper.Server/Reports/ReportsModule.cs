using System.Globalization;
using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Reports.Ui;

namespace Watchkeeper.Server.Reports;

public sealed record SeverityReport(
    string Severity, long Incidents, long Resolved, long Open,
    double? MttaSeconds, double? MttrSeconds, double ResponseTargetSeconds, double ResolutionTargetSeconds,
    long ResponseBreaches, long ResolutionBreaches, double? ResponseMetPercent, double? ResolutionMetPercent);

public sealed record TrendPoint(DateTimeOffset Start, long Incidents, IReadOnlyDictionary<string, long> BySeverity);

public sealed record IncidentReport(DateTimeOffset From, DateTimeOffset To, string Bucket, long Total, IReadOnlyList<SeverityReport> BySeverity,
    IReadOnlyList<TrendPoint> Trend, double? PreviousPeriodTotal);

/// <summary>MTTA/MTTR by severity against the matrix targets, SLA breach counts, counts and trend.</summary>
public sealed class IncidentReports(Db db, ConfigHolder config, TimeProvider time)
{
    public async Task<IncidentReport> BuildAsync(DateTimeOffset? from, DateTimeOffset? to, string? bucket, CancellationToken ct = default)
    {
        var end = to ?? time.GetUtcNow();
        var start = from ?? end.AddDays(-30);
        if (end <= start) throw new ValidationException("to", "must be after from");
        if (end - start > TimeSpan.FromDays(3660)) throw new ValidationException("from", "period is limited to 10 years");
        var b = (bucket ?? (end - start > TimeSpan.FromDays(90) ? "week" : "day")).ToLowerInvariant();
        var step = b switch
        {
            "hour" => TimeSpan.FromHours(1),
            "day" => TimeSpan.FromDays(1),
            "week" => TimeSpan.FromDays(7),
            _ => throw new ValidationException("bucket", $"'{bucket}' is not one of hour, day, week"),
        };
        if ((end - start) / step > 5000) throw new ValidationException("bucket", "too many buckets for this period; use a coarser bucket");
        var s = start.ToUnixTimeMilliseconds();
        var e = end.ToUnixTimeMilliseconds();
        var rows = (await db.ReadAsync(c => c.QueryAsync<IncidentRow>(
            new CommandDefinition("SELECT * FROM incidents WHERE detected_at >= @s AND detected_at < @e", new { s, e }, cancellationToken: ct)), ct)).AsList();
        var breaches = (await db.ReadAsync(c => c.QueryAsync<SlaBreachRow>(new CommandDefinition(
            "SELECT b.* FROM sla_breaches b JOIN incidents i ON i.id = b.incident_id WHERE i.detected_at >= @s AND i.detected_at < @e", new { s, e },
            cancellationToken: ct)), ct)).AsList();
        var prevCount = await db.ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM incidents WHERE detected_at >= @ps AND detected_at < @s", new { ps = s - (e - s), s }, cancellationToken: ct)), ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        var bySev = new List<SeverityReport>();
        foreach (var sev in config.Current.Severities)
        {
            var list = rows.Where(r => r.Severity == sev.Id).ToList();
            var acked = list.Where(r => r.AcknowledgedAt is not null).Select(r => (r.AcknowledgedAt!.Value - r.DetectedAt) / 1000.0).ToList();
            var resolved = list.Where(r => r.ResolvedAt is not null).Select(r => (r.ResolvedAt!.Value - r.DetectedAt) / 1000.0).ToList();
            var rb = breaches.Count(x => x.Severity == sev.Id && x.Kind == "response");
            var zb = breaches.Count(x => x.Severity == sev.Id && x.Kind == "resolution");
            // "Met" counts incidents whose clock has stopped or run out: acknowledged (or past due) for response.
            var responseDecided = list.Count(r => r.AcknowledgedAt is not null || now > r.ResponseDueAt);
            var resolutionDecided = list.Count(r => r.ResolvedAt is not null || now > r.ResolutionDueAt);
            var responseMissed = list.Count(r => (r.AcknowledgedAt ?? now) > r.ResponseDueAt && (r.AcknowledgedAt is not null || now > r.ResponseDueAt));
            var resolutionMissed = list.Count(r => (r.ResolvedAt ?? now) > r.ResolutionDueAt && (r.ResolvedAt is not null || now > r.ResolutionDueAt));
            bySev.Add(new SeverityReport(sev.Id, list.Count, list.Count(r => r.ResolvedAt is not null), list.Count(r => r.ResolvedAt is null),
                acked.Count > 0 ? acked.Average() : null, resolved.Count > 0 ? resolved.Average() : null,
                sev.ResponseTime.Value.TotalSeconds, sev.ResolutionTime.Value.TotalSeconds, rb, zb,
                responseDecided > 0 ? 100.0 * (responseDecided - responseMissed) / responseDecided : null,
                resolutionDecided > 0 ? 100.0 * (resolutionDecided - resolutionMissed) / resolutionDecided : null));
        }

        // One pass over the incidents: each falls into bucket (detected - start) / step.
        var stepMs = (long)step.TotalMilliseconds;
        var buckets = (int)((e - s + stepMs - 1) / stepMs);
        var counts = new Dictionary<string, long>[buckets];
        for (var i = 0; i < buckets; i++) counts[i] = config.Current.Severities.ToDictionary(x => x.Id, _ => 0L);
        var totals = new long[buckets];
        foreach (var r in rows)
        {
            var i = (int)((r.DetectedAt - s) / stepMs);
            totals[i]++;
            if (counts[i].TryGetValue(r.Severity, out var n)) counts[i][r.Severity] = n + 1;
        }
        var trend = new List<TrendPoint>(buckets);
        for (var i = 0; i < buckets; i++) trend.Add(new TrendPoint(start + step * i, totals[i], counts[i]));
        return new IncidentReport(start, end, b, rows.Count, bySev, trend, prevCount);
    }
}

public static class ReportsModule
{
    public static void AddReports(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IncidentReports>();
        builder.Services.AddReportPages();
    }

    public static void MapReports(this WebApplication app)
    {
        app.MapGet("/api/v1/reports/incidents", async (IncidentReports r, string? from, string? to, string? bucket, CancellationToken ct) =>
                TypedResults.Ok(await r.BuildAsync(IncidentsModule.ParseTime(from, "from"), IncidentsModule.ParseTime(to, "to"), bucket, ct)))
            .ProducesValidationProblem().WithTags("reports").RequireAuthorization(Policies.Viewer);
    }

    public static string Seconds(double? s) => s is null ? "–" : Duration.Format(TimeSpan.FromSeconds(Math.Round(s.Value)));
    public static string Percent(double? p) => p is null ? "–" : p.Value.ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
