using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Templates;
using Watchkeeper.Metrics.Templates;
using Xunit;

namespace Watchkeeper.Alerting.Tests;

/// <summary>Alertmanager's template data and functions over the notification contract's TemplateData.</summary>
public sealed class NotificationTemplateTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 20, 15, 30, TimeSpan.Zero);

    private static NotificationTemplateData Data() => new(new TemplateData(
        "team-x", "firing",
        [
            new TemplateAlert("firing", new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["instance"] = "api-1:8080", ["severity"] = "critical", ["job"] = "api" },
                new Dictionary<string, string> { ["summary"] = "api-1 down" }, Start, null, "http://wk/graph?g0.expr=up", "1a2b3c4d5e6f7081"),
            new TemplateAlert("resolved", new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["instance"] = "api-2:8080", ["severity"] = "critical", ["job"] = "api" },
                new Dictionary<string, string> { ["summary"] = "api-2 down" }, Start.AddMinutes(-10), Start.AddMinutes(-1), "http://wk/graph", "0f0e0d0c0b0a0908"),
        ],
        new Dictionary<string, string> { ["alertname"] = "ServiceDown" },
        new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["severity"] = "critical", ["job"] = "api" },
        new Dictionary<string, string>(),
        "http://wk.example", "{}:{alertname=\"ServiceDown\"}"));

    private static string Render(string text, TimeProvider? time = null)
    {
        var set = new TemplateSet(AlertmanagerFunctions.Functions).Parse("t", text);
        return set.Execute("t", Data(), new AlertmanagerTemplateEnvironment(time ?? new FakeTimeProvider(Start.AddMinutes(5))));
    }

    [Theory]
    [InlineData("{{ .Status | toUpper }} {{ .Receiver }} {{ .ExternalURL }} {{ .GroupKey }}", "FIRING team-x http://wk.example {}:{alertname=\"ServiceDown\"}")]
    [InlineData("{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}", "2 1 1")]
    [InlineData("{{ range .Alerts.Firing }}{{ .Labels.instance }} {{ .Annotations.summary }} {{ .StartsAt.Format \"15:04\" }} {{ .Fingerprint }}{{ end }}", "api-1:8080 api-1 down 20:15 1a2b3c4d5e6f7081")]
    [InlineData("{{ range .Alerts.Resolved }}{{ .EndsAt }}{{ end }}|{{ (index .Alerts 0).EndsAt }}", "2026-12-06 20:14:30 +0000 UTC|0001-01-01 00:00:00 +0000 UTC")]
    [InlineData("{{ .CommonLabels.SortedPairs }}", "alertname=ServiceDown, job=api, severity=critical")]
    [InlineData("{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}", "alertname=ServiceDown;job=api;severity=critical;")]
    [InlineData("{{ join \",\" .CommonLabels.Names }} {{ join \",\" .CommonLabels.Values }}", "alertname,job,severity ServiceDown,api,critical")]
    [InlineData("{{ .CommonLabels.Remove (stringSlice \"alertname\" \"job\") }}", "map[severity:critical]")]
    [InlineData("{{ .GroupLabels.alertname }}|{{ .CommonAnnotations.summary }}|{{ .CommonLabels }}", "ServiceDown||map[alertname:ServiceDown job:api severity:critical]")]
    [InlineData("{{ title \"hELLO wORLD\" }} {{ trimSpace \"  x \" }} {{ match \"^Service\" .GroupLabels.alertname }} {{ reReplaceAll \":.*\" \"\" \"h:1\" }}", "Hello World x true h")]
    [InlineData("{{ date \"2006-01-02 15:04 MST\" (index .Alerts 0).StartsAt }}", "2026-12-06 20:15 UTC")]
    [InlineData("{{ (index .Alerts 0).StartsAt | tz \"America/Toronto\" | date \"15:04 -07:00\" }}", "15:15 -05:00")]
    [InlineData("{{ since (index .Alerts 0).StartsAt }} {{ humanizeDuration 3661 }}", "5m0s 1h 1m 1s")]
    [InlineData("{{ toJson .GroupLabels }}", "{\"alertname\":\"ServiceDown\"}")]
    public void Renders_as_alertmanager(string template, string expected) => Assert.Equal(expected, Render(template));

    [Fact]
    public void Unknown_field_names_the_go_type()
    {
        var e = Assert.Throws<TemplateException>(() => Render("{{ .Nope }}"));
        Assert.Equal("template: t:1:3: executing \"t\" at <.Nope>: can't evaluate field Nope in type *template.Data", e.Message);
    }
}
