using Watchkeeper.Alerting.Config;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Tests.Notifications;

namespace Watchkeeper.Cli.Tests;

public sealed class NotificationCommandTests
{
    [Fact]
    public async Task Wk_notifications_lists_shows_the_tries_and_names_the_unconfigured_receivers()
    {
        await using var hook = await LoopbackReceiver.StartAsync();
        hook.Respond = _ => (503, "maintenance", null);
        await using var s = await NotifyFixture.StartAsync(false, [new ReceiverConfig("ops", [new SlackConfig()], [], [], [new WebhookConfig { Url = hook.Url() }], [])]);
        var id = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, "ops", "webhook_configs[0]"));
        Assert.Equal(1, await s.Get<NotificationSender>().RunOnceAsync());
        var wk = await new Wk(s).LoginAsync();

        var list = await wk.RunAsync("notifications", "list");
        Assert.True(list.Code == 0, list.ToString());
        var row = Assert.Single(list.Out.Split('\n'), l => l.TrimStart().StartsWith(id.ToString(System.Globalization.CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal));
        Assert.Contains("webhook_configs[0]", row);
        Assert.Contains("pending", row);
        Assert.Contains("503", row);
        Assert.Equal(1, (await wk.JsonAsync("notifications", "list", "--status", "pending")).GetProperty("total").GetInt32());
        Assert.Equal(0, (await wk.JsonAsync("notifications", "list", "--status", "delivered")).GetProperty("total").GetInt32());

        var show = await wk.RunAsync("notifications", "show", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(show.Code == 0, show.ToString());
        Assert.Contains("retry", show.Out);
        Assert.Contains("HTTP 503: maintenance", show.Out);
        Assert.Contains(" ms", show.Out);

        var receivers = await wk.RunAsync("notifications", "receivers");
        Assert.True(receivers.Code == 0, receivers.ToString());
        Assert.Contains("unconfigured: api_url is not set", receivers.Out);
        Assert.Contains("1 unconfigured integration(s)", receivers.Out);

        var missing = await wk.RunAsync("notifications", "show", "999");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("notification 999 not found", missing.Err);
        Assert.Single(missing.Err.TrimEnd().Split('\n'));
    }
}
