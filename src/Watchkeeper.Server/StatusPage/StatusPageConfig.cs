using System.Text.RegularExpressions;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.StatusPage;

/// <summary>
/// The <c>status_page</c> section: the public page's title and branding, its components (each one of the services
/// it watches) in groups, which alerts and scrape targets drive each component's level, how incident severities map
/// to levels, and the subscriber settings. See docs/status-page.md.
/// </summary>
public sealed partial class StatusPageConfig
{
    public bool Enabled { get; set; } = true;
    public string Title { get; set; } = "Service status";
    /// <summary>A line of branding text under the title (plain text).</summary>
    public string Description { get; set; } = "";
    /// <summary>Shown at the foot of the page (plain text), e.g. how to reach support.</summary>
    public string Footer { get; set; } = "";
    /// <summary>The address visitors reach the page at; default <c>server.external_url</c> + <c>/status</c>. Links in feeds, JSON and mail use it.</summary>
    public string? PublicUrl { get; set; }
    /// <summary>How often the live inputs (alerts, targets, the database's change marks) are compared with the snapshot.</summary>
    public Duration RefreshInterval { get; set; } = new(TimeSpan.FromSeconds(5));
    /// <summary>A full rebuild at least this often, whether or not anything changed (clock-driven text, uptime).</summary>
    public Duration RebuildInterval { get; set; } = new(TimeSpan.FromMinutes(1));
    /// <summary>How far back resolved incidents are listed on the page, the feed and incidents.json.</summary>
    public Duration History { get; set; } = new(TimeSpan.FromDays(14));
    /// <summary>A level per alert severity label value (an alert of another severity does not change a level).</summary>
    public Dictionary<string, string> AlertLevels { get; set; } = new(StringComparer.Ordinal)
    {
        ["critical"] = StatusLevel.PartialOutage,
        ["warning"] = StatusLevel.DegradedPerformance,
    };
    /// <summary>A level per incident severity id, used while an incident with a public status update affects a component.</summary>
    public Dictionary<string, string> IncidentLevels { get; set; } = new(StringComparer.Ordinal)
    {
        ["SEV1"] = StatusLevel.MajorOutage,
        ["SEV2"] = StatusLevel.PartialOutage,
        ["SEV3"] = StatusLevel.DegradedPerformance,
        ["SEV4"] = StatusLevel.DegradedPerformance,
    };
    public List<StatusGroupConfig> Groups { get; set; } = [];
    public List<StatusComponentConfig> Components { get; set; } = [];
    public StatusSubscribersConfig Subscribers { get; set; } = new();

    /// <summary>The public page URL (absolute when <c>external_url</c> or <c>public_url</c> is set).</summary>
    public string PageUrl(WatchkeeperConfig c) => string.IsNullOrWhiteSpace(PublicUrl) ? c.Server.Absolute("/status") : PublicUrl.TrimEnd('/');

    public static IEnumerable<ConfigError> Check(StatusPageConfig s, WatchkeeperConfig c)
    {
        const string p = "status_page.";
        if (s.Title.Trim().Length is 0 or > 120) yield return new(p + "title", "must be 1 to 120 characters");
        if (s.Description.Length > 500) yield return new(p + "description", "must be at most 500 characters");
        if (s.Footer.Length > 500) yield return new(p + "footer", "must be at most 500 characters");
        if (!string.IsNullOrWhiteSpace(s.PublicUrl)
            && (!Uri.TryCreate(s.PublicUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Query.Length > 0))
            yield return new(p + "public_url", $"'{s.PublicUrl}' is not an absolute http or https URL without a query");
        if (s.RefreshInterval.Value < TimeSpan.FromMilliseconds(100)) yield return new(p + "refresh_interval", "must be at least 100ms");
        if (s.RebuildInterval.Value < s.RefreshInterval.Value) yield return new(p + "rebuild_interval", "must not be shorter than refresh_interval");
        if (s.History.Value <= TimeSpan.Zero || s.History.Value > TimeSpan.FromDays(366)) yield return new(p + "history", "must be between 1s and 366d");
        foreach (var (sev, level) in s.AlertLevels)
            if (!StatusLevel.IsImpact(level)) yield return new(p + "alert_levels." + sev, $"'{level}' is not one of {string.Join(", ", StatusLevel.Impacts)}");
        foreach (var (sev, level) in s.IncidentLevels)
        {
            if (!StatusLevel.IsImpact(level)) yield return new(p + "incident_levels." + sev, $"'{level}' is not one of {string.Join(", ", StatusLevel.Impacts)}");
            if (c.Severity(sev) is null) yield return new(p + "incident_levels." + sev, $"unknown severity '{sev}'; known: {string.Join(", ", c.Severities.Select(x => x.Id))}");
        }
        var groups = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < s.Groups.Count; i++)
        {
            var g = s.Groups[i];
            var k = $"{p}groups[{i}]";
            if (!IsId(g.Id)) yield return new(k + ".id", "is required: lower-case letters, digits and '-' (at most 64)");
            else if (!groups.Add(g.Id)) yield return new(k + ".id", $"duplicate group id '{g.Id}'");
            if (g.Name.Trim().Length is 0 or > 100) yield return new(k + ".name", "must be 1 to 100 characters");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (s.Components.Count > 200) yield return new(p + "components", "at most 200 components");
        for (var i = 0; i < s.Components.Count; i++)
        {
            var x = s.Components[i];
            var k = $"{p}components[{i}]";
            if (!IsId(x.Id)) yield return new(k + ".id", "is required: lower-case letters, digits and '-' (at most 64)");
            else if (!ids.Add(x.Id) || groups.Contains(x.Id)) yield return new(k + ".id", $"duplicate id '{x.Id}' (component and group ids share one namespace)");
            if (x.Name.Length > 100) yield return new(k + ".name", "must be at most 100 characters");
            if (x.Description.Length > 500) yield return new(k + ".description", "must be at most 500 characters");
            if (x.Group is { Length: > 0 } grp && !groups.Contains(grp)) yield return new(k + ".group", $"unknown group '{grp}'; define it under status_page.groups");
            if (string.IsNullOrWhiteSpace(x.Service)) yield return new(k + ".service", "is required: the name of a service in the services: catalog");
            else if (c.Services.Count > 0 && !c.Services.Any(v => string.Equals(v.Name, x.Service, StringComparison.OrdinalIgnoreCase)))
                yield return new(k + ".service", $"unknown service '{x.Service}'; known: {string.Join(", ", c.Services.Select(v => v.Name))}");
            for (var j = 0; j < x.Alerts.Count; j++)
            {
                string? error = null;
                try { Watchkeeper.Alerting.Routing.MatcherParser.ParseList(x.Alerts[j]); }
                catch (FormatException ex) { error = ex.Message; }
                catch (ArgumentException ex) { error = ex.Message; }
                if (error is not null) yield return new($"{k}.alerts[{j}]", error);
            }
        }
        var sub = s.Subscribers;
        if (sub.ConfirmWithin.Value <= TimeSpan.Zero) yield return new(p + "subscribers.confirm_within", "must be a positive duration");
        if (sub.PerIpPerHour is < 1 or > 10_000) yield return new(p + "subscribers.per_ip_per_hour", "must be between 1 and 10000");
        if (sub.PerAddressPerDay is < 1 or > 100) yield return new(p + "subscribers.per_address_per_day", "must be between 1 and 100");
        if (sub.MaxSubscribers is < 1 or > 10_000_000) yield return new(p + "subscribers.max_subscribers", "must be between 1 and 10000000");
        if (sub.Email && string.IsNullOrWhiteSpace(sub.From ?? c.Alertmanager.Global.SmtpFrom))
            yield return new(p + "subscribers.from", "email subscriptions need a sender: set status_page.subscribers.from or alertmanager's global smtp_from");
        if (sub.Email && string.IsNullOrWhiteSpace(c.Alertmanager.Global.SmtpSmarthost))
            yield return new(p + "subscribers.email", "email subscriptions need alertmanager's global smtp_smarthost (the SMTP server notifications use); set email: false otherwise");
        if (sub.Email && !s.PageUrl(c).StartsWith("http", StringComparison.Ordinal))
            yield return new(p + "subscribers.email", "email subscriptions need absolute links: set server.external_url or status_page.public_url");
    }

    private static bool IsId(string id) => id.Length is > 0 and <= 64 && IdPattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

public sealed class StatusGroupConfig
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
}

/// <summary>One component of the page: a service, the alerts and targets that drive its level, and its group.</summary>
public sealed class StatusComponentConfig
{
    public string Id { get; set; } = "";
    /// <summary>The public name; default the service's display name in the catalog.</summary>
    public string Name { get; set; } = "";
    /// <summary>The public description; default the service's description in the catalog.</summary>
    public string Description { get; set; } = "";
    public string? Group { get; set; }
    /// <summary>
    /// The service it shows, by its name in the <c>services:</c> catalog: its <c>job</c> labels the targets and alerts
    /// that drive the level, and incidents name it in their services affected.
    /// </summary>
    public string Service { get; set; } = "";
    /// <summary>
    /// Alertmanager matcher lists selecting the alerts that drive the level (any list whose matchers all match);
    /// default <c>job="JOB"</c> (the catalog's job of the service) and <c>service="SERVICE"</c>.
    /// </summary>
    public List<string> Alerts { get; set; } = [];
    /// <summary>Whether the scrape targets of the service's job drive the level (all down: major outage; some down: partial outage).</summary>
    public bool Targets { get; set; } = true;
}

/// <summary>Subscriptions to public incident updates: email (double opt-in) and webhooks.</summary>
public sealed class StatusSubscribersConfig
{
    public bool Email { get; set; }
    public bool Webhooks { get; set; } = true;
    /// <summary>The sender of subscriber mail; default alertmanager's global <c>smtp_from</c>.</summary>
    public string? From { get; set; }
    /// <summary>How long a confirmation link (email) or challenge (webhook) stays valid.</summary>
    public Duration ConfirmWithin { get; set; } = new(TimeSpan.FromHours(48));
    /// <summary>Subscription requests accepted per client address in any hour.</summary>
    public int PerIpPerHour { get; set; } = 20;
    /// <summary>Confirmation messages sent to one address (or webhook URL) in any day.</summary>
    public int PerAddressPerDay { get; set; } = 3;
    public int MaxSubscribers { get; set; } = 100_000;
    /// <summary>Webhook URLs on loopback or private networks are refused unless this is true (tests, internal receivers).</summary>
    public bool AllowPrivateWebhooks { get; set; }
}
