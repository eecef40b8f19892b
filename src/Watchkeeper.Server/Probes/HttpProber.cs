using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Probes;

/// <summary>
/// The http prober. One <see cref="SocketsHttpHandler"/> per TLS/IP setting (a handful at most) is shared by every check,
/// so thousands of probes of the same host reuse pooled connections instead of opening one each. Redirects are followed
/// here (not by the handler) so they are counted; the body is read up to a limit and checked.
/// </summary>
public sealed class HttpProber(TimeProvider time) : IDisposable
{
    private const int MaxRedirects = 10;
    private static readonly HttpRequestOptionsKey<HttpTrace> TraceKey = new("watchkeeper.probe.trace");

    private readonly ConcurrentDictionary<ClientKey, Client> _clients = new();

    private readonly record struct ClientKey(bool Insecure, string ServerName, string PreferredIp);

    /// <summary>Resolve and connect times of the connection a request opened (none when it reused one).</summary>
    private sealed class HttpTrace
    {
        public double Resolve;
        public double Connect;
        public IPAddress? Address;
    }

    private sealed class Client(HttpMessageInvoker invoker)
    {
        public HttpMessageInvoker Invoker { get; } = invoker;
        /// <summary>Last address connected to, by host:port (a reused connection does not resolve again).</summary>
        public ConcurrentDictionary<string, IPAddress> Addresses { get; } = new(StringComparer.OrdinalIgnoreCase);
        /// <summary>Earliest certificate expiry (Unix seconds) seen on the last TLS handshake, by host.</summary>
        public ConcurrentDictionary<string, (double Expiry, string Version)> Certificates { get; } = new(StringComparer.OrdinalIgnoreCase);
    }

    public async Task<bool> ProbeAsync(Uri target, HttpProbeConfig h, long bodyLimit, ProbeResult r, CancellationToken ct)
    {
        var client = _clients.GetOrAdd(new ClientKey(h.TlsConfig.InsecureSkipVerify, h.TlsConfig.ServerName, h.PreferredIpProtocol), k => Create(k));
        var trace = new HttpTrace();
        var url = target;
        var method = new HttpMethod(h.Method.ToUpperInvariant());
        var body = h.Body.Length > 0 ? h.Body : null;
        var redirects = 0;
        HttpResponseMessage? response = null;
        double processing = 0, transfer = 0;
        var failedRegex = false;
        long read = 0;
        try
        {
            while (true)
            {
                using var req = new HttpRequestMessage(method, url) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher };
                req.Options.Set(TraceKey, trace);
                if (body is not null) req.Content = new StringContent(body, Encoding.UTF8);
                req.Headers.UserAgent.ParseAdd("Watchkeeper-Probe/1.0");
                foreach (var (name, value) in h.Headers)
                {
                    if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase)) req.Headers.Host = value;
                    else if (string.Equals(name, "User-Agent", StringComparison.OrdinalIgnoreCase)) { req.Headers.UserAgent.Clear(); req.Headers.TryAddWithoutValidation(name, value); }
                    else if (!req.Headers.TryAddWithoutValidation(name, value) && req.Content is not null)
                    {
                        req.Content.Headers.Remove(name);
                        req.Content.Headers.TryAddWithoutValidation(name, value);
                    }
                }
                r.Info($"making HTTP request to {url} ({method})");
                var sent = time.GetTimestamp();
                var connectBefore = trace.Resolve + trace.Connect;
                response?.Dispose();
                response = await client.Invoker.SendAsync(req, ct);
                processing = Math.Max(0, time.GetElapsedTime(sent).TotalSeconds - (trace.Resolve + trace.Connect - connectBefore));
                var code = (int)response.StatusCode;
                if (h.FollowRedirects && code is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
                {
                    if (redirects >= MaxRedirects)
                    {
                        r.Fail($"stopped after {MaxRedirects} redirects");
                        break;
                    }
                    redirects++;
                    url = new Uri(url, location);
                    r.Info($"redirected ({code}) to {url}");
                    if (code is 301 or 302 or 303 && method != HttpMethod.Head)
                    {
                        method = HttpMethod.Get;
                        body = null;
                    }
                    continue;
                }
                break;
            }

            var status = (int)response.StatusCode;
            r.StatusCode = status;
            r.Info($"received HTTP response with status code {status}");
            var ok = r.Error is null;
            if (ok && !(h.ValidStatusCodes.Count > 0 ? h.ValidStatusCodes.Contains(status) : status is >= 200 and < 300))
                ok = r.Fail($"invalid HTTP response status code {status}");

            var version = $"HTTP/{response.Version.Major}.{response.Version.Minor}";
            if (ok && h.ValidHttpVersions.Count > 0 && !h.ValidHttpVersions.Any(v => v == version || v + ".0" == version))
                ok = r.Fail($"invalid HTTP version {version}");

            // The body: read up to the limit, kept only when a check needs its text.
            var needText = h.FailIfBodyMatchesRegexp.Count + h.FailIfBodyNotMatchesRegexp.Count + h.FailIfBodyNotContains.Count > 0;
            var start = time.GetTimestamp();
            var limit = h.BodySizeLimit > 0 ? Math.Min(h.BodySizeLimit, bodyLimit) : bodyLimit;
            using var kept = needText ? new MemoryStream() : null;
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(ct);
                int n;
                while ((n = await stream.ReadAsync(buffer, ct)) > 0)
                {
                    read += n;
                    if (read > limit)
                    {
                        ok = r.Fail($"response body is longer than the limit of {limit} bytes");
                        break;
                    }
                    if (kept is not null) await kept.WriteAsync(buffer.AsMemory(0, n), ct);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            transfer = time.GetElapsedTime(start).TotalSeconds;

            if (ok && kept is not null)
            {
                var text = Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
                foreach (var p in h.FailIfBodyMatchesRegexp)
                    if (ok && Regex.IsMatch(text, p, RegexOptions.None, TimeSpan.FromSeconds(1)))
                    {
                        failedRegex = true;
                        ok = r.Fail($"body matched regular expression \"{p}\"");
                    }
                foreach (var p in h.FailIfBodyNotMatchesRegexp)
                    if (ok && !Regex.IsMatch(text, p, RegexOptions.None, TimeSpan.FromSeconds(1)))
                    {
                        failedRegex = true;
                        ok = r.Fail($"body did not match regular expression \"{p}\"");
                    }
                foreach (var s in h.FailIfBodyNotContains)
                    if (ok && !text.Contains(s, StringComparison.Ordinal))
                    {
                        failedRegex = true;
                        ok = r.Fail($"body does not contain \"{s}\"");
                    }
            }

            var ssl = url.Scheme == Uri.UriSchemeHttps;
            if (ok && h.FailIfSsl && ssl) ok = r.Fail("final request used TLS (fail_if_ssl)");
            if (ok && h.FailIfNotSsl && !ssl) ok = r.Fail("final request did not use TLS (fail_if_not_ssl)");

            r.Add("probe_http_status_code", status);
            r.Add("probe_http_content_length", response.Content.Headers.ContentLength ?? -1);
            r.Add("probe_http_uncompressed_body_length", read);
            r.Add("probe_http_redirects", redirects);
            r.Add("probe_http_ssl", ssl ? 1 : 0);
            r.Add("probe_http_version", response.Version.Major + response.Version.Minor / 10.0);
            if (response.Content.Headers.LastModified is { } lm) r.Add("probe_http_last_modified_timestamp_seconds", lm.ToUnixTimeSeconds());
            if (ssl && client.Certificates.TryGetValue(h.TlsConfig.ServerName.Length > 0 ? h.TlsConfig.ServerName : url.Host, out var cert))
            {
                r.Add("probe_ssl_earliest_cert_expiry", cert.Expiry);
                r.Add("probe_ssl_last_chain_expiry_timestamp_seconds", cert.Expiry);
                if (cert.Version.Length > 0) r.Add("probe_tls_version_info", 1, "version", cert.Version);
                var left = DateTimeOffset.FromUnixTimeMilliseconds((long)(cert.Expiry * 1000)) - time.GetUtcNow();
                if (ok && h.FailIfCertExpiresWithin.Value > TimeSpan.Zero && left < h.FailIfCertExpiresWithin.Value)
                    ok = r.Fail($"certificate expires in {Platform.Duration.Format(TimeSpan.FromSeconds(Math.Max(0, Math.Round(left.TotalSeconds))))}, within fail_if_cert_expires_within");
            }
            return ok;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (HttpRequestException ex)
        {
            r.StatusCode ??= 0;
            r.Add("probe_http_status_code", 0);
            r.Add("probe_http_content_length", -1);
            r.Add("probe_http_redirects", redirects);
            r.Add("probe_http_ssl", 0);
            return r.Fail($"HTTP request failed: {Message(ex)}");
        }
        catch (IOException ex)
        {
            r.Add("probe_http_status_code", r.StatusCode ?? 0);
            return r.Fail($"reading the response failed: {ex.Message}");
        }
        finally
        {
            response?.Dispose();
            var address = trace.Address ?? (client.Addresses.TryGetValue($"{url.Host}:{url.Port}", out var a) ? a : null);
            if (address is not null) ProbeNet.AddressMetrics(r, address);
            r.Add("probe_dns_lookup_time_seconds", trace.Resolve);
            r.Add("probe_http_duration_seconds", trace.Resolve, "phase", "resolve");
            r.Add("probe_http_duration_seconds", trace.Connect, "phase", "connect");
            r.Add("probe_http_duration_seconds", processing, "phase", "processing");
            r.Add("probe_http_duration_seconds", transfer, "phase", "transfer");
            r.Add("probe_failed_due_to_regex", failedRegex ? 1 : 0);
        }
    }

    private static string Message(Exception ex)
    {
        var m = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException) m += ": " + inner.Message;
        return m;
    }

    private Client Create(ClientKey key)
    {
        Client? client = null;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromMinutes(2),
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = key.ServerName.Length > 0 ? key.ServerName : null,
                RemoteCertificateValidationCallback = (sender, cert, chain, errors) =>
                {
                    var host = sender switch
                    {
                        SslStream s => s.TargetHostName,
                        HttpRequestMessage m => m.RequestUri?.Host ?? "",
                        _ => "",
                    };
                    var version = sender is SslStream ss ? ProbeNet.TlsVersion(ss.SslProtocol) : "";
                    if (ProbeNet.EarliestExpiry(cert, chain) is { } expiry && client is not null)
                    {
                        client.Certificates[host] = (expiry, version == "None" ? "" : version);
                    }
                    return key.Insecure || errors == SslPolicyErrors.None;
                },
            },
        };
        handler.ConnectCallback = async (ctx, ct) =>
        {
            var trace = ctx.InitialRequestMessage.Options.TryGetValue(TraceKey, out var t) ? t : null;
            var start = time.GetTimestamp();
            var host = ctx.DnsEndPoint.Host;
            IPAddress address;
            if (!IPAddress.TryParse(host.Trim('[', ']'), out address!))
            {
                var all = await Dns.GetHostAddressesAsync(host, ct);
                var want = key.PreferredIp == "ip6" ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
                address = all.FirstOrDefault(a => a.AddressFamily == want) ?? all.FirstOrDefault()
                    ?? throw new HttpRequestException($"no addresses for {host}");
            }
            var resolved = time.GetElapsedTime(start).TotalSeconds;
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, ctx.DnsEndPoint.Port), ct);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            if (trace is not null)
            {
                trace.Resolve = resolved;
                trace.Connect = time.GetElapsedTime(start).TotalSeconds - resolved;
                trace.Address = address;
            }
            client!.Addresses[$"{host}:{ctx.DnsEndPoint.Port.ToString(CultureInfo.InvariantCulture)}"] = address;
            return new NetworkStream(socket, ownsSocket: true);
        };
        client = new Client(new HttpMessageInvoker(handler, disposeHandler: true));
        return client;
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Invoker.Dispose();
        _clients.Clear();
    }
}
