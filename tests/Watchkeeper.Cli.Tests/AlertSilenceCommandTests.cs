using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class AlertSilenceCommandTests
{
    [Fact]
    public async Task Alerts_are_listed_and_silences_are_added_listed_and_expired()
    {
        await using var s = await TestServer.StartAsync();
        var engine = s.Get<AlertingEngine>();
        Assert.Empty(engine.Receive([new(new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["service"] = "api" }, new Dictionary<string, string> { ["summary"] = "api is down" }, null, null, "")]));
        var wk = await new Wk(s).LoginAsync();
        var list = await wk.RunAsync("alert", "list");
        Assert.True(list.Code == 0, list.ToString());
        Assert.Contains(list.Out.Split('\n'), l => l.Contains("ServiceDown", StringComparison.Ordinal) && l.Contains("api is down", StringComparison.Ordinal));

        var noComment = await wk.RunAsync("silence", "add", "alertname=ServiceDown");
        Assert.Equal(2, noComment.Code);
        Assert.Contains("--comment is required", noComment.Err, StringComparison.Ordinal);
        var bad = await wk.RunAsync("silence", "add", "alertname=~\"(\"", "--comment", "x");
        Assert.Equal(2, bad.Code);
        Assert.Single(bad.Err.Trim().Split('\n'));

        var add = await wk.RunAsync("silence", "add", "alertname=ServiceDown", "--comment", "deploy", "--duration", "2h");
        Assert.True(add.Code == 0, add.ToString());
        var id = add.Out.Trim();
        Assert.Matches("^[0-9a-f-]{36}$", id);
        Assert.Empty((await wk.JsonAsync("alert", "list")).EnumerateArray());
        Assert.Single((await wk.JsonAsync("alert", "list", "--silenced")).EnumerateArray());
        var silences = await wk.RunAsync("silence", "list");
        Assert.Contains(silences.Out.Split('\n'), l => l.Contains(id, StringComparison.Ordinal) && l.Contains("admin", StringComparison.Ordinal));
        Assert.Equal(0, (await wk.RunAsync("silence", "expire", id)).Code);
        var again = await wk.RunAsync("silence", "expire", id);
        Assert.Equal(1, again.Code);
        Assert.Contains("already expired", again.Err, StringComparison.Ordinal);
        Assert.Contains((await wk.RunAsync("silence", "list", "--expired")).Out.Split('\n'), l => l.Contains(id, StringComparison.Ordinal));
    }
}
