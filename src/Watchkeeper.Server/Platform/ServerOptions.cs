using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.HttpOverrides;
using YamlDotNet.Serialization;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// The <c>server:</c> section: how clients reach Watchkeeper. <c>external_url</c> is the address users and links
/// use (every absolute URL and redirect is built from it, never from the request's Host header);
/// <c>trusted_proxies</c> are the reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are
/// believed; <c>tls</c> serves HTTPS on the listener itself. Read at start; a change needs a restart, except a
/// renewed certificate, which is picked up on the next TLS handshake.
/// </summary>
public sealed class ServerOptions
{
    public string? ExternalUrl { get; set; }
    public List<string> TrustedProxies { get; set; } = [];
    public TlsOptions? Tls { get; set; }

    /// <summary><see cref="ExternalUrl"/> parsed, without a trailing slash; null when not set.</summary>
    [YamlIgnore] public string? ExternalOrigin { get; private set; }
    [YamlIgnore] public bool ExternalIsHttps => ExternalOrigin?.StartsWith("https:", StringComparison.Ordinal) == true;

    /// <summary>The URL Kestrel listens on for <c>--listen host:port</c>.</summary>
    public string ListenUrl(string listen) => (Tls is null ? "http://" : "https://") + listen;

    /// <summary>An absolute URL for a local path when <c>external_url</c> is set, else the path itself (relative).</summary>
    public string Absolute(string localPath) => ExternalOrigin is null ? localPath : ExternalOrigin + localPath;

    /// <summary>Validates the section; relative TLS file names are resolved against <paramref name="configDir"/>.</summary>
    public void Validate(Action<string, string> fail, string configDir)
    {
        if (!string.IsNullOrWhiteSpace(ExternalUrl))
        {
            if (!Uri.TryCreate(ExternalUrl.Trim(), UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps)
                || string.IsNullOrEmpty(u.Host) || u.Query.Length > 0 || u.Fragment.Length > 0 || u.UserInfo.Length > 0)
                fail("server.external_url", $"'{ExternalUrl}' is not an absolute http or https URL such as https://watchkeeper.example.org");
            else if (u.AbsolutePath != "/")
                fail("server.external_url", $"'{ExternalUrl}' has a path: serving under a sub-path is not supported; give Watchkeeper a host name of its own");
            else
                ExternalOrigin = u.GetLeftPart(UriPartial.Authority);
        }
        for (var i = 0; i < TrustedProxies.Count; i++)
            if (ParseProxy(TrustedProxies[i]) is null)
                fail($"server.trusted_proxies[{i}]", $"'{TrustedProxies[i]}' is not an IP address or CIDR network (e.g. 10.0.0.5 or 10.0.0.0/8)");
        if (Tls is { } tls)
        {
            if (string.IsNullOrWhiteSpace(tls.CertFile)) fail("server.tls.cert_file", "is required with server.tls (a PEM certificate file)");
            if (string.IsNullOrWhiteSpace(tls.KeyFile)) fail("server.tls.key_file", "is required with server.tls (a PEM private key file)");
            tls.CertFile = Path.GetFullPath(Path.Combine(configDir, tls.CertFile));
            tls.KeyFile = Path.GetFullPath(Path.Combine(configDir, tls.KeyFile));
            if (!File.Exists(tls.CertFile)) fail("server.tls.cert_file", $"'{tls.CertFile}' not found");
            if (!File.Exists(tls.KeyFile)) fail("server.tls.key_file", $"'{tls.KeyFile}' not found");
            try
            {
                using var cert = tls.Load();
            }
            catch (CryptographicException ex)
            {
                fail("server.tls.cert_file", $"cannot load the certificate with its key: {ex.Message}");
            }
        }
    }

    /// <summary>An address ("10.0.0.5", "::1") or a CIDR network ("10.0.0.0/8"); null when neither.</summary>
    public static System.Net.IPNetwork? ParseProxy(string? s)
    {
        s = s?.Trim();
        if (string.IsNullOrEmpty(s)) return null;
        if (s.Contains('/', StringComparison.Ordinal)) return System.Net.IPNetwork.TryParse(s, out var n) ? n : null;
        return IPAddress.TryParse(s, out var a) ? new System.Net.IPNetwork(a, a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128) : null;
    }

    /// <summary>Forwarded-header handling that believes only the configured proxies (none by default, not even loopback).</summary>
    public ForwardedHeadersOptions ForwardedHeaderOptions()
    {
        var o = new ForwardedHeadersOptions
        {
            ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
            // Walk back through a chain of trusted proxies to the first address that is not one (the client).
            ForwardLimit = null,
        };
        o.KnownProxies.Clear();
        o.KnownIPNetworks.Clear();
        foreach (var p in TrustedProxies)
            if (ParseProxy(p) is { } n) o.KnownIPNetworks.Add(n);
        return o;
    }
}

public sealed class TlsOptions
{
    public string CertFile { get; set; } = "";
    public string KeyFile { get; set; } = "";

    public X509Certificate2 Load()
    {
        using var pem = X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
        // Kestrel on Linux needs the key in a form SslStream can use; re-import as PKCS#12 keeps it in memory only.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>The listener's certificate, loaded from <c>server.tls</c> and loaded again when its files change (renewal).</summary>
public sealed class TlsCertificateCache(ConfigHolder holder)
{
    private readonly Lock _lock = new();
    private (string Cert, string Key, DateTime CertTime, DateTime KeyTime)? _loadedFrom;
    private X509Certificate2? _current;

    public X509Certificate2? Current()
    {
        if (holder.Current.Server.Tls is not { } tls) return _current;
        var stamp = (tls.CertFile, tls.KeyFile, File.GetLastWriteTimeUtc(tls.CertFile), File.GetLastWriteTimeUtc(tls.KeyFile));
        lock (_lock)
        {
            if (_current is not null && _loadedFrom == stamp) return _current;
            try
            {
                _current = tls.Load();
                _loadedFrom = stamp;
            }
            catch (Exception ex) when ((ex is CryptographicException or IOException) && _current is not null)
            {
                // A renewal half written: keep serving the certificate we have and try again on the next handshake.
            }
            return _current;
        }
    }
}
