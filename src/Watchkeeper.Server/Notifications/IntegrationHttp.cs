using System.Collections.Concurrent;
using System.Net;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Server.Notifications;

/// <summary>
/// Alertmanager's <c>http_config</c> for the HTTP receivers (Slack, PagerDuty, webhook, Teams). Above the "notify"
/// client's resilience pipeline, <see cref="IntegrationSettingsHandler"/> sets the Authorization header
/// (<c>authorization</c>, <c>bearer_token</c>, <c>basic_auth</c>; credential files are read per request) and tags the
/// request with its integration's transport settings; below it, <see cref="IntegrationPrimaryHandler"/> sends the
/// request through a connection pool built for those settings: <c>tls_config</c> (<c>ca_file</c>, <c>cert_file</c>/<c>key_file</c>,
/// <c>server_name</c>, <c>insecure_skip_verify</c>), <c>proxy_url</c> and <c>follow_redirects</c>. Without
/// <c>proxy_url</c> no proxy is used (as Alertmanager, which ignores the proxy environment unless asked).
/// </summary>
public sealed class IntegrationTransports : IDisposable
{
    /// <summary>The internal header naming the transport of a request; removed before the request leaves.</summary>
    public const string Header = "X-Watchkeeper-Transport";

    private sealed record Key(TlsConfig Tls, bool FollowRedirects, string? Proxy);

    private readonly ConcurrentDictionary<Key, int> _ids = new();
    private readonly ConcurrentDictionary<int, Lazy<HttpMessageInvoker>> _pools = new();
    private int _next;

    /// <summary>The id of the transport for an integration's settings (created on first use).</summary>
    public int IdFor(IntegrationConfig c)
    {
        var key = new Key(c.HttpConfig.Tls, c.HttpConfig.FollowRedirects, c.ProxyUrl);
        return _ids.GetOrAdd(key, k =>
        {
            var id = Interlocked.Increment(ref _next);
            _pools[id] = new Lazy<HttpMessageInvoker>(() => new HttpMessageInvoker(Create(k), disposeHandler: true));
            return id;
        });
    }

    private static SocketsHttpHandler Create(Key k)
    {
        var h = (SocketsHttpHandler)HttpClientFactory.CreateHandler(new HttpClientConfig { Tls = k.Tls, FollowRedirects = k.FollowRedirects });
        h.UseProxy = k.Proxy is not null;
        if (k.Proxy is not null) h.Proxy = new WebProxy(new Uri(k.Proxy));
        return h;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var id = 0;
        if (request.Headers.TryGetValues(Header, out var v)) int.TryParse(v.FirstOrDefault(), System.Globalization.CultureInfo.InvariantCulture, out id);
        request.Headers.Remove(Header);
        if (id == 0 || !_pools.ContainsKey(id)) id = IdFor(DefaultIntegration.Instance);
        return _pools[id].Value.SendAsync(request, ct);
    }

    private sealed record DefaultIntegration : IntegrationConfig
    {
        public static readonly DefaultIntegration Instance = new();
    }

    public void Dispose()
    {
        foreach (var p in _pools.Values)
            if (p.IsValueCreated) p.Value.Dispose();
    }
}

/// <summary>Top of an integration's client: its Authorization header and the tag naming its transport.</summary>
public sealed class IntegrationSettingsHandler(IntegrationConfig config, IntegrationTransports transports) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpClientFactory.ApplyAuth(request, config.HttpConfig);
        request.Headers.Remove(IntegrationTransports.Header);
        request.Headers.TryAddWithoutValidation(IntegrationTransports.Header, transports.IdFor(config).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>The "notify" client's primary handler: sends through the transport the request is tagged with.</summary>
public sealed class IntegrationPrimaryHandler(IntegrationTransports transports) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        transports.SendAsync(request, cancellationToken);
}
