using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.TimeIntervals;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Alerting.Config;

/// <summary>Alertmanager's <c>global</c> section: defaults for receivers and the alerts' resolve timeout.</summary>
public sealed record AlertmanagerGlobal
{
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public string? SmtpFrom { get; init; }
    public string? SmtpHello { get; init; } = "localhost";
    public string? SmtpSmarthost { get; init; }
    public string? SmtpAuthUsername { get; init; }
    public string? SmtpAuthPassword { get; init; }
    public string? SmtpAuthPasswordFile { get; init; }
    public string? SmtpAuthIdentity { get; init; }
    public string? SmtpAuthSecret { get; init; }
    public bool SmtpRequireTls { get; init; } = true;
    public string? SlackApiUrl { get; init; }
    public string? SlackApiUrlFile { get; init; }
    public string PagerdutyUrl { get; init; } = "https://events.pagerduty.com/v2/enqueue";
    public HttpClientConfig HttpConfig { get; init; } = new();
}

/// <summary>An inhibition rule: alerts matching the target are muted while an alert matching the source fires with equal <c>equal</c> labels.</summary>
public sealed record InhibitRule(Matchers SourceMatchers, Matchers TargetMatchers, IReadOnlyList<string> Equal);

/// <summary>The Alertmanager configuration, from watchkeeper.yml or an alertmanager.yml.</summary>
public sealed record AlertmanagerConfig
{
    public AlertmanagerGlobal Global { get; init; } = new();
    /// <summary>The routing tree; null when the configuration has no <c>route</c> (alerts are then stored and listed, not routed).</summary>
    public Route? Route { get; init; }
    public IReadOnlyList<ReceiverConfig> Receivers { get; init; } = [];
    public IReadOnlyList<InhibitRule> InhibitRules { get; init; } = [];
    public IReadOnlyDictionary<string, TimeInterval> TimeIntervals { get; init; } = new Dictionary<string, TimeInterval>();
    /// <summary>Template files (globs expanded, absolute paths) for notification templates.</summary>
    public IReadOnlyList<string> Templates { get; init; } = [];
    /// <summary>The template globs as written (absolute).</summary>
    public IReadOnlyList<string> TemplateGlobs { get; init; } = [];
    /// <summary>The YAML of the Alertmanager sections as written, for <c>/api/v2/status</c>'s <c>config.original</c>.</summary>
    public string Original { get; init; } = "";
    /// <summary>The file the sections came from.</summary>
    public string SourceFile { get; init; } = "";

    public ReceiverConfig? Receiver(string name) => Receivers.FirstOrDefault(r => r.Name == name);
}
