using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Dashboards;

namespace Watchkeeper.Server.Tests.Dashboards;

/// <summary>The Grafana JSON subset, variables, units, time ranges and series names, without a server.</summary>
public sealed class DashboardModelTests
{
    private static readonly DashboardLimits Limits = new();

    public static string NodeExporterFull => File.ReadAllText(Path.Combine(TestServer.RepoRoot, "tests", "TestData", "dashboards", "node-exporter-full.json"));

    [Fact]
    public void Node_exporter_full_style_json_parses_with_rows_variables_and_an_unsupported_panel_kept()
    {
        var (json, d) = DashboardJson.Parse(NodeExporterFull, Limits);
        Assert.Equal("rYdddlPWk", d.Uid);
        Assert.Equal(["DS_PROMETHEUS", "job", "node", "diskdevices"], d.Variables.Select(v => v.Name));
        Assert.Equal("label_values(node_cpu_seconds_total, job)", d.Variables[1].Query);
        Assert.True(d.Variables[3].Hidden);
        var all = d.AllPanels.ToList();
        Assert.Contains(all, p => p.Type == "piechart" && !p.IsSupported);
        var collapsed = d.Panels.Single(p => p.Title == "CPU / Memory / Net / Disk");
        Assert.True(collapsed.Collapsed);
        Assert.Equal(3, collapsed.Children.Count);
        var old = all.Single(p => p.Type == "graph");
        Assert.Equal("bytes", old.Field.Unit);
        Assert.Equal(["lastNotNull", "min", "max", "mean"], old.Legend.Calcs);
        Assert.Equal("table", old.Legend.Mode);
        var gauge = all.First(p => p.Title == "CPU Busy");
        Assert.Equal("percent", gauge.Field.Unit);
        Assert.Equal("rgba(237, 129, 40, 0.89)", gauge.Field.ColorFor(90));
        Assert.Equal("red", gauge.Field.ColorFor(99));
        Assert.Equal("green", gauge.Field.ColorFor(10));
        // Unknown fields survive: the stored JSON is the import minus the envelope.
        Assert.NotNull(json["__requires"]);
        Assert.NotNull(json["links"]);
    }

    [Theory]
    [InlineData("""{"panels": []}""", "title")]
    [InlineData("""{"title": "x", "panels": [{"type": "stat", "gridPos": {"x": 0, "y": 0, "w": "wide", "h": 4}}]}""", "panels[0].gridPos.w")]
    [InlineData("""{"title": "x", "panels": [{"title": "no type"}]}""", "panels[0].type")]
    [InlineData("""{"title": "x", "panels": [{"type": "timeseries", "targets": [{"expr": {"a": 1}}]}]}""", "panels[0].targets[0].expr")]
    [InlineData("""{"title": "x", "panels": {}}""", "panels")]
    [InlineData("""{"title": "x", "uid": "has space"}""", "uid")]
    [InlineData("""{"title": "x", "templating": {"list": [{"name": "a-b", "type": "custom"}]}}""", "templating.list[0].name")]
    [InlineData("""[1, 2]""", "dashboard")]
    [InlineData("""{"title": "x", """, "dashboard")]
    public void Bad_json_names_the_field(string text, string field)
    {
        var e = Assert.Throws<DashboardJsonException>(() => DashboardJson.Parse(text, Limits));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Limits_on_size_and_panel_count_are_enforced()
    {
        var panels = string.Join(',', Enumerable.Range(0, 6).Select(i => $$"""{"type": "text", "id": {{i}}}"""));
        var e = Assert.Throws<DashboardJsonException>(() => DashboardJson.Parse($$"""{"title": "x", "panels": [{{panels}}]}""", Limits with { MaxPanels = 5 }));
        Assert.Equal("panels[5]", e.Field);
        e = Assert.Throws<DashboardJsonException>(() => DashboardJson.Parse($$"""{"title": "{{new string('x', 2000)}}"}""", Limits with { MaxJsonBytes = 1024 }));
        Assert.Equal("dashboard", e.Field);
    }

    [Fact]
    public void Multi_value_and_all_are_written_as_regex_alternations_with_metacharacters_escaped()
    {
        var range = Range("now-1h");
        var multi = new ResolvedVariable(Var("job", multi: true), ["api-service", "web.interface"], ["api-service", "web.interface"], null);
        Assert.Equal("""up{job=~"(api-service|web\\.interface)"}""", Variables.Interpolate("""up{job=~"$job"}""", [multi], range, 15_000, 15_000));
        var all = new ResolvedVariable(Var("job", includeAll: true), ["a", "b", "c"], [Variable.All], null);
        Assert.Equal("(a|b|c)", Variables.Interpolate("${job}", [all], range, 15_000, 15_000));
        var custom = new ResolvedVariable(Var("job", includeAll: true) with { AllValue = ".*" }, ["a"], [Variable.All], null);
        Assert.Equal(".*", Variables.Interpolate("[[job]]", [custom], range, 15_000, 15_000));
        var single = new ResolvedVariable(Var("node"), ["host:9100"], ["host:9100"], null);
        Assert.Equal("host:9100|a,b", Variables.Interpolate("$node|${job:csv}", [single, new ResolvedVariable(Var("job", multi: true), ["a", "b"], ["a", "b"], null)], range, 15_000, 15_000));
        Assert.Equal("$unknown", Variables.Interpolate("$unknown", [single], range, 15_000, 15_000));
    }

    [Fact]
    public void Builtin_interval_rate_interval_and_range()
    {
        var range = Range("now-6h");
        Assert.Equal("rate(x[1m15s]) 1m 60000 21600s", Variables.Interpolate("rate(x[$__rate_interval]) $__interval $__interval_ms $__range", [], range, 60_000, 15_000));
        // max($__interval + scrape interval, 4 * scrape interval)
        Assert.Equal("1m", Variables.Interpolate("$__rate_interval", [], range, 15_000, 15_000));
        Assert.Equal("1m15s", Variables.Interpolate("$__rate_interval", [], range, 60_000, 15_000));
        // 6h over 300 points is 72s, rounded to 1m as Grafana rounds; never under the minimum interval.
        Assert.Equal(60_000, Variables.IntervalMs(range, 300, "", 15_000));
        Assert.Equal(300_000, Variables.IntervalMs(range, 300, "5m", 15_000));
    }

    [Fact]
    public void Interval_variable_is_its_choice_or_the_panel_interval_when_auto()
    {
        var range = Range("now-1h");
        var def = Var("iv") with { Type = "interval", Auto = true };
        Assert.Equal("rate(x[2m])", Variables.Interpolate("rate(x[$iv])", [new ResolvedVariable(def, ["auto", "1m", "5m"], ["auto"], null)], range, 120_000, 15_000));
        Assert.Equal("rate(x[5m])", Variables.Interpolate("rate(x[$iv])", [new ResolvedVariable(def, ["auto", "1m", "5m"], ["5m"], null)], range, 120_000, 15_000));
    }

    [Fact]
    public void Custom_variable_and_regex_extraction()
    {
        Assert.Equal(["a", "b,c", "v"], Variables.SplitCustom(@"a, b\,c, text : v"));
        Assert.Equal(["host1", "host2"], Variables.ApplyRegex(["host1:9100", "host2:9100", "other"], "/(host[0-9]+):.*/"));
        Assert.Equal(["x"], Variables.ApplyRegex(["id=x", "nope"], "/id=(?<value>.+)/"));
    }

    [Theory]
    [InlineData(0.0421, "s", null, "42.1 ms")]
    [InlineData(95, "s", null, "1.58 min")]
    [InlineData(0.5, "percentunit", null, "50%")]
    [InlineData(99.5, "percent", 1, "99.5%")]
    [InlineData(1536, "bytes", null, "1.5 KiB")]
    [InlineData(2_500_000, "decbytes", null, "2.5 MB")]
    [InlineData(12.345, "reqps", null, "12.3 req/s")]
    [InlineData(1_234_567, "short", null, "1.23 Mil")]
    [InlineData(3, "suffix: widgets", null, "3 widgets")]
    [InlineData(double.NaN, "s", null, "NaN")]
    public void Units_format_as_grafana_names_them(double v, string unit, int? decimals, string expected) =>
        Assert.Equal(expected, Units.Format(v, unit, decimals));

    [Fact]
    public void Time_ranges_relative_rounded_and_absolute()
    {
        var now = new DateTimeOffset(2026, 11, 2, 9, 30, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Assert.True(TimeRange.TryParse("now-1h", "now", now, out var r, out _));
        Assert.Equal(3_600_000, r.RangeMs);
        Assert.True(TimeRange.TryParse("now-1d/d", "now-1d/d", now, out r, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), r.FromMs);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() - 1, r.ToMs);
        Assert.True(TimeRange.TryParse("1793606400000", "2026-11-02T09:00:00Z", now, out r, out _));
        Assert.Equal(1_793_606_400_000, r.FromMs);
        Assert.False(TimeRange.TryParse("now", "now-1h", now, out _, out var error));
        Assert.Contains("before", error, StringComparison.Ordinal);
        Assert.False(TimeRange.TryParse("yesterday", "now", now, out _, out error));
        Assert.StartsWith("from:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Series_names_drop_the_labels_all_series_share_and_fill_legend_format()
    {
        Labels a = Labels.Of("__name__", "http_requests_total", "instance", "127.0.0.1:1", "job", "api", "status", "500");
        Labels b = Labels.Of("__name__", "http_requests_total", "instance", "127.0.0.1:1", "job", "api", "status", "503");
        var common = PanelData.CommonLabels([a, b]);
        Assert.Equal("http_requests_total{status=\"500\"}", PanelData.Name("", a, common, 2, "expr"));
        Assert.Equal("api 503", PanelData.Name("{{job}} {{ status }}", b, common, 2, "expr"));
        Assert.Equal(a.ToString(), PanelData.Name("", a, PanelData.CommonLabels([a]), 1, "expr"));
        Assert.Equal("sum(x)", PanelData.Name("", Labels.Empty, [], 1, "sum(x)"));
    }

    private static TimeRange Range(string from)
    {
        Assert.True(TimeRange.TryParse(from, "now", 1_800_000_000_000, out var r, out var e), e);
        return r;
    }

    [Fact]
    public void A_text_panel_renders_markdown_through_the_pages_one_safe_renderer()
    {
        // An imported dashboard is someone else's text: its links must not run script in an operator's session.
        var html = Watchkeeper.Server.Dashboards.Ui.Charts.MarkdownHtml("# Runbook\n[run](javascript:alert(1)) [docs](https://example.org) <script>x</script>");
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"https://example.org\"", html, StringComparison.Ordinal);
        Assert.Contains("<h2", html, StringComparison.Ordinal);
    }

    private static Variable Var(string name, bool multi = false, bool includeAll = false) =>
        new(name, "", "custom", "", "", multi, includeAll, null, [], [], false, false);
}
