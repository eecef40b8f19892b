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
        if (tls.ServerName is not null) handler.SslOptions.TargetHost = tls.ServerName;
        if (tls.InsecureSkipVerify || ca is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (tls.InsecureSkipVerify) return true;
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0 || cert is null) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca!);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert as X509Certificate2 ?? new X509Certificate2(cert));
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
