using System.Text.RegularExpressions;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Probes;

/// <summary>
/// The <c>probes</c> section: blackbox_exporter-style modules (how to probe) and checks (what to probe, how often,
/// which service and component a result counts for). Checks run in-process and write blackbox_exporter's series into
/// the TSDB; <c>/probe</c> runs a module once for an external Prometheus. See docs/probes.md.
/// </summary>
public sealed class ProbesConfig
{
    /// <summary>Modules by name, in blackbox_exporter's format (prober, timeout, http/tcp/dns/icmp).</summary>
    public Dictionary<string, ProbeModuleConfig> Modules { get; set; } = [];

    /// <summary>The probes Watchkeeper runs itself.</summary>
    public List<ProbeCheckConfig> Checks { get; set; } = [];

    /// <summary>At most this many checks (each costs a timer slot, a few series and, for HTTP, a pooled connection).</summary>
    public int MaxChecks { get; set; } = 20_000;

    /// <summary>The most response body any HTTP probe reads (a module's body_size_limit may lower it).</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Probes in flight at once; more wait for a slot (their duration still counts from their start).</summary>
    public int MaxConcurrency { get; set; } = 256;

    public ProbeEndpointConfig Endpoint { get; set; } = new();
}

/// <summary>The <c>/probe</c> endpoint (blackbox_exporter's multi-target pattern).</summary>
public sealed class ProbeEndpointConfig
{
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Regular expressions (anchored) a <c>target</c> must match. Empty: only the targets of configured checks may be
    /// probed, so a viewer cannot make the server connect anywhere else (SSRF).
    /// </summary>
    public List<string> AllowedTargets { get; set; } = [];
}

public sealed class ProbeModuleConfig
{
    /// <summary>http, tcp, dns or icmp.</summary>
    public string Prober { get; set; } = "";
    public Duration Timeout { get; set; } = new(TimeSpan.FromSeconds(5));
    public HttpProbeConfig Http { get; set; } = new();
    public TcpProbeConfig Tcp { get; set; } = new();
    public DnsProbeConfig Dns { get; set; } = new();
    public IcmpProbeConfig Icmp { get; set; } = new();
}

public sealed class TlsProbeConfig
{
    public bool InsecureSkipVerify { get; set; }
    /// <summary>The name the certificate must carry (default: the target's host).</summary>
    public string ServerName { get; set; } = "";
}

public sealed class HttpProbeConfig
{
    /// <summary>Accepted status codes; empty means any 2xx.</summary>
    public List<int> ValidStatusCodes { get; set; } = [];
    /// <summary>Accepted versions ("HTTP/1.1", "HTTP/2.0"); empty means any.</summary>
    public List<string> ValidHttpVersions { get; set; } = [];
    public string Method { get; set; } = "GET";
    public Dictionary<string, string> Headers { get; set; } = [];
    public string Body { get; set; } = "";
    public bool FollowRedirects { get; set; } = true;
    public bool FailIfSsl { get; set; }
    public bool FailIfNotSsl { get; set; }
    public List<string> FailIfBodyMatchesRegexp { get; set; } = [];
    public List<string> FailIfBodyNotMatchesRegexp { get; set; } = [];
    /// <summary>Plain substrings the body must contain (Watchkeeper's; the regexp keys do the same with patterns).</summary>
    public List<string> FailIfBodyNotContains { get; set; } = [];
    /// <summary>Fail when the earliest certificate of an HTTPS target expires within this long (0: never fail on it).</summary>
    public Duration FailIfCertExpiresWithin { get; set; }
    /// <summary>Bytes of body read at most; a longer body fails the probe. 0 means probes.max_body_bytes.</summary>
    public long BodySizeLimit { get; set; }
    /// <summary>ip4 or ip6: the address family tried first (the other is the fallback).</summary>
    public string PreferredIpProtocol { get; set; } = "ip4";
    public TlsProbeConfig TlsConfig { get; set; } = new();
}

public sealed class TcpProbeConfig
{
    public bool Tls { get; set; }
    public TlsProbeConfig TlsConfig { get; set; } = new();
    public string PreferredIpProtocol { get; set; } = "ip4";
}

public sealed class DnsRrValidation
{
    /// <summary>Fail if any record matches one of these.</summary>
    public List<string> FailIfMatchesRegexp { get; set; } = [];
    /// <summary>Fail if any record does not match one of these.</summary>
    public List<string> FailIfNotMatchesRegexp { get; set; } = [];
    /// <summary>Fail if every record matches one of these (and there is at least one record).</summary>
    public List<string> FailIfAllMatchRegexp { get; set; } = [];
    /// <summary>Fail if no record matches one of these.</summary>
    public List<string> FailIfNoneMatchesRegexp { get; set; } = [];

    public IEnumerable<string> All => FailIfMatchesRegexp.Concat(FailIfNotMatchesRegexp).Concat(FailIfAllMatchRegexp).Concat(FailIfNoneMatchesRegexp);
}

public sealed class DnsProbeConfig
{
    public string QueryName { get; set; } = "";
    public string QueryType { get; set; } = "ANY";
    public List<string> ValidRcodes { get; set; } = ["NOERROR"];
    public DnsRrValidation ValidateAnswerRrs { get; set; } = new();
    public DnsRrValidation ValidateAuthorityRrs { get; set; } = new();
    public DnsRrValidation ValidateAdditionalRrs { get; set; } = new();
    /// <summary>udp or tcp.</summary>
    public string TransportProtocol { get; set; } = "udp";
    public bool Recursion { get; set; } = true;
    public string PreferredIpProtocol { get; set; } = "ip4";
}

public sealed class IcmpProbeConfig
{
    public string PreferredIpProtocol { get; set; } = "ip4";
    public int PayloadSize { get; set; } = 32;
    public bool DontFragment { get; set; }
}

/// <summary>One probe Watchkeeper runs on its own schedule.</summary>
public sealed class ProbeCheckConfig
{
    public string Name { get; set; } = "";
    public string Module { get; set; } = "";
    /// <summary>A URL (http), host:port (tcp, dns) or host (icmp). An http target starting with "/" is a path on Watchkeeper itself.</summary>
    public string Target { get; set; } = "";
    public Duration Interval { get; set; } = new(TimeSpan.FromSeconds(30));
    /// <summary>0 means the module's timeout; never longer than the interval.</summary>
    public Duration Timeout { get; set; }
    /// <summary>Attempts after a failure, within the same run, before the run counts as failed.</summary>
    public int Retries { get; set; }
    /// <summary>The service the result counts for (uptime, wk health); default the check's name.</summary>
    public string Service { get; set; } = "";
    public string Component { get; set; } = "";
    /// <summary>The job label of the series (as a Prometheus job scraping blackbox_exporter would set it).</summary>
    public string Job { get; set; } = "probe";
    public Dictionary<string, string> Labels { get; set; } = [];

    public string ServiceName => Service.Length > 0 ? Service : Name;
}

/// <summary>Checks of the probes section, with their key paths (file:line comes from the config source).</summary>
public static partial class ProbesConfigCheck
{
    public static readonly string[] Probers = ["http", "tcp", "dns", "icmp"];

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex Token();

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "job", "instance", "service", "component", "probe", "module", "phase", "__name__" };

    /// <summary>Whether the process may open raw ICMP sockets (root or CAP_NET_RAW); icmp modules need it.</summary>
    public static Func<bool> RawSocketsAllowed { get; set; } = IcmpProber.CanOpenRawSocket;

    public static IEnumerable<ConfigError> Check(ProbesConfig c)
    {
        const string p = "probes";
        if (c.MaxChecks <= 0) yield return new($"{p}.max_checks", "must be positive");
        if (c.MaxBodyBytes <= 0) yield return new($"{p}.max_body_bytes", "must be positive");
        if (c.MaxConcurrency <= 0) yield return new($"{p}.max_concurrency", "must be positive");
        for (var i = 0; i < c.Endpoint.AllowedTargets.Count; i++)
            if (RegexError(c.Endpoint.AllowedTargets[i]) is { } e) yield return new($"{p}.endpoint.allowed_targets[{i}]", e);

        foreach (var (name, m) in c.Modules)
            foreach (var e in CheckModule($"{p}.modules.{name}", m, c)) yield return e;

        if (c.Checks.Count > c.MaxChecks) yield return new($"{p}.checks", $"{c.Checks.Count} checks is more than probes.max_checks ({c.MaxChecks})");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < c.Checks.Count; i++)
        {
            var k = $"{p}.checks[{i}]";
            var ch = c.Checks[i];
            if (string.IsNullOrWhiteSpace(ch.Name)) yield return new(k + ".name", "a name is required");
            else if (!names.Add(ch.Name)) yield return new(k + ".name", $"duplicate check name '{ch.Name}'");
            if (!c.Modules.TryGetValue(ch.Module, out var module))
            {
                yield return new(k + ".module", $"unknown module '{ch.Module}'; known: {string.Join(", ", c.Modules.Keys.Order(StringComparer.Ordinal))}");
                continue;
            }
            if (TargetError(module.Prober, ch.Target, allowSelf: true) is { } te) yield return new(k + ".target", te);
            if (ch.Interval.Value < TimeSpan.FromSeconds(1)) yield return new(k + ".interval", "must be at least 1s");
            if (ch.Timeout.Value < TimeSpan.Zero) yield return new(k + ".timeout", "must not be negative");
            else if (ch.Timeout.Value > ch.Interval.Value) yield return new(k + ".timeout", "must not be longer than the interval");
            if (ch.Retries is < 0 or > 10) yield return new(k + ".retries", "must be between 0 and 10");
            if (string.IsNullOrWhiteSpace(ch.Job)) yield return new(k + ".job", "must not be empty");
            foreach (var (ln, _) in ch.Labels)
            {
                if (!LabelName().IsMatch(ln)) yield return new($"{k}.labels.{ln}", "not a valid label name");
                else if (Reserved.Contains(ln)) yield return new($"{k}.labels.{ln}", $"'{ln}' is set by the prober; use the check's own key");
            }
        }
    }

    private static IEnumerable<ConfigError> CheckModule(string k, ProbeModuleConfig m, ProbesConfig c)
    {
        if (!Probers.Contains(m.Prober))
        {
            yield return new(k + ".prober", $"'{m.Prober}' is not a prober; use one of {string.Join(", ", Probers)}");
            yield break;
        }
        if (m.Timeout.Value <= TimeSpan.Zero || m.Timeout.Value > TimeSpan.FromMinutes(2)) yield return new(k + ".timeout", "must be between 1ms and 2m");
        switch (m.Prober)
        {
            case "http":
                var h = m.Http;
                if (!Token().IsMatch(h.Method)) yield return new(k + ".http.method", $"'{h.Method}' is not an HTTP method");
                for (var i = 0; i < h.ValidStatusCodes.Count; i++)
                    if (h.ValidStatusCodes[i] is < 100 or > 599) yield return new($"{k}.http.valid_status_codes[{i}]", "must be between 100 and 599");
                for (var i = 0; i < h.ValidHttpVersions.Count; i++)
                    if (h.ValidHttpVersions[i] is not ("HTTP/1.0" or "HTTP/1.1" or "HTTP/2.0" or "HTTP/2" or "HTTP/3.0" or "HTTP/3"))
                        yield return new($"{k}.http.valid_http_versions[{i}]", $"'{h.ValidHttpVersions[i]}' is not one of HTTP/1.0, HTTP/1.1, HTTP/2.0, HTTP/3.0");
                foreach (var (hn, _) in h.Headers)
                    if (!Token().IsMatch(hn)) yield return new($"{k}.http.headers.{hn}", "not a valid header name");
                for (var i = 0; i < h.FailIfBodyMatchesRegexp.Count; i++)
                    if (RegexError(h.FailIfBodyMatchesRegexp[i]) is { } e) yield return new($"{k}.http.fail_if_body_matches_regexp[{i}]", e);
                for (var i = 0; i < h.FailIfBodyNotMatchesRegexp.Count; i++)
                    if (RegexError(h.FailIfBodyNotMatchesRegexp[i]) is { } e) yield return new($"{k}.http.fail_if_body_not_matches_regexp[{i}]", e);
                if (h.BodySizeLimit < 0) yield return new(k + ".http.body_size_limit", "must not be negative");
                else if (h.BodySizeLimit > c.MaxBodyBytes) yield return new(k + ".http.body_size_limit", $"must not exceed probes.max_body_bytes ({c.MaxBodyBytes})");
                if (h.FailIfCertExpiresWithin.Value < TimeSpan.Zero) yield return new(k + ".http.fail_if_cert_expires_within", "must not be negative");
                if (h.FailIfSsl && h.FailIfNotSsl) yield return new(k + ".http.fail_if_ssl", "fail_if_ssl and fail_if_not_ssl together fail every probe");
                if (IpError(h.PreferredIpProtocol) is { } ip) yield return new(k + ".http.preferred_ip_protocol", ip);
                break;
            case "tcp":
                if (IpError(m.Tcp.PreferredIpProtocol) is { } tip) yield return new(k + ".tcp.preferred_ip_protocol", tip);
                break;
            case "dns":
                var d = m.Dns;
                if (string.IsNullOrWhiteSpace(d.QueryName)) yield return new(k + ".dns.query_name", "a query name is required");
                if (!Enum.TryParse<DnsClient.QueryType>(d.QueryType, true, out _) || int.TryParse(d.QueryType, out _))
                    yield return new(k + ".dns.query_type", $"'{d.QueryType}' is not a DNS record type (A, AAAA, CNAME, MX, NS, SOA, SRV, TXT, ANY, ...)");
                for (var i = 0; i < d.ValidRcodes.Count; i++)
                    if (!Enum.TryParse<DnsClient.DnsResponseCode>(DnsProber.RcodeName(d.ValidRcodes[i]), true, out _))
                        yield return new($"{k}.dns.valid_rcodes[{i}]", $"'{d.ValidRcodes[i]}' is not a DNS response code (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)");
                if (d.TransportProtocol is not ("udp" or "tcp")) yield return new(k + ".dns.transport_protocol", "must be udp or tcp");
                if (IpError(d.PreferredIpProtocol) is { } dip) yield return new(k + ".dns.preferred_ip_protocol", dip);
                foreach (var (section, v) in new[] { ("validate_answer_rrs", d.ValidateAnswerRrs), ("validate_authority_rrs", d.ValidateAuthorityRrs), ("validate_additional_rrs", d.ValidateAdditionalRrs) })
                    foreach (var re in v.All)
                        if (RegexError(re) is { } e) yield return new($"{k}.dns.{section}", e);
                break;
            case "icmp":
                if (!RawSocketsAllowed())
                    yield return new(k + ".prober", "icmp probes need raw sockets, and this process may not open them (run as root or grant CAP_NET_RAW, e.g. setcap cap_net_raw+ep); use a tcp module instead");
                if (m.Icmp.PayloadSize is < 0 or > 65000) yield return new(k + ".icmp.payload_size", "must be between 0 and 65000");
                if (IpError(m.Icmp.PreferredIpProtocol) is { } iip) yield return new(k + ".icmp.preferred_ip_protocol", iip);
                break;
        }
    }

    private static string? IpError(string s) => s is "ip4" or "ip6" ? null : $"'{s}' is not ip4 or ip6";

    /// <summary>Why a pattern does not compile, or null.</summary>
    public static string? RegexError(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException ex)
        {
            return $"invalid regular expression \"{pattern}\": {ex.Message}";
        }
    }

    /// <summary>Why a target does not suit a prober, or null. <paramref name="allowSelf"/>: "/path" means Watchkeeper itself.</summary>
    public static string? TargetError(string prober, string target, bool allowSelf)
    {
        if (string.IsNullOrWhiteSpace(target)) return "a target is required";
        switch (prober)
        {
            case "http":
                if (allowSelf && target.StartsWith('/')) return null;
                var t = target.Contains("://", StringComparison.Ordinal) ? target : "http://" + target;
                if (!Uri.TryCreate(t, UriKind.Absolute, out var u)) return $"'{target}' is not a URL";
                if (u.Scheme is not ("http" or "https")) return $"unsupported URL scheme '{u.Scheme}' in '{target}': http probes take http:// and https:// URLs";
                return string.IsNullOrEmpty(u.Host) ? $"'{target}' has no host" : null;
            case "tcp":
            case "dns":
                return HostPort(target, prober == "dns" ? 53 : null) is null ? $"'{target}' is not host:port{(prober == "dns" ? " (or host, port 53)" : "")}" : null;
            case "icmp":
                return Uri.CheckHostName(target.Trim('[', ']')) == UriHostNameType.Unknown ? $"'{target}' is not a host name or address" : null;
            default:
                return null;
        }
    }

    /// <summary>Splits host:port ([v6]:port); null when malformed.</summary>
    public static (string Host, int Port)? HostPort(string target, int? defaultPort)
    {
        if (target.Contains("://", StringComparison.Ordinal)) return null;
        string host;
        string? port = null;
        if (target.StartsWith('['))
        {
            var close = target.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return null;
            host = target[1..close];
            if (close + 1 < target.Length)
            {
                if (target[close + 1] != ':') return null;
                port = target[(close + 2)..];
            }
        }
        else
        {
            var colon = target.LastIndexOf(':');
            if (colon >= 0 && target.IndexOf(':', StringComparison.Ordinal) != colon) return null; // bare IPv6 needs brackets
            host = colon >= 0 ? target[..colon] : target;
            port = colon >= 0 ? target[(colon + 1)..] : null;
        }
        if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown) return null;
        if (port is null) return defaultPort is { } dp ? (host, dp) : null;
        return int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is > 0 and < 65536 ? (host, n) : null;
    }
}
