using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Watchkeeper.Server.Probes;

/// <summary>The tcp prober: resolve, connect, and with <c>tls: true</c> a handshake whose certificate is checked and reported.</summary>
public sealed class TcpProber(TimeProvider time)
{
    public async Task<bool> ProbeAsync(string target, TcpProbeConfig c, ProbeResult r, CancellationToken ct)
    {
        if (ProbesConfigCheck.HostPort(target, null) is not { } hp) return r.Fail($"'{target}' is not host:port");
        var address = await ProbeNet.ResolveAsync(hp.Host, c.PreferredIpProtocol, r, time, ct);
        if (address is null) return false;
        ProbeNet.AddressMetrics(r, address);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, hp.Port), ct);
        }
        catch (SocketException ex)
        {
            return r.Fail($"connecting to {address}:{hp.Port}: {ex.Message}");
        }
        r.Info($"connected to {address}:{hp.Port}");
        if (!c.Tls) return true;

        await using var net = new NetworkStream(socket, ownsSocket: false);
        await using var ssl = new SslStream(net, leaveInnerStreamOpen: true);
        double? expiry = null;
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = c.TlsConfig.ServerName.Length > 0 ? c.TlsConfig.ServerName : hp.Host,
                RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                {
                    expiry = ProbeNet.EarliestExpiry(cert, chain);
                    return ProbeNet.Validate(errors, c.TlsConfig);
                },
            }, ct);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            if (expiry is { } e0) r.Add("probe_ssl_earliest_cert_expiry", e0);
            return r.Fail($"TLS handshake with {hp.Host}:{hp.Port} failed: {ex.Message}");
        }
        if (expiry is { } e)
        {
            r.Add("probe_ssl_earliest_cert_expiry", e);
            r.Add("probe_ssl_last_chain_expiry_timestamp_seconds", e);
        }
        r.Add("probe_tls_version_info", 1, "version", ProbeNet.TlsVersion(ssl.SslProtocol));
        return true;
    }
}
