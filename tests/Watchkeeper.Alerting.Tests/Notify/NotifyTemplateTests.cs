using System.Text.Json;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Notify.Email;
using Watchkeeper.Alerting.Notify.PagerDuty;
using Watchkeeper.Alerting.Notify.Slack;

namespace Watchkeeper.Alerting.Tests.Notify;

/// <summary>The default notification templates on the real Go template engine, overrides, and the payload builders.</summary>
public sealed class NotifyTemplateTests
{
    private static TemplateData Data(string status = "firing", string summary = "Service api-service is down", string job = "api-service") => new(
        "ops", status,
        [
            new TemplateAlert(status, new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = job, ["severity"] = "critical" },
                new Dictionary<string, string> { ["summary"] = summary, ["description"] = "down for more than 1 minute" },
                new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero), null, "http://prom/graph", "0123456789abcdef"),
            new TemplateAlert("resolved", new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = job, ["severity"] = "critical" },
                new Dictionary<string, string> { ["summary"] = "Service web-interface is down" },
                new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 8, 30, 0, TimeSpan.Zero), "", "fedcba9876543210"),
        ],
        new Dictionary<string, string> { ["alertname"] = "ServiceDown" },
        new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = job, ["severity"] = "critical" },
        new Dictionary<string, string>(), "http://wk.example", "{}:{alertname=\"ServiceDown\"}");

    [Fact]
    public void Default_titles_and_texts_read_well_for_every_integration()
    {
        var t = new GoNotificationTemplates();
        var d = Data();
        Assert.Equal("[FIRING:1] ServiceDown on api-service (critical)", t.Expand("""{{ template "slack.default.title" . }}""", d));
        Assert.Equal("[RESOLVED] ServiceDown on api-service (critical)", t.Expand("""{{ template "email.default.subject" . }}""", Data("resolved")));
        var slack = t.Expand("""{{ template "slack.default.text" . }}""", d);
        Assert.Contains("*Still firing (1)*", slack, StringComparison.Ordinal);
        Assert.Contains("• Service api-service is down — down for more than 1 minute <http://prom/graph|source>", slack, StringComparison.Ordinal);
        Assert.Contains("*Now resolved (1)*\n• Service web-interface is down", slack, StringComparison.Ordinal);
        var text = t.Expand("""{{ template "email.default.text" . }}""", d);
        Assert.Contains("labels: alertname=ServiceDown job=api-service severity=critical", text, StringComparison.Ordinal);
        Assert.Contains("Sent by Watchkeeper to receiver ops. Open: http://wk.example", text, StringComparison.Ordinal);
        Assert.StartsWith("[FIRING:1] ServiceDown on api-service (critical): ", t.Expand("""{{ template "pagerduty.default.description" . }}""", Data(summary: "x")) + ": ", StringComparison.Ordinal);
        Assert.Contains("**Still firing (1)**", t.Expand("""{{ template "msteamsv2.default.text" . }}""", d), StringComparison.Ordinal);
    }

    [Fact]
    public void The_HTML_email_escapes_label_and_annotation_values()
    {
        var t = new GoNotificationTemplates();
        var html = t.Expand("""{{ template "email.default.html" . }}""", Data(summary: "<script>alert(1)</script>", job: "a&b"));
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("on a&amp;b", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_templates_file_can_redefine_a_default_and_errors_are_reported()
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, """{{ define "slack.default.title" }}{{ .CommonLabels.alertname | toUpper }} for {{ .Receiver }}{{ end }}""");
            var t = new GoNotificationTemplates([f]);
            Assert.Equal("SERVICEDOWN for ops", t.Expand("""{{ template "slack.default.title" . }}""", Data()));
            Assert.Throws<NotificationTemplateException>(() => t.Expand("{{ .Nope }", Data()));
            File.WriteAllText(f, "{{ define \"x\" }}{{ end ");
            var ex = Assert.Throws<NotificationTemplateException>(() => new GoNotificationTemplates([f]));
            Assert.Contains(f, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(f);
        }
    }

    [Fact]
    public void Slack_payload_is_Block_Kit_with_a_150_character_header()
    {
        var t = new GoNotificationTemplates();
        var body = JsonDocument.Parse(SlackNotifier.Payload(Data(), new SlackConfig { Title = new string('T', 400), Channel = "#x" }, t)).RootElement;
        Assert.Equal(150, body.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString()!.Length);
        Assert.Equal("#x", body.GetProperty("channel").GetString());
        Assert.Equal("[FIRING:1] ServiceDown on api-service (critical)", body.GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("critical", "critical")]
    [InlineData("PAGE", "critical")]
    [InlineData("warning", "warning")]
    [InlineData("info", "info")]
    [InlineData("high", "error")]
    [InlineData("", "error")]
    [InlineData("whatever", "error")]
    public void PagerDuty_severity_is_mapped_onto_its_four_levels(string label, string expected) =>
        Assert.Equal(expected, PagerDutyNotifier.MapSeverity(label));

    [Fact]
    public void Email_message_has_the_headers_and_both_bodies()
    {
        var m = EmailNotifier.Build(Data(), new EmailConfig { To = "a@example.org", From = "wk@example.org", Headers = new Dictionary<string, string> { ["Subject"] = "{{ .Status }}!", ["X-Group"] = "{{ .GroupKey }}" } },
            new GoNotificationTemplates(), "k");
        Assert.Equal("firing!", m.Subject);
        Assert.Equal("{}:{alertname=\"ServiceDown\"}", m.Headers["X-Group"]);
        Assert.Contains("Still firing", m.TextBody, StringComparison.Ordinal);
        Assert.Contains("<h2", m.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public void Unconfigured_integrations_name_what_is_missing()
    {
        Assert.Equal("api_url is not set", Integrations.Unconfigured(new SlackConfig()));
        Assert.Equal("api_url_file /nonexistent/secret does not exist", Integrations.Unconfigured(new SlackConfig { ApiUrlFile = "/nonexistent/secret" }));
        Assert.Null(Integrations.Unconfigured(new SlackConfig { ApiUrlFile = typeof(NotifyTemplateTests).Assembly.Location }));
        Assert.Equal("smarthost smtp.x.invalid:587 is a placeholder (.invalid)",
            Integrations.Unconfigured(new EmailConfig { To = "a@example.org", From = "b@example.org", Smarthost = "smtp.x.invalid:587" }));
        Assert.Equal("smarthost is not set", Integrations.Unconfigured(new EmailConfig { To = "x@example.org" }));
        Assert.Equal("routing_key is not set", Integrations.Unconfigured(new PagerDutyConfig()));
        Assert.Equal("webhook_url is not set", Integrations.Unconfigured(new MsTeamsV2Config()));
    }
}
