using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>The probes and uptime sections: shipped defaults load, bad input is refused with file:line:key.</summary>
public sealed class ProbesConfigTests
{
    private static (string Path, int Line) Edited(string marker, Func<string, string> edit)
    {
        var dir = Directory.CreateTempSubdirectory("wk-probes-config-").FullName;
        var path = TestServer.CopyConfig(dir, edit);
        var lines = File.ReadAllLines(path);
        var idx = Array.FindIndex(lines, l => marker.StartsWith('=') ? l == marker[1..] : l.Contains(marker, StringComparison.Ordinal));
        Assert.True(idx >= 0, $"marker '{marker}' not in the edited config");
        return (path, idx + 1);
    }

    private static void Fails(string marker, Func<string, string> edit, string key, string problem)
    {
        var (path, line) = Edited(marker, edit);
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(key, ex.Key);
        Assert.Equal(line, ex.Line);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:{line}:{key}: ", ex.Message, StringComparison.Ordinal);
    }

    private static string Replace(string yaml, string from, string to)
    {
        Assert.Contains(from, yaml, StringComparison.Ordinal);
        return yaml.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_checks_probe_watchkeeper_and_the_demo_services()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        Assert.Equal(["watchkeeper-health", "api-service", "web-interface"], c.Probes.Checks.Select(x => x.Name));
        Assert.Equal("/-/healthy", c.Probes.Checks[0].Target);
        Assert.Equal(["Healthy"], c.Probes.Modules["http_health"].Http.FailIfBodyNotMatchesRegexp);
        Assert.Equal(99.9, c.Uptime.Target);
        Assert.Equal(["api-service", "web-interface"], c.Uptime.UpJobs);
        Assert.Contains(c.RuleFileDefs.SelectMany(f => f.Groups).SelectMany(g => g.Rules), r => r.Alert == "ProbeFailed");
    }

    [Fact]
    public void An_unsupported_url_scheme_is_refused()
    {
        Fails("ftp://", y => Replace(y, "target: /-/demo/api-service/metrics", "target: ftp://files.example/x"),
            "probes.checks[1].target", "unsupported URL scheme 'ftp'");
    }

    [Fact]
    public void A_bad_regular_expression_is_refused()
    {
        Fails("fail_if_body_not_matches_regexp", y => Replace(y, "fail_if_body_not_matches_regexp: [\"Healthy\"]", "fail_if_body_not_matches_regexp: [\"Heal(thy\"]"),
            "probes.modules.http_health.http.fail_if_body_not_matches_regexp[0]", "invalid regular expression \"Heal(thy\"");
    }

    [Fact]
    public void A_bad_duration_is_refused()
    {
        Fails("interval: 30x", y => Replace(y, "      target: /-/healthy\n      interval: 30s", "      target: /-/healthy\n      interval: 30x"),
            "probes.checks[0].interval", "invalid duration \"30x\"");
    }

    [Fact]
    public void An_unknown_module_and_a_timeout_longer_than_the_interval_are_refused()
    {
        Fails("module: http_3xx", y => Replace(y, "module: http_health", "module: http_3xx"), "probes.checks[0].module", "unknown module 'http_3xx'");
        Fails("timeout: 1m", y => Replace(y, "      target: /-/healthy\n      interval: 30s", "      target: /-/healthy\n      interval: 30s\n      timeout: 1m"),
            "probes.checks[0].timeout", "must not be longer than the interval");
    }

    [Fact]
    public void Too_many_checks_are_refused()
    {
        Fails("=  checks:", y => Replace(y, "probes:\n  modules:", "probes:\n  max_checks: 2\n  modules:"), "probes.checks", "3 checks is more than probes.max_checks (2)");
    }

    [Fact]
    public void An_icmp_module_is_refused_when_the_process_may_not_open_raw_sockets()
    {
        var saved = ProbesConfigCheck.RawSocketsAllowed;
        try
        {
            ProbesConfigCheck.RawSocketsAllowed = () => false;
            Fails("prober: icmp", y => Replace(y, "    tcp_connect:\n      prober: tcp", "    tcp_connect:\n      prober: icmp"),
                "probes.modules.tcp_connect.prober", "icmp probes need raw sockets");
        }
        finally
        {
            ProbesConfigCheck.RawSocketsAllowed = saved;
        }
    }

    [Fact]
    public void Uptime_retention_below_400_days_is_refused()
    {
        Fails("retention: 90d", y => Replace(y, "uptime:\n  target: 99.9", "uptime:\n  retention: 90d\n  target: 99.9"), "uptime.retention", "must be at least 400d");
    }

    [Theory]
    [InlineData("http", "/-/healthy", false, "unsupported URL scheme")]
    [InlineData("http", "gopher://x", true, "unsupported URL scheme 'gopher'")]
    [InlineData("tcp", "db.internal", true, "is not host:port")]
    [InlineData("tcp", "[::1]:5432", false, null)]
    [InlineData("dns", "127.0.0.1", false, null)]
    [InlineData("dns", "127.0.0.1:99999", true, "is not host:port")]
    public void Targets_are_checked_per_prober(string prober, string target, bool allowSelf, string? problem)
    {
        var error = ProbesConfigCheck.TargetError(prober, target, allowSelf);
        if (problem is null) Assert.Null(error);
        else if (prober == "http" && !allowSelf && target.StartsWith('/')) Assert.NotNull(error);
        else Assert.Contains(problem, error, StringComparison.Ordinal);
    }
}
