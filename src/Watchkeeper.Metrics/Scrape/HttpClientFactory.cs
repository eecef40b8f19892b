using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>Builds HTTP handlers with TLS settings and applies credentials per request (files are re-read each time).</summary>
public static class HttpClientFactory
{
    public static HttpMessageHandler CreateHandler(HttpClientConfig cfg)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            AllowAutoRedirect = cfg.FollowRedirects,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        var tls = cfg.Tls;
        X509Certificate2Collection? ca = null;
        if (tls.CaFile is not null)
        {
            ca = [];
            ca.ImportFromPemFile(tls.CaFile);
        }
        if (tls.CertFile is not null && tls.KeyFile is not null)
        {
#pragma warning disable CA2000 // the client certificate lives as long as the handler that presents it
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile)];
#pragma warning restore CA2000
        }
        // SocketsHttpHandler sends the request's host as the TLS server name and checks the certificate against it
        // (it overwrites SslOptions.TargetHost per connection), so server_name is applied in the validation: the
        // certificate must carry that name instead of the URL's host.
        if (tls.InsecureSkipVerify || ca is not null || tls.ServerName is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (tls.InsecureSkipVerify) return true;
                if (cert is null) return false;
                using var copy = cert is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
                var x509 = cert as X509Certificate2 ?? copy!;
                if (tls.ServerName is not null)
                {
                    if (!x509.MatchesHostname(tls.ServerName)) return false;
                    errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
                }
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0 || ca is null) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(x509);
            };
        }
        return handler;
    }

    /// <summary>Sets basic auth or the Authorization header on a request.</summary>
    public static void ApplyAuth(HttpRequestMessage req, HttpClientConfig cfg)
    {
        if (cfg.BasicAuth is { } ba)
        {
            var pass = ba.PasswordFile is not null ? File.ReadAllText(ba.PasswordFile).Trim() : ba.Password ?? "";
            req.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(ba.Username + ":" + pass)));
        }
        else if (cfg.Authorization is { } az)
        {
            var cred = az.CredentialsFile is not null ? File.ReadAllText(az.CredentialsFile).Trim() : az.Credentials ?? "";
            req.Headers.Authorization = new AuthenticationHeaderValue(az.Type, cred);
        }
    }
}
