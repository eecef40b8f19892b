using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.OnCall;

public sealed class OnCallConfigTests
{
    private static (string Path, int Line) Edited(Func<string, string> edit, string find)
    {
        var dir = Directory.CreateTempSubdirectory("wk-oncall-cfg-").FullName;
        var path = TestServer.CopyConfig(dir, edit);
        var lines = File.ReadAllLines(path);
        return (path, Array.FindIndex(lines, l => l.Contains(find, StringComparison.Ordinal)) + 1);
    }

    [Fact]
    public void The_shipped_on_call_sections_load_with_the_seeds_escalation_per_severity()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        var m = OnCallModel.For(c);
        Assert.Equal(["primary"], m.Schedules.Keys);
        Assert.Equal("sev1-critical", m.PolicyFor("SEV1")!.Name);
        Assert.Equal(["schedule primary", "role team_lead", "role management"], m.PolicyFor("SEV1")!.Steps[^1].Notify.Select(t => t.ToString()));
        Assert.Equal(["schedule primary", "role team_lead"], m.PolicyFor("SEV2")!.Steps[^1].Notify.Select(t => t.ToString()));
        Assert.Equal(["schedule primary"], m.PolicyFor("SEV3")!.Steps.SelectMany(s => s.Notify).Select(t => t.ToString()));
        Assert.Empty(m.PolicyFor("SEV4")!.Steps);
        // Each policy's first wait is its severity's response target.
        foreach (var sev in c.Severities.Take(3)) Assert.Equal(sev.ResponseTime.Value, m.PolicyFor(sev.Id)!.Steps[0].Wait.Value);
    }

    [Theory]
    [InlineData("time_zone: UTC", "time_zone: Mars/Base", "schedules[0].time_zone", "'Mars/Base' is not an IANA time zone")]
    [InlineData("rotation: weekly", "rotation: fortnightly", "schedules[0].layers[0].rotation", "'fortnightly' is not daily, weekly or custom")]
    [InlineData("participants: [oncall-engineer-1, oncall-engineer-2]", "participants: [oncall-engineer-1, ghost]", "schedules[0].layers[0].participants[1]", "unknown person 'ghost'")]
    [InlineData("    severities: [SEV3]", "    severities: [SEV9]", "escalation_policies[2].severities[0]", "unknown severity 'SEV9'")]
    [InlineData("  ack_link_ttl: 24h", "  ack_link_ttl: 90d", "oncall.ack_link_ttl", "must be between 1m and 30d")]
    [InlineData("      - notify: [{schedule: primary}]\n        wait: 1h", "      - notify: [{schedule: secondary}]\n        wait: 1h", "escalation_policies[2].steps[0].notify[0].schedule", "unknown schedule 'secondary'")]
    public void Errors_in_the_on_call_sections_name_file_line_and_key(string find, string replace, string key, string problem)
    {
        var (path, line) = Edited(y => y.Replace(find, replace, StringComparison.Ordinal), replace.Split('\n')[0].Trim());
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(key, ex.Key);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"{path}:{line}:{key}: ", ex.Message, StringComparison.Ordinal);
    }
}
