namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Debian's Prometheus scrapes Watchkeeper's <c>/probe</c> the way it scrapes blackbox_exporter (multi-target pattern,
/// relabeling the target into <c>__param_target</c>), authenticated with a viewer's token.
/// </summary>
public sealed class ProbeInteropTests
{
    [Fact]
    public async Task Prometheus_scrapes_probe_results_from_the_probe_endpoint_like_blackbox_exporter()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        await using var wk = await WatchkeeperHost.StartAsync();
        var token = await wk.TokenAsync("viewer");
        var self = $"127.0.0.1:{wk.Port}";
        var healthy = $"http://{self}/-/healthy";
        // The demo is off in the interop fixture: the shipped api-service check's target answers 404.
        var demo = $"http://{self}/-/demo/api-service/metrics";
        var elsewhere = $"http://{self}/metrics";
        await using var prom = await PrometheusPeer.StartAsync(promBin, $$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: blackbox
                metrics_path: /probe
                params: {module: [http_health]}
                authorization: {credentials: '{{token}}'}
                static_configs: [{targets: ['{{healthy}}', '{{demo}}', '{{elsewhere}}']}]
                relabel_configs:
                  - {source_labels: [__address__], target_label: __param_target}
                  - {source_labels: [__param_target], target_label: instance}
                  - {target_label: __address__, replacement: '{{self}}'}
            """);
        using var p = new PromClient(new Uri(prom.BaseAddress, "/")) { Name = "prometheus" };

        async Task<double?> Value(string q)
        {
            var r = await p.InstantAsync(q, Parity.Now());
            return r.Series is [{ Points: [(_, var v)] }] ? v : null;
        }

        Assert.True(await Peers.PollAsync(async () => await Value($"probe_success{{instance='{healthy}'}}") == 1
                && await Value($"probe_success{{instance='{demo}'}}") == 0,
            TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1)), $"Prometheus did not scrape the probe results ({Peers.LastPollError})\n{prom.Output}");
        Assert.Equal(1, await Value($"up{{instance='{healthy}'}}"));
        Assert.Equal(200, await Value($"probe_http_status_code{{instance='{healthy}'}}"));
        Assert.Equal(404, await Value($"probe_http_status_code{{instance='{demo}'}}"));
        Assert.Equal(1, await Value($"up{{instance='{demo}'}}"));
        Assert.NotNull(await Value($"probe_http_duration_seconds{{instance='{healthy}',phase='processing'}}"));
        Assert.NotNull(await Value($"probe_duration_seconds{{instance='{healthy}'}}"));
        // A target that is neither a configured check's nor allowed: the scrape is refused (403), so up is 0.
        var refusedUp = await Peers.PollAsync(async () => await Value($"up{{instance='{elsewhere}'}}") == 0, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));
        Assert.True(refusedUp, "the refused target's up never read 0\n" + prom.Output);
        Assert.Null(await Value($"probe_success{{instance='{elsewhere}'}}"));
    }
}
