namespace Watchkeeper.Alerting.Notify.Webhook;

/// <summary>One <c>webhook_configs</c> entry: Alertmanager's generic webhook (payload version 4).</summary>
public sealed class WebhookSettings : IntegrationSettings
{
    public override bool SendResolved { get; set; } = true;
    public override string Kind => "webhook";
    public string Url { get; set; } = "";
    /// <summary>Alerts per notification; 0 = all. Alerts over the limit are counted in <c>truncatedAlerts</c>.</summary>
    public int MaxAlerts { get; set; }
    public override string? Unconfigured => string.IsNullOrWhiteSpace(Url) ? "url is not set" : null;
}
