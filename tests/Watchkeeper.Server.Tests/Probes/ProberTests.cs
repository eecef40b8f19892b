using System.Net;
using System.Net.Sockets;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>Module semantics of the http, tcp and dns probers against loopback servers (no internet).</summary>
public sealed class ProberTests : IAsyncLifetime
{
    private LoopbackHttp _http = null!;
    private readonly Prober _prober = new(TimeProvider.System);

    public async ValueTask InitializeAsync() => _http = await LoopbackHttp.StartAsync(TimeSpan.FromDays(10));

    public async ValueTask DisposeAsync()
    {
        _prober.Dispose();
        await _http.DisposeAsync();
    }

    private static ProbeModuleConfig Http(Action<HttpProbeConfig>? set = null, string timeout = "3s")
    {
        var m = new ProbeModuleConfig { Prober = "http", Timeout = Duration.Parse(timeout) };
        set?.Invoke(m.Http);
        return m;
    }

    private Task<ProbeResult> Run(ProbeModuleConfig m, string target, int retries = 0) =>
        _prober.RunAsync(new ProbeRequest("m", m, target, m.Timeout.Value, retries, 1 << 20), TestContext.Current.CancellationToken);

    private static double Metric(ProbeResult r, string name, string? label = null) =>
        r.AllMetrics().Single(m => m.Name == name && (label is null || m.LabelValue == label)).Value;

    [Fact]
    public async Task A_2xx_answer_succeeds_with_blackbox_series()
    {
        var r = await Run(Http(), new Uri(_http.Http, "/ok").ToString());
        Assert.True(r.Success, string.Join("\n", r.Log));
        Assert.Equal(200, Metric(r, "probe_http_status_code"));
        Assert.Equal(1, Metric(r, "probe_success"));
        Assert.Equal(0, Metric(r, "probe_http_ssl"));
        Assert.Equal(0, Metric(r, "probe_http_redirects"));
        Assert.Equal(1.1, Metric(r, "probe_http_version"));
        Assert.Equal("all good: healthy".Length, Metric(r, "probe_http_uncompressed_body_length"));
        Assert.Equal(4, Metric(r, "probe_ip_protocol"));
        Assert.Equal(0, Metric(r, "probe_failed_due_to_regex"));
        Assert.True(Metric(r, "probe_duration_seconds") > 0);
        var text = r.Render();
        Assert.Contains("# TYPE probe_success gauge\nprobe_success 1\n", text, StringComparison.Ordinal);
        Assert.Contains("probe_http_duration_seconds{phase=\"processing\"}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_codes_outside_the_valid_list_fail()
    {
        var r = await Run(Http(), new Uri(_http.Http, "/status/404").ToString());
        Assert.False(r.Success);
        Assert.Equal(404, Metric(r, "probe_http_status_code"));
        Assert.Contains("invalid HTTP response status code 404", r.Error, StringComparison.Ordinal);

        var ok = await Run(Http(h => h.ValidStatusCodes = [404]), new Uri(_http.Http, "/status/404").ToString());
        Assert.True(ok.Success);
        var five = await Run(Http(h => h.ValidStatusCodes = [404]), new Uri(_http.Http, "/status/200").ToString());
        Assert.False(five.Success);
    }

    [Fact]
    public async Task Redirects_are_followed_and_counted_unless_follow_redirects_is_off()
    {
        var r = await Run(Http(), new Uri(_http.Http, "/redirect").ToString());
        Assert.True(r.Success);
        Assert.Equal(1, Metric(r, "probe_http_redirects"));
        Assert.Equal(200, Metric(r, "probe_http_status_code"));

        var off = await Run(Http(h => h.FollowRedirects = false), new Uri(_http.Http, "/redirect").ToString());
        Assert.False(off.Success);
        Assert.Equal(302, Metric(off, "probe_http_status_code"));

        var loop = await Run(Http(), new Uri(_http.Http, "/loop").ToString());
        Assert.False(loop.Success);
        Assert.Contains("stopped after 10 redirects", loop.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_checks_fail_the_probe_and_set_probe_failed_due_to_regex()
    {
        var url = new Uri(_http.Http, "/ok").ToString();
        Assert.True((await Run(Http(h => h.FailIfBodyNotMatchesRegexp = ["heal+thy"]), url)).Success);
        var miss = await Run(Http(h => h.FailIfBodyNotMatchesRegexp = ["^down$"]), url);
        Assert.False(miss.Success);
        Assert.Equal(1, Metric(miss, "probe_failed_due_to_regex"));
        var hit = await Run(Http(h => h.FailIfBodyMatchesRegexp = ["good"]), url);
        Assert.False(hit.Success);
        Assert.Equal(1, Metric(hit, "probe_failed_due_to_regex"));
        Assert.True((await Run(Http(h => h.FailIfBodyNotContains = ["all good"]), url)).Success);
        var absent = await Run(Http(h => h.FailIfBodyNotContains = ["All Good"]), url);
        Assert.False(absent.Success);
        Assert.Contains("does not contain \"All Good\"", absent.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Method_headers_and_body_are_sent()
    {
        var url = new Uri(_http.Http, "/echo").ToString();
        var right = await Run(Http(h => { h.Method = "POST"; h.Headers = new() { ["X-Token"] = "abc" }; h.Body = "ping"; }), url);
        Assert.True(right.Success, string.Join("\n", right.Log));
        var wrong = await Run(Http(h => { h.Method = "POST"; h.Headers = new() { ["X-Token"] = "nope" }; h.Body = "ping"; }), url);
        Assert.False(wrong.Success);
        Assert.Equal(400, Metric(wrong, "probe_http_status_code"));
    }

    [Fact]
    public async Task A_body_over_the_limit_fails()
    {
        var url = new Uri(_http.Http, "/big").ToString();
        Assert.True((await Run(Http(), url)).Success);
        var r = await Run(Http(h => h.BodySizeLimit = 1000), url);
        Assert.False(r.Success);
        Assert.Contains("longer than the limit of 1000 bytes", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_answer_times_out_and_retries_are_counted()
    {
        var r = await Run(Http(timeout: "300ms"), new Uri(_http.Http, "/slow").ToString(), retries: 1);
        Assert.False(r.Success);
        Assert.Equal(2, r.Attempts);
        Assert.Contains("timed out after 300ms", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_reports_the_certificate_expiry_and_checks_trust()
    {
        var url = new Uri(_http.Https, "/ok").ToString();
        var untrusted = await Run(Http(), url);
        Assert.False(untrusted.Success);
        Assert.Contains("HTTP request failed", untrusted.Error, StringComparison.Ordinal);

        var r = await Run(Http(h => h.TlsConfig.InsecureSkipVerify = true), url);
        Assert.True(r.Success, string.Join("\n", r.Log));
        Assert.Equal(1, Metric(r, "probe_http_ssl"));
        var expiry = Metric(r, "probe_ssl_earliest_cert_expiry");
        Assert.Equal(new DateTimeOffset(_http.CertificateNotAfter).ToUnixTimeSeconds(), expiry, 0);

        var soon = await Run(Http(h => { h.TlsConfig.InsecureSkipVerify = true; h.FailIfCertExpiresWithin = Duration.Parse("14d"); }), url);
        Assert.False(soon.Success);
        Assert.Contains("certificate expires in", soon.Error, StringComparison.Ordinal);

        var notSsl = await Run(Http(h => h.FailIfNotSsl = true), new Uri(_http.Http, "/ok").ToString());
        Assert.False(notSsl.Success);
        var ssl = await Run(Http(h => { h.TlsConfig.InsecureSkipVerify = true; h.FailIfSsl = true; }), url);
        Assert.False(ssl.Success);
    }

    [Fact]
    public async Task Tcp_connects_to_an_open_port_and_fails_on_a_closed_one()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var m = new ProbeModuleConfig { Prober = "tcp", Timeout = Duration.Parse("2s") };
        var r = await Run(m, "127.0.0.1:" + port);
        Assert.True(r.Success, string.Join("\n", r.Log));
        Assert.Equal(4, Metric(r, "probe_ip_protocol"));
        listener.Stop();
        var closed = await Run(m, "127.0.0.1:" + port);
        Assert.False(closed.Success);
        Assert.Contains("connecting to 127.0.0.1:" + port, closed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dns_checks_the_response_code_and_the_answer_records()
    {
        using var dns = new LoopbackDns();
        ProbeModuleConfig Dns(Action<DnsProbeConfig> set)
        {
            var m = new ProbeModuleConfig { Prober = "dns", Timeout = Duration.Parse("2s") };
            m.Dns.QueryName = "app.example";
            m.Dns.QueryType = "A";
            set(m.Dns);
            return m;
        }

        var r = await Run(Dns(_ => { }), dns.Target);
        Assert.True(r.Success, string.Join("\n", r.Log));
        Assert.Equal(2, Metric(r, "probe_dns_answer_rrs"));
        Assert.Equal(1, Metric(r, "probe_dns_query_succeeded"));

        Assert.True((await Run(Dns(d => d.ValidateAnswerRrs.FailIfNotMatchesRegexp = [@"IN\s+A\s+192\.0\.2\.1[01]"]), dns.Target)).Success);
        var notAll = await Run(Dns(d => d.ValidateAnswerRrs.FailIfNotMatchesRegexp = [@"192\.0\.2\.10$"]), dns.Target);
        Assert.False(notAll.Success);
        Assert.Contains("did not match", notAll.Error, StringComparison.Ordinal);
        Assert.False((await Run(Dns(d => d.ValidateAnswerRrs.FailIfMatchesRegexp = [@"192\.0\.2\.11"]), dns.Target)).Success);
        Assert.True((await Run(Dns(d => d.ValidateAnswerRrs.FailIfNoneMatchesRegexp = [@"192\.0\.2\.11"]), dns.Target)).Success);
        Assert.False((await Run(Dns(d => d.ValidateAnswerRrs.FailIfAllMatchRegexp = [@"192\.0\.2\."]), dns.Target)).Success);

        var nx = await Run(Dns(d => d.QueryName = "missing.example"), dns.Target);
        Assert.False(nx.Success);
        Assert.Contains("NotExistentDomain", nx.Error, StringComparison.Ordinal);
        Assert.True((await Run(Dns(d => { d.QueryName = "missing.example"; d.ValidRcodes = ["NXDOMAIN"]; }), dns.Target)).Success);
    }

    [Fact]
    public async Task Icmp_pings_loopback_when_raw_sockets_are_allowed()
    {
        if (!IcmpProber.CanOpenRawSocket()) Assert.Skip("this process may not open raw sockets (the configuration test covers the refusal)");
        var r = await Run(new ProbeModuleConfig { Prober = "icmp", Timeout = Duration.Parse("2s") }, "127.0.0.1");
        Assert.True(r.Success, string.Join("\n", r.Log));
        Assert.Contains(r.Metrics, m => m.Name == "probe_icmp_duration_seconds" && m.LabelValue == "rtt");
    }
}
