using System.Text.RegularExpressions;
using Cronos;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tasks;

/// <summary>
/// <c>tasks:</c> in watchkeeper.yml: the recurring operations tasks (operations manual 3.1: the daily, weekly, monthly
/// and quarterly lists), each with an owner and a due time.
/// </summary>
public sealed partial class TasksConfig
{
    /// <summary>How often overdue tasks are looked for (and their info alerts re-sent).</summary>
    public Duration CheckInterval { get; set; } = new(TimeSpan.FromMinutes(1));
    /// <summary>IANA time zone of every task's schedule unless the task names its own.</summary>
    public string TimeZone { get; set; } = "UTC";
    public List<TaskConfig> Items { get; set; } = [];

    public const int MaxItems = 500;

    public static IEnumerable<ConfigError> Check(TasksConfig c, WatchkeeperConfig root)
    {
        if (c.CheckInterval.Value < TimeSpan.FromSeconds(1)) yield return new("tasks.check_interval", "must be at least 1s");
        if (Zone(c.TimeZone) is null) yield return new("tasks.time_zone", $"unknown IANA time zone '{c.TimeZone}' (e.g. UTC, Europe/London)");
        if (c.Items.Count > MaxItems) yield return new("tasks.items", $"at most {MaxItems} tasks");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var people = root.People.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var schedules = root.Schedules.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < c.Items.Count; i++)
        {
            var t = c.Items[i];
            var k = $"tasks.items[{i}]";
            if (!IdRule().IsMatch(t.Id)) yield return new(k + ".id", "required: lower-case letters, digits, '-' and '_' (at most 64)");
            else if (!ids.Add(t.Id)) yield return new(k + ".id", $"duplicate task id '{t.Id}'");
            if (string.IsNullOrWhiteSpace(t.Title)) yield return new(k + ".title", "required");
            else if (t.Title.Length > 200) yield return new(k + ".title", "at most 200 characters");
            if (t.Description.Length > 2000) yield return new(k + ".description", "at most 2000 characters");
            if (ParseCron(t.Schedule) is { } cronError) yield return new(k + ".schedule", cronError);
            if (t.TimeZone is { } z && Zone(z) is null) yield return new(k + ".time_zone", $"unknown IANA time zone '{z}' (e.g. UTC, Europe/London)");
            var o = t.Owner;
            if (o is null || (string.IsNullOrEmpty(o.User) == string.IsNullOrEmpty(o.Schedule)))
                yield return new(k + ".owner", "give exactly one of user (a name from people:) or schedule (a name from schedules:, whoever is on call owns it)");
            else if (o.User is { Length: > 0 } u && !people.Contains(u))
                yield return new(k + ".owner.user", $"unknown person '{u}'; people: {string.Join(", ", people.Order(StringComparer.Ordinal))}");
            else if (o.Schedule is { Length: > 0 } s && !schedules.Contains(s))
                yield return new(k + ".owner.schedule", $"unknown schedule '{s}'; schedules: {string.Join(", ", schedules.Order(StringComparer.Ordinal))}");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    internal static partial Regex IdRule();

    /// <summary>The problem with a cron expression (five fields, as crontab), or null when it parses.</summary>
    public static string? ParseCron(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return "required: a cron expression with five fields (minute hour day-of-month month day-of-week), e.g. \"0 10 * * 1\"";
        try
        {
            var cron = CronExpression.Parse(text, CronFormat.Standard);
            return cron.GetNextOccurrence(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc) is null
                ? $"\"{text}\" never occurs" : null;
        }
        catch (CronFormatException ex)
        {
            return $"\"{text}\" is not a cron expression: {ex.Message}";
        }
    }

    public static TimeZoneInfo? Zone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }
}

public sealed class TaskConfig
{
    /// <summary>Stable id (records and alerts use it): lower-case, e.g. <c>backup-validation</c>.</summary>
    public string Id { get; set; } = "";
    public string Title { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>The list it belongs to (daily, weekly, monthly, quarterly in the manual); pages group by it.</summary>
    public string Group { get; set; } = "";
    /// <summary>When each occurrence is due: a five-field cron expression in the task's time zone.</summary>
    public string Schedule { get; set; } = "";
    public string? TimeZone { get; set; }
    public TaskOwnerConfig? Owner { get; set; }
}

public sealed class TaskOwnerConfig
{
    public string? User { get; set; }
    public string? Schedule { get; set; }
}
