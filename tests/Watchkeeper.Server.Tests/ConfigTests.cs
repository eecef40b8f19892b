using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

public sealed class ConfigTests : IDisposable
{
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        foreach (var d in _dirs) try { Directory.Delete(d, true); } catch (IOException) { }
    }

    private string TempDir()
    {
        var dir = Directory.CreateTempSubdirectory("wk-config-").FullName;
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>Writes the shipped configuration, edited, to a temp folder; returns its path and the 1-based line of <paramref name="marker"/>.</summary>
    private (string Path, int Line) Edited(Func<string, string> edit, string marker)
    {
        var dir = TempDir();
        var path = TestServer.CopyConfig(dir, edit);
        var lines = File.ReadAllLines(path);
        var idx = Array.FindIndex(lines, l => l.Contains(marker, StringComparison.Ordinal));
        Assert.True(idx >= 0, $"marker '{marker}' not in the edited config");
        return (path, idx + 1);
    }

    private static ConfigException LoadFails(string path) => Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

    private static void AssertNames(ConfigException ex, string path, int line, string key, string problem)
    {
        Assert.Equal(path, ex.File);
        Assert.Equal(line, ex.Line);
        Assert.Equal(key, ex.Key);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:{line}:{key}: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_configuration_loads()
    {
        var c = ConfigLoader.Load(TestServer.DefaultConfig);
        Assert.Equal(["SEV1", "SEV2", "SEV3", "SEV4"], c.Severities.Select(s => s.Id));
        Assert.Equal(TimeSpan.FromMinutes(5), c.Severities[0].ResponseTime.Value);
        Assert.Equal(TimeSpan.FromHours(72), c.Severities[3].ResolutionTime.Value);
        Assert.Equal(5, c.Checklists["operational"].Phases.Count);
        Assert.Equal(5, c.Checklists["security"].Phases.Count);
        Assert.Contains("{{current_status}}", c.StatusUpdateTemplate, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_duration_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("response_time: 15m", "response_time: 15 minutes", StringComparison.Ordinal), "response_time: 15 minutes");
        AssertNames(LoadFails(path), path, line, "severities[1].response_time", "invalid duration \"15 minutes\"");
    }

    [Fact]
    public void Out_of_range_duration_is_a_config_error()
    {
        var (path, line) = Edited(y => y.Replace("response_time: 15m", "response_time: 99999999999999y", StringComparison.Ordinal), "99999999999999y");
        AssertNames(LoadFails(path), path, line, "severities[1].response_time", "invalid duration");
    }

    [Theory]
    [InlineData("30s", 30_000L)]
    [InlineData("1h30m", 5_400_000L)]
    [InlineData("2d", 172_800_000L)]
    [InlineData("1w", 604_800_000L)]
    [InlineData("250ms", 250L)]
    [InlineData("0", 0L)]
    public void Durations_parse_prometheus_style(string text, long ms)
    {
        Assert.True(Duration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), d.Value);
        if (ms > 0) Assert.Equal(d, Duration.Parse(d.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 minutes")]
    [InlineData("-5m")]
    [InlineData("1m1h")]
    [InlineData("99999999999999999999s")]
    [InlineData("9223372036854775807ms")]
    [InlineData("300000y")]
    public void Invalid_durations_are_rejected_without_throwing(string text) => Assert.False(Duration.TryParse(text, out _));

    [Fact]
    public void Unknown_key_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("    name: high\n", "    name: high\n    colour: orange\n", StringComparison.Ordinal), "colour: orange");
        AssertNames(LoadFails(path), path, line, "severities[1].colour", "unknown key 'colour'");
    }

    [Fact]
    public void Unknown_top_level_key_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("auth:\n", "authentication_mode: strict\nauth:\n", StringComparison.Ordinal), "authentication_mode");
        AssertNames(LoadFails(path), path, line, "authentication_mode", "unknown key 'authentication_mode'");
    }

    /// <summary>
    /// Bad configurations and the exact message each gives. Each row edits the shipped file (find -> replace); the
    /// line is the line of <c>marker</c> in the edited file.
    /// </summary>
    public static TheoryData<string, string, string, string, string> BadConfigs => new()
    {
        // find, replace, marker, key, problem
        { "severities:\n", "sevrities:\n", "sevrities:", "sevrities", "unknown key 'sevrities' (did you mean 'severities'?)" },
        { "  session_lifetime: 12h", "  sesion_lifetime: 12h", "sesion_lifetime", "auth.sesion_lifetime", "unknown key 'sesion_lifetime' (did you mean 'session_lifetime'?)" },
        { "    name: high\n", "    name: high\n    colour: orange\n", "colour: orange", "severities[1].colour", "unknown key 'colour'" },
        { "auth:\n", "authentication_mode: strict\nauth:\n", "authentication_mode", "authentication_mode", "unknown key 'authentication_mode'" },
        { "  scrape_interval: 15s", "  scrape_intervl: 15s", "scrape_intervl", "global.scrape_intervl", "unknown key 'scrape_intervl' (did you mean 'scrape_interval'?)" },
        { "response_time: 15m", "response_time: 15 minutes", "response_time: 15 minutes", "severities[1].response_time", "invalid duration \"15 minutes\" (use e.g. 30s, 5m, 1h30m, 2d)" },
        { "login_attempts_per_minute: 10", "login_attempts_per_minute: lots", "lots", "auth.login_attempts_per_minute", "expected an integer, got \"lots\"" },
        { "login_attempts_per_minute: 10", "login_attempts_per_minute: 0", "login_attempts_per_minute: 0", "auth.login_attempts_per_minute", "must be positive" },
        { "  checkpoint_interval: 5m", "  checkpoint_interval: 0", "checkpoint_interval: 0", "audit.checkpoint_interval", "must be a positive duration" },
        { "  sla_check_interval: 15s", "  sla_check_interval: 0", "sla_check_interval: 0", "incidents.sla_check_interval", "must be a positive duration" },
        { "  enabled: true\n  services", "  enabled: maybe\n  services", "enabled: maybe", "demo.enabled", "expected true or false, got \"maybe\"" },
        { "services: [api-service, web-interface]", "services: [api-service, checkout]", "checkout", "demo.services[1]", "'checkout' is not a demo service; the demo simulates api-service and web-interface" },
        { "storage: {}", "storage:\n  tsdb:\n    retention: -1d", "retention: -1d", "storage.tsdb.retention", "invalid duration \"-1d\" (use e.g. 30s, 5m, 1h30m, 2d)" },
        { "storage: {}", "storage:\n  postgres: {}", "postgres: {}", "storage.postgres.connection_string", "must be set when storage.postgres is present" },
        { "storage: {}", "storage: [postgres]", "storage: [postgres]", "storage", "expected a mapping of keys, got a list" },
        { "    escalation: [\"On-call engineer\"]\n", "    escalation: \"On-call engineer\"\n", "escalation: \"On-call engineer\"", "severities[2].escalation", "expected a list, got \"On-call engineer\"" },
        { "  session_lifetime: 12h", "  session_lifetime: 12h\n  session_lifetime: 1h", "session_lifetime: 1h", "auth.session_lifetime", "duplicate key 'session_lifetime'" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bad_configs_give_exact_file_line_key_messages(string find, string replace, string marker, string key, string problem)
    {
        var (path, line) = Edited(y =>
        {
            Assert.Contains(find, y, StringComparison.Ordinal);
            return y.Replace(find, replace, StringComparison.Ordinal);
        }, marker);
        var ex = LoadFails(path);
        Assert.Equal($"{path}:{line}:{key}: {problem}", ex.Message);
        Assert.Equal((path, line, key, problem), (ex.File, ex.Line, ex.Key, ex.Problem));
    }

    [Theory]
    [InlineData("capacity: {}", "capacity", "capacity forecasts")]
    [InlineData("logs:\n  syslog: {}", "logs", "log ingestion")]
    [InlineData("slos: []", "slos", "SLOs")]
    public void Sections_for_features_not_built_are_rejected_saying_so(string section, string key, string feature)
    {
        var (path, line) = Edited(y => y.Replace("auth:\n", section + "\nauth:\n", StringComparison.Ordinal), section.Split('\n')[0]);
        Assert.Equal($"{path}:{line}:{key}: {feature} is not implemented yet (see docs/configuration.md)", LoadFails(path).Message);
    }

    [Theory]
    [InlineData("route:\n  receiver: ops", "route.receiver", 1, "undefined receiver \"ops\" used in route")]
    [InlineData("receivers:\n  - name: ops\n    opsgenie_configs: []", "receivers[0].opsgenie_configs", 2, "is an Alertmanager integration Watchkeeper does not implement")]
    [InlineData("alertmanager:\n  global:\n    resolve_timeout: soon", "alertmanager.global.resolve_timeout", 2, "")]
    public void Alertmanager_sections_are_bound_and_their_errors_name_file_line_and_key(string section, string key, int offset, string problem)
    {
        // Inline sections instead of the shipped alertmanager_config_file (the two cannot be combined).
        var (path, line) = Edited(y => y.Replace("alertmanager_config_file: alertmanager.yml\n", "", StringComparison.Ordinal)
            .Replace("auth:\n", section + "\nauth:\n", StringComparison.Ordinal), section.Split('\n')[0]);
        var ex = LoadFails(path);
        Assert.Equal((path, line + offset, key), (ex.File, ex.Line, ex.Key));
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_section_the_binder_accepts_is_documented_and_none_is_a_placeholder()
    {
        var docs = File.ReadAllText(Path.Combine(TestServer.RepoRoot, "docs", "configuration.md"));
        foreach (var key in ConfigBinder.KeysOf(typeof(WatchkeeperConfig)).Concat(ConfigLoader.MetricsSections))
            Assert.Contains($"`{key}`", docs, StringComparison.Ordinal);
        foreach (var p in typeof(WatchkeeperConfig).GetProperties())
            Assert.NotEqual(typeof(object), p.PropertyType);
        foreach (var key in ConfigLoader.NotImplemented.Keys)
            Assert.DoesNotContain(key, ConfigBinder.KeysOf(typeof(WatchkeeperConfig)));
    }

    [Fact]
    public void Duplicate_severity_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("  - id: SEV3", "  - id: SEV2", StringComparison.Ordinal), "  - id: SEV2\n".Trim('\n'));
        // The marker finds the first SEV2; the duplicate is the next one.
        var lines = File.ReadAllLines(path);
        var dup = Array.FindIndex(lines, line, l => l.Contains("- id: SEV2", StringComparison.Ordinal)) + 1;
        AssertNames(LoadFails(path), path, dup, "severities[2].id", "duplicate severity id 'SEV2'");
    }

    [Fact]
    public void Missing_checklist_file_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("checklists/security-incident.md", "checklists/no-such-file.md", StringComparison.Ordinal), "no-such-file.md");
        AssertNames(LoadFails(path), path, line, "incidents.checklists.security", "checklist file 'checklists/no-such-file.md' not found");
    }

    [Fact]
    public void Missing_template_file_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("templates/status-update.md", "templates/gone.md", StringComparison.Ordinal), "templates/gone.md");
        AssertNames(LoadFails(path), path, line, "incidents.status_update_template", "template file 'templates/gone.md' not found");
    }

    [Fact]
    public void Yaml_syntax_error_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("  scrape_interval: 15s", "  scrape_interval: [15s", StringComparison.Ordinal), "scrape_interval: [15s");
        var ex = LoadFails(path);
        Assert.Equal(path, ex.File);
        Assert.InRange(ex.Line, line, line + 1);
        Assert.StartsWith("global", ex.Key, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:{ex.Line}:{ex.Key}: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Semantic_errors_name_the_key()
    {
        var (p1, l1) = Edited(y => y.Replace("resolution_time: 1h\n", "resolution_time: 1m\n", StringComparison.Ordinal), "resolution_time: 1m");
        AssertNames(LoadFails(p1), p1, l1, "severities[0].resolution_time", "must not be shorter than response_time");
        var (p2, l2) = Edited(y => y.Replace("login_attempts_per_minute: 10", "login_attempts_per_minute: 0", StringComparison.Ordinal), "login_attempts_per_minute: 0");
        AssertNames(LoadFails(p2), p2, l2, "auth.login_attempts_per_minute", "must be positive");
    }

    [Fact]
    public void Wrong_value_type_names_file_line_and_key()
    {
        var (path, line) = Edited(y => y.Replace("login_attempts_per_minute: 10", "login_attempts_per_minute: lots", StringComparison.Ordinal), "login_attempts_per_minute: lots");
        var ex = LoadFails(path);
        AssertNames(ex, path, line, "auth.login_attempts_per_minute", "");
    }

    [Fact]
    public void Missing_required_field_points_at_the_entry_it_is_missing_from()
    {
        var (path, line) = Edited(y => y.Replace("    response_time: 1h\n", "", StringComparison.Ordinal), "  - id: SEV3");
        AssertNames(LoadFails(path), path, line, "severities[2].response_time", "must be a positive duration");
    }

    [Fact]
    public void Bad_checklist_file_names_its_own_file_and_line()
    {
        var dir = TempDir();
        var path = TestServer.CopyConfig(dir);
        var checklist = Path.Combine(dir, "config", "checklists", "security-incident.md");
        File.WriteAllText(checklist, File.ReadAllText(checklist).Replace("## Assessment (5-15 minutes)", "## Assessment", StringComparison.Ordinal));
        var ex = LoadFails(path);
        Assert.Equal(checklist, ex.File);
        Assert.Equal(Array.IndexOf(File.ReadAllLines(checklist), "## Assessment") + 1, ex.Line);
        Assert.Contains("time window", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_with_a_broken_file_keeps_the_running_config_and_a_good_one_applies()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        static double Sev1Response(System.Text.Json.JsonElement sevs) => sevs.Items().Single(x => x.Str("id") == "SEV1").Dbl("response_seconds");
        Assert.Equal(300, Sev1Response(await c.Get("/api/v1/severities")));
        var original = await File.ReadAllTextAsync(s.ConfigPath);
        var auth = s.Get<IOptionsMonitor<AuthConfig>>();
        Assert.Equal(TimeSpan.FromHours(12), auth.CurrentValue.SessionLifetime.Value);

        // A file that binds but fails a section check is refused as a whole: nothing of it applies.
        await File.WriteAllTextAsync(s.ConfigPath, original.Replace("session_lifetime: 12h", "session_lifetime: 8h", StringComparison.Ordinal)
            .Replace("checkpoint_every: 100", "checkpoint_every: 0", StringComparison.Ordinal));
        using (var r = await c.PostAsync("/-/reload", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(":audit.checkpoint_every: must be positive", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(TimeSpan.FromHours(12), auth.CurrentValue.SessionLifetime.Value);
        Assert.Equal(100, s.Get<IOptionsMonitor<AuditConfig>>().CurrentValue.CheckpointEvery);

        await File.WriteAllTextAsync(s.ConfigPath, original.Replace("response_time: 5m", "response_time: 10 minutes", StringComparison.Ordinal));
        using (var r = await c.PostAsync("/-/reload", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
            var p = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            var line = Array.FindIndex(original.Split('\n'), l => l.Contains("response_time: 5m", StringComparison.Ordinal)) + 1;
            Assert.StartsWith($"{s.ConfigPath}:{line}:severities[0].response_time: invalid duration", p.Str("detail"), StringComparison.Ordinal);
        }
        Assert.Equal(300, Sev1Response(await c.Get("/api/v1/severities")));
        Assert.Equal(0, IncidentStorageTests.ParseMetrics(await anon.GetStringAsync("/metrics"))["watchkeeper_config_last_reload_successful"]);
        var before = await c.Post("/api/v1/incidents", new { title = "still on the old matrix", severity = "SEV1" }, HttpStatusCode.Created);
        Assert.Equal(300, before.GetProperty("response_sla").Dbl("target_seconds"));

        // Storage cannot change on reload.
        await File.WriteAllTextAsync(s.ConfigPath, original.Replace("storage: {}", "storage:\n  postgres:\n    connection_string: \"Host=elsewhere\"", StringComparison.Ordinal));
        using (var r = await c.PostAsync("/-/reload", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("storage settings cannot change on reload", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(s.ConfigPath, original.Replace("response_time: 5m", "response_time: 10m", StringComparison.Ordinal));
        using (var r = await c.PostAsync("/-/reload", null))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.Equal(600, Sev1Response(await c.Get("/api/v1/severities")));
        Assert.Equal(TimeSpan.FromMinutes(10), s.Get<IOptionsMonitor<WatchkeeperConfig>>().CurrentValue.Severities[0].ResponseTime.Value);
        Assert.Equal(TimeSpan.FromHours(12), auth.CurrentValue.SessionLifetime.Value);
        Assert.Equal(1, IncidentStorageTests.ParseMetrics(await anon.GetStringAsync("/metrics"))["watchkeeper_config_last_reload_successful"]);
        var after = await c.Post("/api/v1/incidents", new { title = "on the new matrix", severity = "SEV1" }, HttpStatusCode.Created);
        Assert.Equal(600, after.GetProperty("response_sla").Dbl("target_seconds"));
        // Incidents declared before keep the clock they were declared with.
        Assert.Equal(300, (await c.Get($"/api/v1/incidents/{before.Long("id")}")).GetProperty("response_sla").Dbl("target_seconds"));
    }
}

[Collection(nameof(ConsoleCollection))]
public sealed class StartupTests
{
    [Fact]
    public async Task Sections_are_options_validated_on_start_with_file_line_key()
    {
        var dir = Directory.CreateTempSubdirectory("wk-config-").FullName;
        try
        {
            var path = TestServer.CopyConfig(dir);
            var line = Array.FindIndex(File.ReadAllLines(path), l => l.Contains("login_attempts_per_minute", StringComparison.Ordinal)) + 1;
            var serve = new ServeOptions { ConfigPath = path, DataDir = Path.Combine(dir, "data"), Listen = "127.0.0.1:0", AdminPassword = TestServer.AdminPassword };
            // A later Configure step (as a feature or a test could add) makes the bound section invalid: start refuses it.
            await using var app = ServerHost.Build(serve, b => b.Services.PostConfigure<AuthConfig>(o => o.LoginAttemptsPerMinute = -1));
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(TestContext.Current.CancellationToken));
            var failure = Assert.IsType<OptionsValidationException>(ex is AggregateException a ? Assert.Single(a.InnerExceptions) : ex);
            Assert.Equal([$"{path}:{line}:auth.login_attempts_per_minute: must be positive"], failure.Failures);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Server_refuses_to_start_on_a_bad_config_and_says_why()
    {
        var dir = Directory.CreateTempSubdirectory("wk-config-").FullName;
        try
        {
            var path = TestServer.CopyConfig(dir, y => y.Replace("response_time: 4h", "response_time: four hours", StringComparison.Ordinal));
            var line = Array.FindIndex(File.ReadAllLines(path), l => l.Contains("four hours", StringComparison.Ordinal)) + 1;
            var err = new StringWriter();
            var saved = Console.Error;
            Console.SetError(err);
            int rc;
            try
            {
                rc = await ServerHost.RunAsync(["serve", "--config", path, "--data", Path.Combine(dir, "data"), "--listen", "127.0.0.1:0"]);
            }
            finally
            {
                Console.SetError(saved);
            }
            Assert.NotEqual(0, rc);
            Assert.Contains($"configuration error: {path}:{line}:severities[3].response_time: invalid duration \"four hours\"", err.ToString(), StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "data", "watchkeeper.db")), "nothing is created when the config is bad");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Missing_config_file_and_bad_arguments_are_refused()
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            Assert.NotEqual(0, await ServerHost.RunAsync(["serve", "--config", "/nonexistent/watchkeeper.yml", "--listen", "127.0.0.1:0"]));
            Assert.Contains("/nonexistent/watchkeeper.yml:0:: file not found", err.ToString(), StringComparison.Ordinal);
            Assert.Equal(2, await ServerHost.RunAsync(["serve", "--listen", "nowhere"]));
            Assert.Equal(2, await ServerHost.RunAsync(["serve", "--bogus"]));
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
