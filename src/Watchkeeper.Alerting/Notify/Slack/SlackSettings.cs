namespace Watchkeeper.Alerting.Notify.Slack;

/// <summary>One <c>slack_configs</c> entry: a Slack incoming webhook. Text fields are templates.</summary>
public sealed class SlackSettings : IntegrationSettings
{
    public override bool SendResolved { get; set; }
    public override string Kind => "slack";
    public string ApiUrl { get; set; } = "";
    public string Channel { get; set; } = "";
    public string Username { get; set; } = "";
    public string IconEmoji { get; set; } = "";
    public string IconUrl { get; set; } = "";
    public string Title { get; set; } = """{{ template "slack.default.title" . }}""";
    public string TitleLink { get; set; } = """{{ template "slack.default.titlelink" . }}""";
    public string Text { get; set; } = """{{ template "slack.default.text" . }}""";
    public string Fallback { get; set; } = """{{ template "slack.default.fallback" . }}""";
    public string Footer { get; set; } = """{{ template "slack.default.footer" . }}""";
    public override string? Unconfigured => string.IsNullOrWhiteSpace(ApiUrl) ? "api_url is not set" : null;
}
