namespace Watchkeeper.Alerting.Notify.MsTeams;

/// <summary>One <c>msteamsv2_configs</c> entry: a Microsoft Teams workflow (Power Automate) URL taking an Adaptive Card.</summary>
public sealed class MsTeamsV2Settings : IntegrationSettings
{
    public override bool SendResolved { get; set; } = true;
    public override string Kind => "msteamsv2";
    public string WebhookUrl { get; set; } = "";
    public string Title { get; set; } = """{{ template "msteamsv2.default.title" . }}""";
    public string Text { get; set; } = """{{ template "msteamsv2.default.text" . }}""";
    public override string? Unconfigured => string.IsNullOrWhiteSpace(WebhookUrl) ? "webhook_url is not set" : null;
}
