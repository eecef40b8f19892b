using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Watchkeeper.Server.Probes;

/// <summary>Name resolution and TLS details shared by the probers.</summary>
internal static class ProbeNet
{
    /// <summary>
    /// Resolves <paramref name="host"/> (an address literal resolves to itself) and picks an address of the preferred
    /// family, else of the other; records probe_dns_lookup_time_seconds. Null (and a log line) when nothing resolves.
    /// </summary>
    public static async Task<IPAddress?> ResolveAsync(string host, string preferred, ProbeResult r, TimeProvider time, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, ct);
            }
            catch (SocketException ex)
            {
                r.Add("probe_dns_lookup_time_seconds", time.GetElapsedTime(start).TotalSeconds);
                r.Fail($"resolving {host}: {ex.Message}");
                return null;
            }
        }
        r.Add("probe_dns_lookup_time_seconds", time.GetElapsedTime(start).TotalSeconds);
        var want = preferred == "ip6" ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == want) ?? addresses.FirstOrDefault();
        if (chosen is null)
        {
            r.Fail($"resolving {host}: no addresses");
            return null;
        }
        r.Info($"resolved {host} to {chosen}");
        return chosen;
    }

    public static void AddressMetrics(ProbeResult r, IPAddress a)
    {
        r.Add("probe_ip_protocol", a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv4MappedToIPv6 ? 6 : 4);
        r.Add("probe_ip_addr_hash", ProbeMetricNames.AddressHash(a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a));
    }

    /// <summary>The earliest NotAfter of the certificates the server presented (its chain as built), as a Unix time.</summary>
    public static double? EarliestExpiry(X509Certificate? leaf, X509Chain? chain)
    {
        DateTime? earliest = null;
        if (chain is not null)
            foreach (var e in chain.ChainElements)
                if (earliest is null || e.Certificate.NotAfter < earliest) earliest = e.Certificate.NotAfter;
        if (leaf is not null)
        {
            var notAfter = leaf is X509Certificate2 c2 ? c2.NotAfter : DateTime.Parse(leaf.GetExpirationDateString(), System.Globalization.CultureInfo.CurrentCulture);
            if (earliest is null || notAfter < earliest) earliest = notAfter;
        }
        return earliest is { } t ? new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeMilliseconds() / 1000.0 : null;
    }

    public static string TlsVersion(System.Security.Authentication.SslProtocols p) => p switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "TLS 1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "TLS 1.2",
        _ => p.ToString(),
    };

    public static bool Validate(SslPolicyErrors errors, TlsProbeConfig tls) => tls.InsecureSkipVerify || errors == SslPolicyErrors.None;
}
