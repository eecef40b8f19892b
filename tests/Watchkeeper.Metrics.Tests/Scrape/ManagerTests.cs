using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Tests.Scrape;

public sealed class ManagerTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScrapeConfig Job(string name, params string[] targets) => new()
    {
        JobName = name,
        ScrapeInterval = TimeSpan.FromSeconds(10),
        ScrapeTimeout = TimeSpan.FromSeconds(5),
        StaticConfigs = [new TargetGroup(targets, new Dictionary<string, string>(), "static:0")],
    };

    [Fact]
    public async Task Reload_keeps_series_of_remaining_targets_fresh_and_serves_metadata()
    {
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var mgr = new ScrapeManager(store, time, new ScrapeManagerOptions
        {
            HandlerFactory = _ => new StubHttpHandler(_ => StubHttpHandler.Text("# HELP m A gauge.\n# TYPE m gauge\nm 1\n")),
            WatchFiles = false,
        });
        await using (mgr)
        {
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job("a", "h:1"), Job("b", "h:2")] });
            await mgr.ScrapeAllNowAsync();
            var md = mgr.Metadata();
            Assert.Equal(new Watchkeeper.Metrics.Exposition.MetricMetadata("m", Watchkeeper.Metrics.Exposition.MetricType.Gauge, "A gauge.", ""), Assert.Single(md["m"]));
            Assert.Single(mgr.Metadata("m"));
            Assert.Empty(mgr.Metadata("nope"));

            // Job a changes its interval, job b is removed.
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job("a", "h:1") with { ScrapeInterval = TimeSpan.FromSeconds(20) }] });
            var a = store.Find("m", "job", "a")!;
            Assert.False(StaleNaN.Is(store.Last(a)!.Value.V));
            Assert.True(StaleNaN.Is(store.Last(store.Find("m", "job", "b")!)!.Value.V));
            var st = Assert.Single(mgr.ActiveTargets());
            Assert.Equal(TargetHealth.Up, st.Health); // state carried over
            Assert.Equal(TimeSpan.FromSeconds(20), st.Target.Interval);
        }
        // Stopping the manager makes the remaining target's series stale.
        Assert.True(StaleNaN.Is(store.Last(store.Find("m", "job", "a")!)!.Value.V));
    }

    [Fact]
    public async Task A_reload_that_fails_keeps_the_running_config()
    {
        var mgr = new ScrapeManager(new CollectingSeriesStore(), new FakeTimeProvider(Start), new ScrapeManagerOptions { WatchFiles = false });
        await using (mgr)
        {
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job("a", "127.0.0.1:1")] });
            var bad = Job("b", "127.0.0.1:2") with { Http = new HttpClientConfig { Tls = new TlsConfig { CaFile = "/nonexistent/ca.pem" } } };
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job("c", "127.0.0.1:3"), bad] }));
            Assert.Contains("\"b\"", e.Message);
            Assert.Equal("a", Assert.Single(mgr.ActiveTargets()).Job);
        }
    }

    [Fact]
    public async Task File_sd_is_reread_every_refresh_interval_on_the_clock()
    {
        var dir = Directory.CreateTempSubdirectory("wk-filesd");
        try
        {
            var file = Path.Combine(dir.FullName, "t.yml");
            await File.WriteAllTextAsync(file, "- targets: ['a:1']\n");
            var time = new FakeTimeProvider(Start);
            var cfg = new ScrapeConfig { JobName = "sd", ScrapeInterval = TimeSpan.FromHours(1), ScrapeTimeout = TimeSpan.FromSeconds(5), FileSdConfigs = [new FileSdConfig([file], TimeSpan.FromMinutes(1))] };
            var mgr = new ScrapeManager(new CollectingSeriesStore(), time, new ScrapeManagerOptions
            {
                HandlerFactory = _ => new StubHttpHandler(_ => StubHttpHandler.Text("m 1\n")),
                WatchFiles = false,
            });
            await using (mgr)
            {
                await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [cfg] });
                Assert.Single(mgr.ActiveTargets());
                await File.WriteAllTextAsync(file, "- targets: ['a:1', 'b:2']\n");
                for (var i = 0; i < 200 && mgr.ActiveTargets().Count < 2; i++)
                {
                    time.Advance(TimeSpan.FromSeconds(30));
                    await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
                }
                Assert.Equal(2, mgr.ActiveTargets().Count);
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Tls_ca_file_trusts_server_certificates_it_signed_and_nothing_else()
    {
        var dir = Directory.CreateTempSubdirectory("wk-tls");
        try
        {
            using var caKey = RSA.Create(2048);
            var caReq = new CertificateRequest("CN=wk-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            using var leafKey = RSA.Create(2048);
            var leafReq = new CertificateRequest("CN=target", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var leaf = leafReq.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [1, 2, 3, 4]);
            using var otherKey = RSA.Create(2048);
            using var other = new CertificateRequest("CN=other", otherKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
            var caFile = Path.Combine(dir.FullName, "ca.pem");
            File.WriteAllText(caFile, ca.ExportCertificatePem());
            var certFile = Path.Combine(dir.FullName, "client.pem");
            var keyFile = Path.Combine(dir.FullName, "client.key");
            File.WriteAllText(certFile, leaf.ExportCertificatePem());
            File.WriteAllText(keyFile, leafKey.ExportPkcs8PrivateKeyPem());

            var handler = (SocketsHttpHandler)HttpClientFactory.CreateHandler(new HttpClientConfig
            {
                Tls = new TlsConfig { CaFile = caFile, CertFile = certFile, KeyFile = keyFile, ServerName = "target" },
            });
            var cb = handler.SslOptions.RemoteCertificateValidationCallback!;
            Assert.True(cb(this, leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.False(cb(this, other, null, SslPolicyErrors.RemoteCertificateChainErrors));
            // server_name replaces the URL's host in the name check: a certificate for "target" passes a name
            // mismatch against the URL, one for another name does not (SNI stays the URL's host, see docs).
            Assert.True(cb(this, leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.False(cb(this, other, null, SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.Single(handler.SslOptions.ClientCertificates!);
            var noName = (SocketsHttpHandler)HttpClientFactory.CreateHandler(new HttpClientConfig { Tls = new TlsConfig { CaFile = caFile } });
            Assert.False(noName.SslOptions.RemoteCertificateValidationCallback!(this, leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.True(noName.SslOptions.RemoteCertificateValidationCallback!(this, leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));

            var insecure = (SocketsHttpHandler)HttpClientFactory.CreateHandler(new HttpClientConfig { Tls = new TlsConfig { InsecureSkipVerify = true } });
            Assert.True(insecure.SslOptions.RemoteCertificateValidationCallback!(this, other, null, SslPolicyErrors.RemoteCertificateChainErrors));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Basic_auth_and_credentials_files_set_the_authorization_header()
    {
        var dir = Directory.CreateTempSubdirectory("wk-auth");
        try
        {
            var pw = Path.Combine(dir.FullName, "pw");
            File.WriteAllText(pw, "s3cret\n");
            using var r1 = new HttpRequestMessage(HttpMethod.Get, "http://x/");
            HttpClientFactory.ApplyAuth(r1, new HttpClientConfig { BasicAuth = new BasicAuthConfig("u", null, pw) });
            Assert.Equal("Basic " + Convert.ToBase64String("u:s3cret"u8.ToArray()), r1.Headers.Authorization!.ToString());
            using var r2 = new HttpRequestMessage(HttpMethod.Get, "http://x/");
            HttpClientFactory.ApplyAuth(r2, new HttpClientConfig { Authorization = new AuthorizationConfig("Bearer", null, pw) });
            Assert.Equal("Bearer s3cret", r2.Headers.Authorization!.ToString());
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
