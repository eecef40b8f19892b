using System.Net;
using System.Text.RegularExpressions;
using DnsClient;
using DnsClient.Protocol;

namespace Watchkeeper.Server.Probes;

/// <summary>
/// The dns prober: the target is the DNS server (host:port, port 53 by default); the module names the query and what the
/// answer must look like (response codes, regular expressions over each record's text, as DnsClient writes it:
/// <c>name. TTL IN TYPE data</c>). Queries go through DnsClient, without cache or retries.
/// </summary>
public sealed class DnsProber(TimeProvider time)
{
    /// <summary>The DnsClient enum name of a response code as DNS tools write it (NOERROR, NXDOMAIN, SERVFAIL, ...).</summary>
    public static string RcodeName(string rcode) => rcode.ToUpperInvariant() switch
    {
        "NOERROR" => nameof(DnsResponseCode.NoError),
        "FORMERR" => nameof(DnsResponseCode.FormatError),
        "SERVFAIL" => nameof(DnsResponseCode.ServerFailure),
        "NXDOMAIN" => nameof(DnsResponseCode.NotExistentDomain),
        "NOTIMP" => nameof(DnsResponseCode.NotImplemented),
        "REFUSED" => nameof(DnsResponseCode.Refused),
        "YXDOMAIN" => nameof(DnsResponseCode.ExistingDomain),
        "YXRRSET" => nameof(DnsResponseCode.ExistingResourceRecordSet),
        "NXRRSET" => nameof(DnsResponseCode.MissingResourceRecordSet),
        "NOTAUTH" => nameof(DnsResponseCode.NotAuthorized),
        "NOTZONE" => nameof(DnsResponseCode.NotZone),
        _ => "?" + rcode,
    };

    public async Task<bool> ProbeAsync(string target, DnsProbeConfig c, TimeSpan timeout, ProbeResult r, CancellationToken ct)
    {
        if (ProbesConfigCheck.HostPort(target, 53) is not { } hp) return r.Fail($"'{target}' is not host:port");
        var start = time.GetTimestamp();
        var address = await ProbeNet.ResolveAsync(hp.Host, c.PreferredIpProtocol, r, time, ct);
        var resolved = time.GetElapsedTime(start).TotalSeconds;
        r.Add("probe_dns_duration_seconds", resolved, "phase", "resolve");
        if (address is null)
        {
            r.Add("probe_dns_query_succeeded", 0);
            return false;
        }
        ProbeNet.AddressMetrics(r, address);
        var options = new LookupClientOptions(new NameServer(address, hp.Port))
        {
            UseCache = false,
            Retries = 0,
            Timeout = timeout,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseTcpOnly = c.TransportProtocol == "tcp",
            UseTcpFallback = true,
            Recursion = c.Recursion,
        };
        var client = new LookupClient(options);
        var type = Enum.Parse<QueryType>(c.QueryType, true);
        var requestStart = time.GetTimestamp();
        IDnsQueryResponse response;
        try
        {
            r.Info($"querying {address}:{hp.Port} for {c.QueryName} {type} over {c.TransportProtocol}");
            response = await client.QueryAsync(new DnsQuestion(c.QueryName, type), ct);
        }
        catch (DnsResponseException ex)
        {
            r.Add("probe_dns_duration_seconds", time.GetElapsedTime(requestStart).TotalSeconds, "phase", "request");
            r.Add("probe_dns_query_succeeded", 0);
            return r.Fail($"DNS query failed: {ex.Message}");
        }
        r.Add("probe_dns_duration_seconds", time.GetElapsedTime(requestStart).TotalSeconds, "phase", "request");
        const bool succeeded = true; // timeouts and network errors throw (above); an error rcode is an answer
        r.Add("probe_dns_query_succeeded", succeeded ? 1 : 0);
        r.Add("probe_dns_answer_rrs", response.Answers.Count);
        r.Add("probe_dns_authority_rrs", response.Authorities.Count);
        r.Add("probe_dns_additional_rrs", response.Additionals.Count);
        if (response.Answers.OfType<SoaRecord>().FirstOrDefault() is { } soa) r.Add("probe_dns_serial", soa.Serial);

        var rcode = response.Header.ResponseCode.ToString();
        var valid = c.ValidRcodes.Count == 0 ? [nameof(DnsResponseCode.NoError)] : c.ValidRcodes.Select(RcodeName).ToList();
        if (!valid.Any(v => string.Equals(v, rcode, StringComparison.OrdinalIgnoreCase)))
            return r.Fail($"response code {rcode} is not one of {string.Join(", ", c.ValidRcodes)}");
        var regexOk = Validate("answer", response.Answers, c.ValidateAnswerRrs, r)
            && Validate("authority", response.Authorities, c.ValidateAuthorityRrs, r)
            && Validate("additional", response.Additionals, c.ValidateAdditionalRrs, r);
        return regexOk;
    }

    /// <summary>Text of a record as the regular expressions see it.</summary>
    public static string RecordText(DnsResourceRecord rr) => rr.ToString();

    private static bool Validate(string section, IReadOnlyList<DnsResourceRecord> records, DnsRrValidation v, ProbeResult r)
    {
        var texts = records.Select(RecordText).ToList();
        static bool M(string p, string t) => Regex.IsMatch(t, p, RegexOptions.None, TimeSpan.FromSeconds(1));
        foreach (var p in v.FailIfMatchesRegexp)
            if (texts.FirstOrDefault(t => M(p, t)) is { } hit) return r.Fail($"{section} record \"{hit}\" matched \"{p}\" (fail_if_matches_regexp)");
        foreach (var p in v.FailIfNotMatchesRegexp)
            if (texts.FirstOrDefault(t => !M(p, t)) is { } miss) return r.Fail($"{section} record \"{miss}\" did not match \"{p}\" (fail_if_not_matches_regexp)");
        foreach (var p in v.FailIfAllMatchRegexp)
            if (texts.Count > 0 && texts.All(t => M(p, t))) return r.Fail($"every {section} record matched \"{p}\" (fail_if_all_match_regexp)");
        foreach (var p in v.FailIfNoneMatchesRegexp)
            if (!texts.Any(t => M(p, t))) return r.Fail($"no {section} record matched \"{p}\" (fail_if_none_matches_regexp)");
        return true;
    }

    internal static IPAddress? Literal(string host) => IPAddress.TryParse(host.Trim('[', ']'), out var a) ? a : null;
}
