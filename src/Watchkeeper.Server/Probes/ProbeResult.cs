using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Server.Probes;

/// <summary>One gauge a probe produced: blackbox_exporter's name, at most one label (phase, version), its value.</summary>
public readonly record struct ProbeMetric(string Name, double Value, string? LabelName = null, string? LabelValue = null);

/// <summary>What one probe run found: success, duration, the prober's gauges, and a log for <c>debug=true</c>.</summary>
public sealed class ProbeResult
{
    public bool Success { get; set; }
    public double DurationSeconds { get; set; }
    public List<ProbeMetric> Metrics { get; } = [];
    public List<string> Log { get; } = [];
    /// <summary>Why the probe failed (the last log line that says so), for pages and <c>wk health</c>.</summary>
    public string? Error { get; private set; }
    public int? StatusCode { get; set; }
    /// <summary>Attempts made (1 plus retries used).</summary>
    public int Attempts { get; set; } = 1;

    public void Add(string name, double value, string? labelName = null, string? labelValue = null) =>
        Metrics.Add(new ProbeMetric(name, value, labelName, labelValue));

    public void Info(string message) => Log.Add("level=info msg=" + Quote(message));

    /// <summary>Records why the probe fails and returns false, for <c>return r.Fail("...")</c>.</summary>
    public bool Fail(string message)
    {
        Error = message;
        Log.Add("level=error msg=" + Quote(message));
        return false;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal) + "\"";

    /// <summary>The text exposition <c>/probe</c> answers with: every gauge plus probe_success and probe_duration_seconds, by name.</summary>
    public string Render()
    {
        var w = new ExpositionWriter();
        foreach (var group in AllMetrics().GroupBy(m => m.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            w.Family(group.Key, MetricType.Gauge, ProbeMetricNames.Help(group.Key));
            foreach (var m in group)
            {
                if (m.LabelName is null) w.Sample(m.Name, m.Value);
                else w.Sample(m.Name, m.Value, m.LabelName, m.LabelValue ?? "");
            }
        }
        return w.ToString();
    }

    /// <summary>The prober's gauges plus the two every probe has.</summary>
    public IEnumerable<ProbeMetric> AllMetrics() =>
        Metrics.Append(new ProbeMetric(ProbeMetricNames.Success, Success ? 1 : 0)).Append(new ProbeMetric(ProbeMetricNames.Duration, DurationSeconds));

    /// <summary>blackbox_exporter's <c>debug=true</c> page: the log, the metrics, and the module.</summary>
    public string RenderDebug(string module, ProbeModuleConfig config)
    {
        var sb = new StringBuilder();
        sb.Append("Logs for the probe:\n");
        foreach (var l in Log) sb.Append(l).Append('\n');
        sb.Append("\n\n\nMetrics that would have been returned:\n").Append(Render());
        sb.Append("\n\n\nModule configuration:\n");
        sb.Append(CultureInfo.InvariantCulture, $"module: {module}\nprober: {config.Prober}\ntimeout: {config.Timeout}\n");
        return sb.ToString();
    }
}

/// <summary>blackbox_exporter's metric names, with help texts of our own.</summary>
public static class ProbeMetricNames
{
    public const string Success = "probe_success";
    public const string Duration = "probe_duration_seconds";

    private static readonly Dictionary<string, string> HelpTexts = new(StringComparer.Ordinal)
    {
        [Success] = "1 when the probe succeeded, 0 when it failed.",
        [Duration] = "Seconds the whole probe took.",
        ["probe_dns_lookup_time_seconds"] = "Seconds spent resolving the target's host name.",
        ["probe_ip_protocol"] = "IP version of the address probed (4 or 6).",
        ["probe_ip_addr_hash"] = "FNV-1a hash of the address probed, so a change of address shows.",
        ["probe_http_status_code"] = "Status code of the final HTTP response (0 when none arrived).",
        ["probe_http_content_length"] = "Content-Length of the response (-1 when not given).",
        ["probe_http_uncompressed_body_length"] = "Bytes of body read after decompression.",
        ["probe_http_redirects"] = "Redirects followed.",
        ["probe_http_ssl"] = "1 when the final request used TLS.",
        ["probe_http_version"] = "HTTP version of the final response.",
        ["probe_http_duration_seconds"] = "Seconds per phase of the HTTP request (resolve and connect are 0 on a reused connection).",
        ["probe_http_last_modified_timestamp_seconds"] = "Last-Modified of the response, as a Unix time.",
        ["probe_failed_due_to_regex"] = "1 when the body or records failed a regular expression (or substring) check.",
        ["probe_ssl_earliest_cert_expiry"] = "Unix time when the earliest certificate of the chain expires.",
        ["probe_ssl_last_chain_expiry_timestamp_seconds"] = "Unix time when the earliest certificate of the chain expires.",
        ["probe_tls_version_info"] = "TLS version negotiated (the version label); always 1.",
        ["probe_dns_answer_rrs"] = "Records in the answer section.",
        ["probe_dns_authority_rrs"] = "Records in the authority section.",
        ["probe_dns_additional_rrs"] = "Records in the additional section.",
        ["probe_dns_query_succeeded"] = "1 when the DNS query got an answer.",
        ["probe_dns_duration_seconds"] = "Seconds per phase of the DNS probe.",
        ["probe_dns_serial"] = "Serial of the SOA record in the answer.",
        ["probe_icmp_duration_seconds"] = "Seconds per phase of the ICMP probe.",
        ["probe_icmp_reply_hop_limit"] = "TTL (hop limit) of the echo reply.",
    };

    public static string Help(string name) => HelpTexts.GetValueOrDefault(name, name);

    /// <summary>FNV-1a (32 bit) of an address's text form, as blackbox_exporter's probe_ip_addr_hash.</summary>
    public static double AddressHash(System.Net.IPAddress a)
    {
        var h = 2166136261u;
        foreach (var ch in a.ToString())
        {
            h ^= (byte)ch;
            h *= 16777619u;
        }
        return h;
    }
}
