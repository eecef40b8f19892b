using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Tests.Scrape;

public sealed class ConfigTests
{
    private const string Full = """
        global:
          scrape_interval: 15s
          scrape_timeout: 5s
          external_labels:
            region: eu-1
        rule_files: [a.yml]
        scrape_configs:
          - job_name: api
            metrics_path: /internal/metrics
            scheme: https
            params:
              module: [http_2xx]
            static_configs:
              - targets: ['api-1:8080', 'api-2:8080']
                labels:
                  env: prod
            file_sd_configs:
              - files: ['sd/*.json']
                refresh_interval: 1m
            basic_auth:
              username: u
              password: p
            tls_config:
              ca_file: ca.pem
              insecure_skip_verify: true
            honor_labels: true
            honor_timestamps: false
            relabel_configs:
              - source_labels: [__address__]
                regex: '(.*):8080'
                target_label: host
            metric_relabel_configs:
              - source_labels: [__name__]
                regex: 'go_.*'
                action: drop
            sample_limit: 1000
          - job_name: node
            scrape_interval: 1m30s
            bearer_token: secret
        remote_write:
          - url: http://remote:9090/api/v1/write
            queue_config:
              max_shards: 2
              max_samples_per_send: 500
        """;

    [Fact]
    public void Full_config_binds_with_global_defaults()
    {
        var c = MetricsConfigLoader.Load(Full, "/etc/wk/watchkeeper.yml", "/etc/wk");
        Assert.Equal(TimeSpan.FromSeconds(15), c.Global.ScrapeInterval);
        Assert.Equal("eu-1", c.Global.ExternalLabels.Get("region"));
        var api = c.ScrapeConfigs[0];
        Assert.Equal("api", api.JobName);
        Assert.Equal(TimeSpan.FromSeconds(15), api.ScrapeInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), api.ScrapeTimeout);
        Assert.Equal("/internal/metrics", api.MetricsPath);
        Assert.Equal("https", api.Scheme);
        Assert.Equal(["http_2xx"], api.Params["module"]);
        Assert.Equal(["api-1:8080", "api-2:8080"], api.StaticConfigs[0].Targets);
        Assert.Equal("prod", api.StaticConfigs[0].Labels["env"]);
        Assert.Equal("/etc/wk/sd/*.json", api.FileSdConfigs[0].Files[0]);
        Assert.Equal(TimeSpan.FromMinutes(1), api.FileSdConfigs[0].RefreshInterval);
        Assert.Equal("u", api.Http.BasicAuth!.Username);
        Assert.Equal("/etc/wk/ca.pem", api.Http.Tls.CaFile);
        Assert.True(api.Http.Tls.InsecureSkipVerify);
        Assert.True(api.HonorLabels);
        Assert.False(api.HonorTimestamps);
        Assert.Single(api.RelabelConfigs);
        Assert.Equal(RelabelAction.Drop, api.MetricRelabelConfigs[0].Config.Action);
        Assert.Equal(1000, api.SampleLimit);
        var node = c.ScrapeConfigs[1];
        Assert.Equal(TimeSpan.FromSeconds(90), node.ScrapeInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), node.ScrapeTimeout);
        Assert.Equal("/metrics", node.MetricsPath);
        Assert.True(node.HonorTimestamps);
        Assert.Equal("Bearer", node.Http.Authorization!.Type);
        Assert.Equal("secret", node.Http.Authorization.Credentials);
        Assert.Equal(2, c.RemoteWrite[0].Queue.MaxShards);
    }

    [Theory]
    [InlineData("scrape_configs:\n  - job_name: a\n    scrape_intervl: 10s\n", 3, "scrape_configs[a].scrape_intervl", "unknown key 'scrape_intervl' (did you mean 'scrape_interval'?)")]
    [InlineData("scrape_configs:\n  - job_name: a\n    proxy_url: http://proxy:3128\n", 3, "scrape_configs[a].proxy_url", "Watchkeeper does not implement yet")]
    [InlineData("remote_write:\n  - url: http://r/\n    oauth2:\n      client_id: x\n", 3, "remote_write[].oauth2", "Watchkeeper does not implement yet")]
    [InlineData("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n", 3, "scrape_configs[a].kubernetes_sd_configs", "Watchkeeper does not implement yet")]
    [InlineData("remote_write:\n  - url: http://r/\n    queue_config:\n      max_shard: 2\n", 4, "remote_write[].queue_config.max_shard", "unknown key 'max_shard' (did you mean 'max_shards'?)")]
    [InlineData("scrape_configs:\n  - job_name: a\n    scrape_interval: 10x\n", 3, "scrape_configs[a].scrape_interval", "not a valid duration")]
    [InlineData("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n", 3, "scrape_configs[a].scrape_timeout", "greater than scrape interval")]
    [InlineData("scrape_configs:\n  - job_name: a\n  - job_name: a\n", 3, "job_name", "multiple scrape configs")]
    [InlineData("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: bogus\n", 4, "relabel_configs[0].action", "unknown relabel action")]
    [InlineData("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '('\n        target_label: x\n", 4, "relabel_configs[0]", "invalid regex")]
    [InlineData("scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", 3, "honor_labels", "expected true or false")]
    [InlineData("scrape_configs:\n  - scrape_interval: 1s\n", 2, "job_name", "required")]
    [InlineData("global:\n  scrape_interval: [1]\n", 2, "global.scrape_interval", "expected a string")]
    [InlineData("scrape_configs:\n  - job_name: a\n   bad: [\n", 3, "(yaml)", "")]
    public void Errors_name_line_and_key(string yaml, int line, string key, string reason)
    {
        var e = Assert.Throws<ConfigException>(() => MetricsConfigLoader.Load(yaml, "wk.yml"));
        Assert.Equal("wk.yml", e.File);
        Assert.Equal(line, e.Line);
        Assert.Contains(key, e.Key);
        Assert.Contains(reason, e.Problem);
        Assert.StartsWith($"wk.yml:{line}:", e.Message);
    }

    [Fact]
    public void Label_limits_are_read_per_job_with_defaults_from_global()
    {
        const string yaml = "global:\n  label_limit: 40\n  label_value_length_limit: 512\nscrape_configs:\n  - job_name: a\n  - job_name: b\n"
            + "    label_limit: 10\n    label_name_length_limit: 64\n    label_value_length_limit: 0\n";
        var c = MetricsConfigLoader.Load(yaml, "wk.yml");
        Assert.Equal((40, 0, 512), (c.ScrapeConfigs[0].LabelLimit, c.ScrapeConfigs[0].LabelNameLengthLimit, c.ScrapeConfigs[0].LabelValueLengthLimit));
        Assert.Equal((10, 64, 0), (c.ScrapeConfigs[1].LabelLimit, c.ScrapeConfigs[1].LabelNameLengthLimit, c.ScrapeConfigs[1].LabelValueLengthLimit));
        var e = Assert.Throws<ConfigException>(() => MetricsConfigLoader.Load("scrape_configs:\n  - job_name: a\n    label_limit: -1\n", "wk.yml"));
        Assert.Contains("label_limit", e.Key);
    }

    [Theory]
    [InlineData("15s", 15_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("500ms", 500)]
    [InlineData("1d", 86_400_000)]
    [InlineData("0", 0)]
    public void Durations_parse(string s, long ms)
    {
        Assert.True(PromDuration.TryParse(s, out var d));
        Assert.Equal(ms, (long)d.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1s1m")]
    [InlineData("-1s")]
    [InlineData("1.5s")]
    public void Bad_durations_fail(string s) => Assert.False(PromDuration.TryParse(s, out _));
}
