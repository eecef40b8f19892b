namespace Watchkeeper.Alerting.Notify.PagerDuty;

/// <summary>One <c>pagerduty_configs</c> entry: PagerDuty Events API v2 with an integration's routing key.</summary>
public sealed class PagerDutySettings : IntegrationSettings
{
    public const string DefaultUrl = "https://events.pagerduty.com/v2/enqueue";

    public override bool SendResolved { get; set; } = true;
    public override string Kind => "pagerduty";
    public string RoutingKey { get; set; } = "";
    public string Url { get; set; } = DefaultUrl;
    public string Client { get; set; } = """{{ template "pagerduty.default.client" . }}""";
    public string ClientUrl { get; set; } = """{{ template "pagerduty.default.clientURL" . }}""";
    public string Description { get; set; } = """{{ template "pagerduty.default.description" . }}""";
    /// <summary>Mapped onto PagerDuty's four severities (critical, error, warning, info); see <see cref="PagerDutyNotifier.MapSeverity"/>.</summary>
    public string Severity { get; set; } = "{{ .CommonLabels.severity }}";
    public string Source { get; set; } = "";
    public string Class { get; set; } = "";
    public string Component { get; set; } = "";
    public string Group { get; set; } = "";
    /// <summary>custom_details; each value is a template. Empty = the default details (counts and the alerts).</summary>
    public Dictionary<string, string> Details { get; set; } = [];
    public override string? Unconfigured => string.IsNullOrWhiteSpace(RoutingKey) ? "routing_key is not set" : null;
}
