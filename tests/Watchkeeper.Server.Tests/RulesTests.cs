using System.Text.Json;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Rules;

namespace Watchkeeper.Server.Tests;

/// <summary>Rule files in the server: loading, refusing bad files, reload, the rules and alerts API and the rules page.</summary>
public sealed class RulesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Rules = """
        groups:
          - name: test-group
            interval: 10s
            rules:
              - alert: AlwaysOn
                expr: vector(1) > 0
                for: 20s
                labels:
                  severity: critical
                annotations:
                  summary: "value {{ $value }} <b>"
              - record: test:one
                expr: vector(1)
        """;

    private static async Task<(TestServer Server, string RuleFile)> StartAsync(string rules = Rules)
    {
        var dir = Directory.CreateTempSubdirectory("wk-rules-").FullName;
        var file = Path.Combine(dir, "test.yml");
        await File.WriteAllTextAsync(file, rules, Ct);
        var s = await TestServer.StartAsync(editConfig: y => y.Replace("  - rules/*.yml", "  - " + file, StringComparison.Ordinal));
        return (s, file);
    }

    private static async Task UntilAsync(TestServer s, Func<bool> done)
    {
        for (var i = 0; i < 600 && !done(); i++)
        {
            s.Time.Advance(TimeSpan.FromSeconds(1));
            for (var k = 0; k < 20 && !done(); k++) await Task.Delay(2, Ct);
        }
        Assert.True(done());
    }

    [Fact]
    public void A_bad_rule_file_refuses_the_config_naming_file_line_and_rule()
    {
        var dir = Directory.CreateTempSubdirectory("wk-rules-").FullName;
        var bad = Path.Combine(dir, "bad.yml");
        File.WriteAllText(bad, "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: up ==\n");
        var config = TestServer.CopyConfig(dir, y => y.Replace("  - rules/*.yml", "  - " + bad, StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(config));
        Assert.Contains($"{bad}: 5:15: group \"g\", rule 1, \"Broken\": could not parse expression", ex.Message, StringComparison.Ordinal);
        Assert.Equal("rule_files", ex.Key);
    }

    [Fact]
    public async Task Global_rule_query_offset_is_the_default_for_groups_without_their_own_query_offset()
    {
        var dir = Directory.CreateTempSubdirectory("wk-rules-").FullName;
        var file = Path.Combine(dir, "offset.yml");
        await File.WriteAllTextAsync(file, """
            groups:
              - name: inherits
                rules:
                  - record: test:inherits
                    expr: vector(1)
              - name: own
                query_offset: 0s
                rules:
                  - record: test:own
                    expr: vector(1)
            """, Ct);
        await using var s = await TestServer.StartAsync(editConfig: y => y
            .Replace("  - rules/*.yml", "  - " + file, StringComparison.Ordinal)
            .Replace("  evaluation_interval: 15s", "  evaluation_interval: 15s\n  rule_query_offset: 1m", StringComparison.Ordinal));
        var runtime = s.Get<RulesRuntime>();
        await UntilAsync(s, () => runtime.Manager?.Groups is { Count: 2 } gs && gs.All(g => g.LastEvaluation is not null));
        var groups = runtime.Manager!.Groups.ToDictionary(g => g.Name);
        Assert.Equal(TimeSpan.FromMinutes(1), groups["inherits"].QueryOffset);
        Assert.Equal(TimeSpan.Zero, groups["own"].QueryOffset);

        // A recording rule's sample is written at the evaluation time minus the offset, as Prometheus does.
        using var c = await s.ClientAsAsync("viewer");
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var age = (await c.Get($"/prometheus/api/v1/query?query=time()-timestamp(test:inherits)&time={now.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
            .GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString();
        Assert.True(double.Parse(age!, System.Globalization.CultureInfo.InvariantCulture) >= 60, $"test:inherits sample is {age}s old");

        var bad = TestServer.CopyConfig(dir, y => y.Replace("  evaluation_interval: 15s", "  evaluation_interval: 15s\n  rule_query_offset: soon", StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(bad));
        Assert.Contains("global.rule_query_offset", ex.Message + ex.Key, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_config_loads_the_seed_rules_and_the_recording_rules()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        var names = c.RuleFileDefs.SelectMany(f => f.Groups).SelectMany(g => g.Rules).Select(r => r.Name).ToList();
        Assert.Contains("ServiceDown", names);
        Assert.Contains("HighErrorRate", names);
        Assert.Contains("HighResponseTime", names);
        Assert.Contains("job:http_requests_error_ratio:rate5m", names);
        Assert.Contains("instance:node_memory_utilisation:ratio", names);
    }

    [Fact]
    public async Task Alerts_go_pending_then_firing_on_the_injected_clock_and_the_API_answers_as_Prometheus()
    {
        var (s, _) = await StartAsync();
        await using var _s = s;
        var runtime = s.Get<RulesRuntime>();
        await UntilAsync(s, () => runtime.Manager?.Groups is [var g] && g.Rules[0] is AlertingRule { State: AlertState.Firing });
        using var c = await s.ClientAsAsync("viewer");

        using var alerts = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/alerts", Ct));
        var a = alerts.RootElement.GetProperty("data").GetProperty("alerts")[0];
        Assert.Equal("firing", a.GetProperty("state").GetString());
        Assert.Equal("1e+00", a.GetProperty("value").GetString());
        Assert.Equal("value 1 <b>", a.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("AlwaysOn", a.GetProperty("labels").GetProperty("alertname").GetString());

        using var rules = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/rules", Ct));
        var group = rules.RootElement.GetProperty("data").GetProperty("groups")[0];
        Assert.Equal(("test-group", 10.0), (group.GetProperty("name").GetString(), group.GetProperty("interval").GetDouble()));
        var alerting = group.GetProperty("rules")[0];
        Assert.Equal(("alerting", "firing", "ok", 20.0), (alerting.GetProperty("type").GetString(), alerting.GetProperty("state").GetString(),
            alerting.GetProperty("health").GetString(), alerting.GetProperty("duration").GetDouble()));
        Assert.Single(alerting.GetProperty("alerts").EnumerateArray());
        Assert.NotEqual("0001-01-01T00:00:00Z", alerting.GetProperty("lastEvaluation").GetString());
        Assert.Equal("recording", group.GetProperty("rules")[1].GetProperty("type").GetString());

        using var records = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/rules?type=record", Ct));
        Assert.Equal(["test:one"], records.RootElement.GetProperty("data").GetProperty("groups")[0].GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
        using var excluded = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/rules?rule_name[]=AlwaysOn&exclude_alerts=true", Ct));
        var only = Assert.Single(excluded.RootElement.GetProperty("data").GetProperty("groups")[0].GetProperty("rules").EnumerateArray());
        Assert.False(only.TryGetProperty("alerts", out _));
        using var none = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/rules?rule_group[]=other", Ct));
        Assert.Empty(none.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray());
        using var bad = await c.GetAsync("/prometheus/api/v1/rules?type=bogus", Ct);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);

        // ALERTS and the recording rule's series are in the TSDB.
        using var q = JsonDocument.Parse(await c.GetStringAsync("/prometheus/api/v1/query?query=" + Uri.EscapeDataString("ALERTS{alertstate=\"firing\"} + on() test:one"), Ct));
        Assert.Equal("2", q.RootElement.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());

        // The page shows the rule, its state and health, with template output encoded.
        using var page = await c.GetAsync("/rules", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("data-rule=\"AlwaysOn\" data-state=\"firing\" data-health=\"ok\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>\"", html, StringComparison.Ordinal);
        var metrics = await s.Client().GetStringAsync("/metrics", Ct);
        Assert.Contains("watchkeeper_rule_group_last_duration_seconds{rule_group=", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_with_a_bad_rule_file_keeps_the_running_rules_and_a_good_one_replaces_them()
    {
        var (s, file) = await StartAsync();
        await using var _s = s;
        var runtime = s.Get<RulesRuntime>();
        await UntilAsync(s, () => runtime.Manager?.Groups.Count == 1);
        await File.WriteAllTextAsync(file, "groups:\n  - name: g\n    rules:\n      - record: bad-name\n        expr: up\n", Ct);
        var holder = s.Get<ConfigHolder>();
        var failed = holder.Reload(s.Time);
        Assert.False(failed.Ok);
        Assert.Contains("4:17: group \"g\", rule 1, \"bad-name\": invalid recording rule name: bad-name", failed.Error, StringComparison.Ordinal);
        Assert.Equal(["AlwaysOn", "test:one"], runtime.Manager!.Groups.Single().Rules.Select(r => r.Name));

        await File.WriteAllTextAsync(file, Rules.Replace("test:one", "test:two", StringComparison.Ordinal), Ct);
        Assert.True(holder.Reload(s.Time).Ok);
        await UntilAsync(s, () => runtime.Manager!.Groups.Single().Rules[1].Name == "test:two");
    }
}
