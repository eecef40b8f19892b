using System.Text.RegularExpressions;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Maintenance;

/// <summary>
/// The <c>maintenance</c> section: how far ahead users are told about a window, when the follow-up review is due, the
/// success-rate target, and the windows defined in configuration (read-only over the API; windows made with the API or
/// <c>wk maintenance schedule</c> are kept in the database). See docs/maintenance.md.
/// </summary>
public sealed class MaintenanceConfig
{
    /// <summary>Users (status page and subscribers) are told this long before an occurrence starts; a window may override it.</summary>
    public Duration NotifyBefore { get; set; } = new(TimeSpan.FromHours(24));
    /// <summary>A run may start this long before its occurrence's start.</summary>
    public Duration EarlyStart { get; set; } = new(TimeSpan.FromMinutes(15));
    /// <summary>The follow-up review of a finished run (completed or rolled back) is due this long after it finished.</summary>
    public Duration ReviewAfter { get; set; } = new(TimeSpan.FromDays(7));
    /// <summary>The operations manual's target for successful maintenance, in percent (> 99%).</summary>
    public double SuccessTarget { get; set; } = 99;
    /// <summary>How often the worker announces upcoming occurrences and cancels runs whose window ended unstarted.</summary>
    public Duration CheckInterval { get; set; } = new(TimeSpan.FromMinutes(1));
    public List<MaintenanceWindowDef> Windows { get; set; } = [];

    public static IEnumerable<ConfigError> Check(MaintenanceConfig m, WatchkeeperConfig c)
    {
        const string p = "maintenance.";
        if (m.NotifyBefore.Value < TimeSpan.Zero || m.NotifyBefore.Value > TimeSpan.FromDays(90)) yield return new(p + "notify_before", "must be between 0s and 90d");
        if (m.EarlyStart.Value < TimeSpan.Zero || m.EarlyStart.Value > TimeSpan.FromDays(1)) yield return new(p + "early_start", "must be between 0s and 1d");
        if (m.ReviewAfter.Value <= TimeSpan.Zero || m.ReviewAfter.Value > TimeSpan.FromDays(366)) yield return new(p + "review_after", "must be between 1s and 366d");
        if (m.SuccessTarget is <= 0 or > 100 || double.IsNaN(m.SuccessTarget)) yield return new(p + "success_target", "must be a percentage above 0 and at most 100");
        if (m.CheckInterval.Value < TimeSpan.FromSeconds(1)) yield return new(p + "check_interval", "must be at least 1s");
        if (m.Windows.Count > MaintenanceWindowDef.MaxWindows) yield return new(p + "windows", $"at most {MaintenanceWindowDef.MaxWindows} windows");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < m.Windows.Count; i++)
        {
            var w = m.Windows[i];
            if (MaintenanceWindowDef.IsId(w.Id) && !ids.Add(w.Id)) yield return new($"{p}windows[{i}].id", $"duplicate window id '{w.Id}'");
            foreach (var (field, problem) in w.Validate(c))
                yield return new($"{p}windows[{i}].{field}", problem);
        }
    }
}

/// <summary>
/// A maintenance window: one-off (<c>start</c> and <c>end</c> or <c>duration</c>) or recurring (<c>cron</c>, or a
/// <c>rule</c> such as "2nd tuesday" with <c>at</c>, for <c>duration</c>), in an IANA time zone, affecting components.
/// The same shape in configuration (snake_case keys) and in the API's JSON.
/// </summary>
public sealed partial class MaintenanceWindowDef
{
    public const int MaxWindows = 1000;
    public const int MaxComponents = 100;
    public const int MaxChecks = 50;

    public string Id { get; set; } = "";
    public string Title { get; set; } = "";
    /// <summary>What is done, shown to users on the status page and in notifications (plain text).</summary>
    public string Description { get; set; } = "";
    /// <summary>IANA time zone the times, the cron expression and the rule are read in.</summary>
    public string TimeZone { get; set; } = "UTC";
    /// <summary>One-off: the local start (<c>2026-12-20T02:00</c>) in <see cref="TimeZone"/>, or an RFC 3339 time with an offset.</summary>
    public string? Start { get; set; }
    /// <summary>One-off: the local end; or give <see cref="Duration"/>.</summary>
    public string? End { get; set; }
    /// <summary>Recurring: a five-field cron expression (minute hour day-of-month month day-of-week) read in <see cref="TimeZone"/>.</summary>
    public string? Cron { get; set; }
    /// <summary>Recurring: a monthly rule, "2nd tuesday", "last sunday", "first monday of the month".</summary>
    public string? Rule { get; set; }
    /// <summary>With <see cref="Rule"/>: the local start time, <c>HH:MM</c>.</summary>
    public string? At { get; set; }
    /// <summary>How long each occurrence lasts (elapsed time, so a window across a DST change keeps its length).</summary>
    public string? Duration { get; set; }
    /// <summary>Override of <c>maintenance.notify_before</c> for this window (<c>0s</c>: announce only when a run starts).</summary>
    public string? NotifyBefore { get; set; }
    /// <summary>Status page component ids or service names from the <c>services:</c> catalog.</summary>
    public List<string> Components { get; set; } = [];
    /// <summary>The default rollback plan of this window's runs (a run without one cannot start).</summary>
    public string RollbackPlan { get; set; } = "";
    public MaintenanceChecksDef Checks { get; set; } = new();

    public string Kind => Cron is not null ? "cron" : Rule is not null ? "rule" : "once";

    /// <summary>Every problem with this definition, as (field, problem); empty when valid.</summary>
    public IEnumerable<(string Field, string Problem)> Validate(WatchkeeperConfig c)
    {
        if (!IsId(Id)) yield return ("id", "is required: lower-case letters, digits and '-' (at most 64), starting with a letter or digit");
        if (Title.Trim().Length is 0 or > 200) yield return ("title", "must be 1 to 200 characters");
        if (Description.Length > 2000) yield return ("description", "must be at most 2000 characters");
        if (RollbackPlan.Length > 10_000) yield return ("rollback_plan", "must be at most 10000 characters");
        if (NotifyBefore is not null && Platform.Duration.Error(NotifyBefore) is { } ne) yield return ("notify_before", ne);
        string? recurrenceError = null;
        string? recurrenceField = null;
        try
        {
            Recurrence.Parse(this);
        }
        catch (RecurrenceException ex)
        {
            recurrenceField = ex.Field;
            recurrenceError = ex.Message;
        }
        if (recurrenceError is not null) yield return (recurrenceField!, recurrenceError);
        if (Components.Count == 0) yield return ("components", "name at least one status page component or service");
        if (Components.Count > MaxComponents) yield return ("components", $"at most {MaxComponents}");
        for (var i = 0; i < Components.Count; i++)
            if (!KnownComponent(c, Components[i]))
                yield return ($"components[{i}]", $"unknown component '{Components[i]}'; known: {NameList(KnownComponents(c))}");
        if (Checks.Probes.Count + Checks.Promql.Count > MaxChecks) yield return ("checks", $"at most {MaxChecks} checks");
        for (var i = 0; i < Checks.Probes.Count; i++)
            if (!c.Probes.Checks.Any(x => x.Name == Checks.Probes[i]))
                yield return ($"checks.probes[{i}]", $"unknown probe '{Checks.Probes[i]}'; configured: {NameList(c.Probes.Checks.Select(x => x.Name))}");
        for (var i = 0; i < Checks.Promql.Count; i++)
        {
            string? error = null;
            try
            {
                Watchkeeper.Metrics.PromQL.Parser.Parse(Checks.Promql[i]);
            }
            catch (Watchkeeper.Metrics.PromQL.ParseException ex)
            {
                error = ex.Message;
            }
            if (error is not null) yield return ($"checks.promql[{i}]", "not a PromQL expression: " + error);
        }
    }

    /// <summary>The first problem as a <see cref="ValidationException"/> naming the field (API input).</summary>
    public void ThrowIfInvalid(WatchkeeperConfig c)
    {
        foreach (var (field, problem) in Validate(c)) throw new ValidationException(field, problem);
    }

    public static bool KnownComponent(WatchkeeperConfig c, string name) =>
        c.StatusPage.Components.Any(x => x.Id == name) || c.Services.Any(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    public static IEnumerable<string> KnownComponents(WatchkeeperConfig c) =>
        c.StatusPage.Components.Select(x => x.Id).Concat(c.Services.Select(s => s.Name)).Distinct(StringComparer.OrdinalIgnoreCase);

    /// <summary>The status page components a list of names affects: a component by its id, or every component showing a named service.</summary>
    public static IReadOnlyList<string> StatusComponents(WatchkeeperConfig c, IEnumerable<string> names)
    {
        var set = names.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. c.StatusPage.Components.Where(x => set.Contains(x.Id) || set.Contains(x.Service)).Select(x => x.Id)];
    }

    public TimeSpan? NotifyBeforeValue(MaintenanceConfig m) =>
        NotifyBefore is null ? m.NotifyBefore.Value : Platform.Duration.TryParse(NotifyBefore, out var d) ? d.Value : m.NotifyBefore.Value;

    public static bool IsId(string id) => id.Length is > 0 and <= 64 && IdPattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    /// <summary>Names for an error message: the first 20, then how many more (a bench may configure 10,000 probes).</summary>
    private static string NameList(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count <= 20 ? string.Join(", ", all) : string.Join(", ", all.Take(20)) + $" and {all.Count - 20} more";
    }
}

/// <summary>What must be true before a run can complete: probes green and PromQL expressions true (a non-empty result).</summary>
public sealed class MaintenanceChecksDef
{
    /// <summary>Names of checks under <c>probes.checks</c> whose last result must be a success.</summary>
    public List<string> Probes { get; set; } = [];
    /// <summary>PromQL expressions evaluated at validation time; true when the result has at least one sample (a scalar: non-zero).</summary>
    public List<string> Promql { get; set; } = [];
}
