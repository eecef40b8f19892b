using System.Net.Http.Json;
using System.Text.Json;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>The shipped route and receivers (config/openpolicy/alertmanager.yml): the operations manual's severity policy.</summary>
public sealed class ShippedRouteTests
{
    [Theory]
    [InlineData("critical", "critical", new[] { "slack_configs[0]", "email_configs[0]", "pagerduty_configs[0]" })]
    [InlineData("warning", "warning", new[] { "slack_configs[0]", "email_configs[0]" })]
    [InlineData("info", "team-slack", new[] { "slack_configs[0]" })]
    [InlineData("", "team-slack", new[] { "slack_configs[0]" })]
    public void Each_severity_reaches_the_receivers_the_manual_names_all_at_once(string severity, string receiver, string[] integrations)
    {
        var config = ConfigLoader.Load(TestServer.DefaultConfig).Alertmanager;
        var labels = new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = "api-service" };
        if (severity.Length > 0) labels["severity"] = severity;
        var route = Assert.Single(config.Route!.Match(labels));
        Assert.Equal(receiver, route.Opts.Receiver);
        var r = config.Receiver(receiver)!;
        Assert.Equal(integrations.Order(StringComparer.Ordinal), r.Integrations().Select(i => i.Name).Order(StringComparer.Ordinal));
        // Shipped unconfigured: each is a no-op until its address is set.
        Assert.All(r.Integrations(), i => Assert.NotNull(Integrations.Unconfigured(i.Config)));
    }

    [Fact]
    public async Task The_running_server_lists_the_shipped_receivers_as_unconfigured()
    {
        await using var s = await TestServer.StartAsync();
        using var c = await s.ClientAsAsync("viewer");
        var list = await c.GetFromJsonAsync<JsonElement>("/api/v1/notifications/receivers");
        var items = list.EnumerateArray().ToList();
        Assert.Equal(6, items.Count);
        Assert.All(items, i => Assert.False(i.GetProperty("configured").GetBoolean()));
        Assert.Contains(items, i => i.GetProperty("receiver").GetString() == "critical" && i.GetProperty("kind").GetString() == "pagerduty"
                                     && i.GetProperty("unconfigured").GetString() == "routing_key_file /etc/watchkeeper/pagerduty-routing-key does not exist");
    }
}
