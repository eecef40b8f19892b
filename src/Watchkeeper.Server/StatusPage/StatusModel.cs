namespace Watchkeeper.Server.StatusPage;

/// <summary>A component's level, with Statuspage's names (components.json <c>status</c>).</summary>
public static class StatusLevel
{
    public const string Operational = "operational";
    public const string DegradedPerformance = "degraded_performance";
    public const string PartialOutage = "partial_outage";
    public const string MajorOutage = "major_outage";
    public const string UnderMaintenance = "under_maintenance";

    /// <summary>The levels an alert or an incident can set, mildest first.</summary>
    public static readonly string[] Impacts = [DegradedPerformance, PartialOutage, MajorOutage];

    public static bool IsImpact(string level) => Impacts.Contains(level, StringComparer.Ordinal);

    /// <summary>Severity order: operational 0, under maintenance 1, degraded 2, partial 3, major 4.</summary>
    public static int Rank(string level) => level switch
    {
        UnderMaintenance => 1,
        DegradedPerformance => 2,
        PartialOutage => 3,
        MajorOutage => 4,
        _ => 0,
    };

    public static string Worst(string a, string b) => Rank(b) > Rank(a) ? b : a;

    public static string Title(string level) => level switch
    {
        DegradedPerformance => "Degraded performance",
        PartialOutage => "Partial outage",
        MajorOutage => "Major outage",
        UnderMaintenance => "Under maintenance",
        _ => "Operational",
    };

    /// <summary>Statuspage's incident impact for a level: minor, major, critical.</summary>
    public static string Impact(string level) => level switch
    {
        MajorOutage => "critical",
        PartialOutage => "major",
        DegradedPerformance => "minor",
        _ => "none",
    };

    /// <summary>The page's overall indicator (status.json): none, minor, major, critical, maintenance.</summary>
    public static string Indicator(string worstLevel) => worstLevel == UnderMaintenance ? "maintenance" : Impact(worstLevel);

    public static string IndicatorTitle(string indicator) => indicator switch
    {
        "minor" => "Some services are degraded",
        "major" => "Partial outage",
        "critical" => "Major outage",
        "maintenance" => "Maintenance in progress",
        _ => "All systems operational",
    };

    public static int ImpactRank(string impact) => impact switch { "minor" => 1, "major" => 2, "critical" => 3, _ => 0 };
}

/// <summary>One component as the public sees it. No alert names, targets or people: only the level.</summary>
public sealed record StatusComponent(string Id, string Name, string Description, string? GroupId, string Level, int Position, DateTimeOffset UpdatedAt);

public sealed record StatusGroup(string Id, string Name, string Description, string Level, int Position, IReadOnlyList<StatusComponent> Components);

/// <summary>One public status update of an incident (the text its author wrote, never internal notes or the rendered template).</summary>
public sealed record PublicUpdate(long Id, long IncidentId, string Status, string Body, DateTimeOffset At);

/// <summary>An incident as the public sees it: only incidents with at least one update marked public, with only those updates.</summary>
public sealed record PublicIncident(long Id, string Name, string Status, string Impact, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? MonitoringAt, DateTimeOffset? ResolvedAt, IReadOnlyList<string> ComponentIds, IReadOnlyList<PublicUpdate> Updates)
{
    public bool Open => ResolvedAt is null;
}

/// <summary>A maintenance run as the public sees it (Maintenance/): scheduled (announced), in progress, or just finished.</summary>
public sealed record PublicMaintenance(long Id, string Name, string Status, string Body, DateTimeOffset ScheduledFor, DateTimeOffset ScheduledUntil,
    IReadOnlyList<string> ComponentIds, DateTimeOffset UpdatedAt)
{
    public bool InProgress => Status is "in_progress" or "validating";
}

/// <summary>Where the page reads maintenance from (registered by the maintenance feature); its mark changes whenever a run does.</summary>
public interface IStatusMaintenanceSource
{
    Task<string> MarkAsync(CancellationToken ct);
    Task<IReadOnlyList<PublicMaintenance>> ReadAsync(CancellationToken ct);
}

/// <summary>What the page shows, built from the configuration, live alerts and targets, and the incidents in the database.</summary>
public sealed record StatusData(
    string Title, string Description, string Footer, string PageUrl,
    IReadOnlyList<StatusGroup> Groups, IReadOnlyList<StatusComponent> Ungrouped, IReadOnlyList<StatusComponent> Components,
    IReadOnlyList<PublicIncident> Incidents, string Indicator, string IndicatorTitle,
    DateTimeOffset BuiltAt, DateTimeOffset DataAsOf, string? StaleNote, bool EmailSubscriptions, bool WebhookSubscriptions)
{
    public DateTimeOffset UpdatedAt => Components.Select(c => c.UpdatedAt).Concat(Incidents.Select(i => i.UpdatedAt)).DefaultIfEmpty(DataAsOf).Max();

    /// <summary>Announced and running maintenance, soonest first.</summary>
    public IReadOnlyList<PublicMaintenance> Maintenances { get; init; } = [];
}
