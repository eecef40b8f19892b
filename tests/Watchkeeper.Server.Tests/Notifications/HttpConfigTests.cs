using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Notifications;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>
/// Receivers' <c>http_config</c> on the wire: a loopback HTTPS receiver whose self-signed certificate is trusted only
/// through <c>tls_config.ca_file</c> (and named only as <c>server_name</c>), and a loopback proxy that a
/// <c>proxy_url</c> sends an otherwise unreachable webhook through, each with its Authorization header.
/// </summary>
public sealed class HttpConfigTests
{
    private const string CertName = "hooks.wk-test.example";

    private sealed record Seen(string Host, string Path, string? Authorization, bool Https);

    /// <summary>A loopback Kestrel that records each request; HTTPS with <paramref name="cert"/> when given.</summary>
    private static async Task<(WebApplication App, int Port, ConcurrentQueue<Seen> Seen)> ListenAsync(X509Certificate2? cert)
    {
        var seen = new ConcurrentQueue<Seen>();
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            if (cert is not null) l.UseHttps(cert);
        }));
        var app = b.Build();
        app.Run(async ctx =>
        {
            seen.Enqueue(new Seen(ctx.Request.Host.Host, ctx.Request.Path, ctx.Request.Headers.Authorization.FirstOrDefault(), ctx.Request.IsHttps));
            await ctx.Response.WriteAsync("ok");
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return (app, port, seen);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={CertName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(CertName);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    private static WebhookConfig Hook(string url, HttpClientConfig http, string? proxy = null) =>
        new() { Url = url, SendResolved = true, HttpConfig = http, ProxyUrl = proxy };

    [Fact]
    public async Task Tls_config_and_proxy_url_and_authorization_are_applied_to_the_notification_requests()
    {
        using var cert = SelfSigned();
        var dir = Directory.CreateTempSubdirectory("wk-httpcfg-").FullName;
        var ca = Path.Combine(dir, "ca.pem");
        await File.WriteAllTextAsync(ca, cert.ExportCertificatePem());
        var (https, httpsPort, httpsSeen) = await ListenAsync(cert);
        var (proxy, proxyPort, proxySeen) = await ListenAsync(null);
        try
        {
            var url = $"https://127.0.0.1:{httpsPort}/tls-hook";
            var trusted = new HttpClientConfig
            {
                Tls = new TlsConfig { CaFile = ca, ServerName = CertName },
                BasicAuth = new BasicAuthConfig("alertmanager", "s3cret", null),
            };
            await using var s = await NotifyFixture.StartAsync(false, [
                NotifyFixture.Receiver("tls-ok", Hook(url, trusted)),
                // The same CA, but the certificate does not name 127.0.0.1: refused without server_name.
                NotifyFixture.Receiver("tls-name", Hook(url, new HttpClientConfig { Tls = new TlsConfig { CaFile = ca } })),
                // No ca_file: the self-signed certificate is not trusted.
                NotifyFixture.Receiver("tls-untrusted", Hook(url, new HttpClientConfig())),
                NotifyFixture.Receiver("tls-skip", Hook(url, new HttpClientConfig { Tls = new TlsConfig { InsecureSkipVerify = true } })),
                // A host nothing resolves, reachable only through the proxy.
                NotifyFixture.Receiver("proxied", Hook($"http://{CertName}/via-proxy",
                    new HttpClientConfig { Authorization = new AuthorizationConfig("Bearer", "proxy-token", null) }, $"http://127.0.0.1:{proxyPort}")),
            ]);
            var ids = new Dictionary<string, long>();
            foreach (var r in new[] { "tls-ok", "tls-name", "tls-untrusted", "tls-skip", "proxied" })
                ids[r] = await NotifyFixture.EnqueueAsync(s, NotifyFixture.Item(s, r, "webhook_configs[0]"));
            await s.Get<NotificationSender>().RunOnceAsync();

            var ok = await NotifyFixture.RowAsync(s, ids["tls-ok"]);
            Assert.True(ok.Status == "delivered", $"{ok.Status}: {ok.LastError}");
            Assert.Equal("delivered", (await NotifyFixture.RowAsync(s, ids["tls-skip"])).Status);
            foreach (var refused in new[] { "tls-name", "tls-untrusted" })
            {
                var row = await NotifyFixture.RowAsync(s, ids[refused]);
                Assert.NotEqual("delivered", row.Status);
                Assert.Contains("SSL", row.LastError ?? "", StringComparison.OrdinalIgnoreCase);
            }
            var tls = httpsSeen.Where(x => x.Path == "/tls-hook").ToList();
            Assert.Equal(2, tls.Count);
            Assert.All(tls, x => Assert.True(x.Https));
            Assert.Contains(tls, x => x.Authorization == "Basic " + Convert.ToBase64String("alertmanager:s3cret"u8.ToArray()));

            var proxied = await NotifyFixture.RowAsync(s, ids["proxied"]);
            Assert.True(proxied.Status == "delivered", $"{proxied.Status}: {proxied.LastError}");
            var via = Assert.Single(proxySeen);
            Assert.Equal(CertName, via.Host);
            Assert.Equal("/via-proxy", via.Path);
            Assert.Equal("Bearer proxy-token", via.Authorization);
        }
        finally
        {
            await https.DisposeAsync();
            await proxy.DisposeAsync();
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("oauth2: {client_id: x, client_secret: y, token_url: 'http://t.example/'}", "oauth2 is not supported")]
    [InlineData("proxy_from_environment: true", "proxy_from_environment is not supported")]
    [InlineData("tls_config: {min_version: TLS13}", "min_version is not supported")]
    public void Http_config_keys_that_are_not_built_are_refused_with_an_error_that_says_so(string http, string error)
    {
        var yaml = $"route: {{receiver: hook}}\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:9/hook\n        http_config: {{{http}}}\n";
        var ex = Assert.ThrowsAny<Exception>(() => AlertmanagerConfigLoader.Parse(yaml, "/etc/am/alertmanager.yml", "/etc/am"));
        Assert.Contains(error, ex.Message, StringComparison.Ordinal);
    }
}
