using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Alerting.Config;

// Typed receivers as Alertmanager's configuration writes them. The notification helper's integrations read these;
// global defaults (smtp_*, slack_api_url, pagerduty_url, http_config) are already applied by the loader.
// Secrets may be given inline or as *_file paths (absolute after loading), read when sending.

/// <summary>A receiver: a name and its integrations. The integration name of item i is e.g. <c>slack_configs[i]</c>.</summary>
public sealed record ReceiverConfig(
    string Name,
    IReadOnlyList<SlackConfig> SlackConfigs,
    IReadOnlyList<EmailConfig> EmailConfigs,
    IReadOnlyList<PagerDutyConfig> PagerDutyConfigs,
    IReadOnlyList<WebhookConfig> WebhookConfigs,
    IReadOnlyList<MsTeamsV2Config> MsTeamsV2Configs)
{
    /// <summary>Every integration with its name as in <see cref="Notify.OutboxItem.Integration"/> (<c>slack_configs[0]</c>, ...).</summary>
    public IEnumerable<(string Name, IntegrationConfig Config)> Integrations()
    {
        for (var i = 0; i < SlackConfigs.Count; i++) yield return ($"slack_configs[{i}]", SlackConfigs[i]);
        for (var i = 0; i < EmailConfigs.Count; i++) yield return ($"email_configs[{i}]", EmailConfigs[i]);
        for (var i = 0; i < PagerDutyConfigs.Count; i++) yield return ($"pagerduty_configs[{i}]", PagerDutyConfigs[i]);
        for (var i = 0; i < WebhookConfigs.Count; i++) yield return ($"webhook_configs[{i}]", WebhookConfigs[i]);
        for (var i = 0; i < MsTeamsV2Configs.Count; i++) yield return ($"msteamsv2_configs[{i}]", MsTeamsV2Configs[i]);
    }

    /// <summary>The integration named as in <see cref="Integrations"/>, or null.</summary>
    public IntegrationConfig? Integration(string name) => Integrations().FirstOrDefault(x => x.Name == name).Config;
}

/// <summary>What every integration has: <c>send_resolved</c> and <c>http_config</c>.</summary>
public abstract record IntegrationConfig
{
    public bool SendResolved { get; init; }
    public HttpClientConfig HttpConfig { get; init; } = new();
    /// <summary>http_config.proxy_url, when set.</summary>
    public string? ProxyUrl { get; init; }
}

public sealed record SlackConfig : IntegrationConfig
{
    public string? ApiUrl { get; init; }
    public string? ApiUrlFile { get; init; }
    public string? Channel { get; init; }
    public string? Username { get; init; }
    public string? Color { get; init; }
    public string? Title { get; init; }
    public string? TitleLink { get; init; }
    public string? Pretext { get; init; }
    public string? Text { get; init; }
    public string? Footer { get; init; }
    public string? Fallback { get; init; }
    public string? CallbackId { get; init; }
    public string? IconEmoji { get; init; }
    public string? IconUrl { get; init; }
    public string? ImageUrl { get; init; }
    public string? ThumbUrl { get; init; }
    public bool ShortFields { get; init; }
    public bool LinkNames { get; init; }
    public IReadOnlyList<string> MrkdwnIn { get; init; } = [];
}

public sealed record EmailConfig : IntegrationConfig
{
    public string To { get; init; } = "";
    public string? From { get; init; }
    public string? Hello { get; init; }
    public string? Smarthost { get; init; }
    public string? AuthUsername { get; init; }
    public string? AuthPassword { get; init; }
    public string? AuthPasswordFile { get; init; }
    public string? AuthSecret { get; init; }
    public string? AuthIdentity { get; init; }
    public bool RequireTls { get; init; } = true;
    public TlsConfig TlsConfig { get; init; } = new();
    public string? Html { get; init; }
    public string? Text { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
}

public sealed record PagerDutyConfig : IntegrationConfig
{
    public string? RoutingKey { get; init; }
    public string? RoutingKeyFile { get; init; }
    public string? ServiceKey { get; init; }
    public string? ServiceKeyFile { get; init; }
    public string? Url { get; init; }
    public string? Client { get; init; }
    public string? ClientUrl { get; init; }
    public string? Description { get; init; }
    public string? Severity { get; init; }
    public string? Class { get; init; }
    public string? Component { get; init; }
    public string? Group { get; init; }
    public string? Source { get; init; }
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
}

public sealed record WebhookConfig : IntegrationConfig
{
    public string? Url { get; init; }
    public string? UrlFile { get; init; }
    /// <summary>0 = all alerts.</summary>
    public int MaxAlerts { get; init; }
    /// <summary>Zero = no timeout beyond the sender's.</summary>
    public TimeSpan Timeout { get; init; }
}

public sealed record MsTeamsV2Config : IntegrationConfig
{
    public string? WebhookUrl { get; init; }
    public string? WebhookUrlFile { get; init; }
    public string? Title { get; init; }
    public string? Text { get; init; }
}
