using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Watchkeeper.Server.Probes;

/// <summary>
/// The icmp prober: one echo request through <see cref="Ping"/>. Configuration accepts an icmp module only when the
/// process may open raw ICMP sockets (root or CAP_NET_RAW), checked by <see cref="CanOpenRawSocket"/>.
/// </summary>
public sealed class IcmpProber(TimeProvider time)
{
    public static bool CanOpenRawSocket()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    public async Task<bool> ProbeAsync(string target, IcmpProbeConfig c, TimeSpan timeout, ProbeResult r, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        var address = await ProbeNet.ResolveAsync(target.Trim('[', ']'), c.PreferredIpProtocol, r, time, ct);
        r.Add("probe_icmp_duration_seconds", time.GetElapsedTime(start).TotalSeconds, "phase", "resolve");
        if (address is null) return false;
        ProbeNet.AddressMetrics(r, address);
        using var ping = new Ping();
        var rtt = time.GetTimestamp();
        PingReply reply;
        try
        {
            reply = await ping.SendPingAsync(address, timeout, new byte[c.PayloadSize], new PingOptions { DontFragment = c.DontFragment }, ct);
        }
        catch (PingException ex)
        {
            return r.Fail($"sending the echo request to {address} failed: {ex.InnerException?.Message ?? ex.Message}");
        }
        r.Add("probe_icmp_duration_seconds", time.GetElapsedTime(rtt).TotalSeconds, "phase", "rtt");
        if (reply.Status != IPStatus.Success) return r.Fail($"no echo reply from {address}: {reply.Status}");
        if (reply.Options is { } o) r.Add("probe_icmp_reply_hop_limit", o.Ttl);
        r.Info($"echo reply from {address}");
        return true;
    }
}
