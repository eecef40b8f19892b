using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Watchkeeper.Server.Tests.Notifications;

/// <summary>
/// A real HTTP receiver on loopback (Kestrel) that records every request and answers what the test says; each
/// payload can be checked against the provider's format by the test.
/// </summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Received(string Path, string ContentType, string Body)
    {
        /// <summary>The request headers (first value of each).</summary>
        public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    }

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>What to answer; default 200 "ok".</summary>
    public Func<Received, (int Status, string Body, IReadOnlyDictionary<string, string>? Headers)> Respond { get; set; } = _ => (200, "ok", null);

    public int Port { get; }
    public string Url(string path = "/hook") => $"http://127.0.0.1:{Port}{path}";

    private LoopbackReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>A loopback port nothing listens on (yet): a receiver that is down.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task<LoopbackReceiver> StartAsync(int port = 0)
    {
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = b.Build();
        LoopbackReceiver? self = null;
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var r = new Received(ctx.Request.Path, ctx.Request.ContentType ?? "", await reader.ReadToEndAsync())
            {
                Headers = ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            };
            self!.Requests.Enqueue(r);
            var (status, body, headers) = self.Respond(r);
            ctx.Response.StatusCode = status;
            foreach (var (k, v) in headers ?? new Dictionary<string, string>()) ctx.Response.Headers[k] = v;
            await ctx.Response.WriteAsync(body);
        });
        await app.StartAsync();
        var actual = port != 0 ? port : new Uri(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First()).Port;
        self = new LoopbackReceiver(app, actual);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
