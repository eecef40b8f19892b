using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>
/// In-process scrape targets (host collector, demo services) addressed by a pseudo host:port such as
/// <c>node.internal:9100</c>. A renderer returns exposition text, or null to answer 503 (target down).
/// Use <see cref="HandlerFactory"/> as <see cref="ScrapeManagerOptions.HandlerFactory"/>: requests to a registered
/// address are answered in process, all others go over the network as usual.
/// </summary>
public sealed class InternalTargetRegistry
{
    private readonly ConcurrentDictionary<string, Func<string?>> _targets = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers a renderer for an address (host:port) and any path.</summary>
    public void Map(string address, Func<string?> render) => _targets[address] = render;

    public bool Unmap(string address) => _targets.TryRemove(address, out _);

    public bool TryGet(string address, out Func<string?> render) => _targets.TryGetValue(address, out render!);

    /// <summary>A handler factory that answers registered addresses in process and uses the normal TLS/auth handler otherwise.</summary>
    public Func<ScrapeConfig, HttpMessageHandler> HandlerFactory =>
        cfg => new InternalTargetHandler(this, HttpClientFactory.CreateHandler(cfg.Http));
}

/// <summary>The handler behind <see cref="InternalTargetRegistry.HandlerFactory"/>.</summary>
public sealed class InternalTargetHandler(InternalTargetRegistry registry, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        if (!registry.TryGet(uri.Authority, out var render)) return base.SendAsync(request, cancellationToken);
        var text = render();
        if (text is null)
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("target is down") });
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        content.Headers.TryAddWithoutValidation("Content-Type", ExpositionContentTypes.PrometheusText);
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Content = content });
    }
}
