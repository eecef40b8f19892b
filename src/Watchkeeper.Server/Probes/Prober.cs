using System.Globalization;

namespace Watchkeeper.Server.Probes;

/// <summary>One probe to run: a module (by name and configuration) against a target, within a timeout.</summary>
public sealed record ProbeRequest(string Module, ProbeModuleConfig Config, string Target, TimeSpan Timeout, int Retries, long MaxBodyBytes);

/// <summary>Runs probes; the scheduler and <c>/probe</c> use it, tests replace it.</summary>
public interface IProbeRunner
{
    Task<ProbeResult> RunAsync(ProbeRequest request, CancellationToken ct);
}

/// <summary>
/// Dispatches a probe to its prober (http, tcp, dns, icmp), enforces the timeout, and retries a failure up to the
/// check's <c>retries</c> (each attempt with the full timeout) before reporting it. The result of the last attempt counts.
/// </summary>
public sealed class Prober(TimeProvider time) : IProbeRunner, IDisposable
{
    private readonly HttpProber _http = new(time);
    private readonly TcpProber _tcp = new(time);
    private readonly DnsProber _dns = new(time);
    private readonly IcmpProber _icmp = new(time);

    public async Task<ProbeResult> RunAsync(ProbeRequest request, CancellationToken ct)
    {
        var q = request;
        ProbeResult r = new();
        for (var attempt = 1; attempt <= q.Retries + 1; attempt++)
        {
            r = await AttemptAsync(q, ct);
            r.Attempts = attempt;
            if (r.Success) break;
            if (attempt <= q.Retries) r.Info($"attempt {attempt.ToString(CultureInfo.InvariantCulture)} failed; retrying");
        }
        return r;
    }

    private async Task<ProbeResult> AttemptAsync(ProbeRequest q, CancellationToken ct)
    {
        var r = new ProbeResult();
        var start = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(q.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        r.Info($"beginning probe (prober {q.Config.Prober}, timeout {Platform.Duration.Format(q.Timeout)})");
        bool ok;
        try
        {
            ok = q.Config.Prober switch
            {
                "http" => await _http.ProbeAsync(HttpTarget(q.Target), q.Config.Http, q.MaxBodyBytes, r, linked.Token),
                "tcp" => await _tcp.ProbeAsync(q.Target, q.Config.Tcp, r, linked.Token),
                "dns" => await _dns.ProbeAsync(q.Target, q.Config.Dns, q.Timeout, r, linked.Token),
                "icmp" => await _icmp.ProbeAsync(q.Target, q.Config.Icmp, q.Timeout, r, linked.Token),
                _ => r.Fail($"unknown prober '{q.Config.Prober}'"),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            ok = r.Fail($"timed out after {Platform.Duration.Format(q.Timeout)}");
        }
        catch (UriFormatException ex)
        {
            ok = r.Fail($"'{q.Target}' is not a URL: {ex.Message}");
        }
        r.Success = ok;
        r.DurationSeconds = time.GetElapsedTime(start).TotalSeconds;
        r.Log.Add(ok ? "level=info msg=\"probe succeeded\"" : "level=error msg=\"probe failed\"");
        return r;
    }

    /// <summary>An http target without a scheme is http:// (as blackbox_exporter reads it).</summary>
    public static Uri HttpTarget(string target) => new(target.Contains("://", StringComparison.Ordinal) ? target : "http://" + target, UriKind.Absolute);

    public void Dispose() => _http.Dispose();
}
