using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>
/// A loopback HTTP (and HTTPS, with a self-signed certificate) server with the endpoints the probe tests need:
/// <c>/ok</c>, <c>/status/{code}</c>, <c>/redirect</c>, <c>/slow</c>, <c>/big</c>, <c>/echo</c> (200 only for
/// POST with header X-Token: abc and body "ping", else 400).
/// </summary>
public sealed class LoopbackHttp : IAsyncDisposable
{
    private readonly WebApplication _app;

    public Uri Http { get; }
    public Uri Https { get; }
    public DateTime CertificateNotAfter { get; }

    private LoopbackHttp(WebApplication app, Uri http, Uri https, DateTime notAfter)
    {
        _app = app;
        Http = http;
        Https = https;
        CertificateNotAfter = notAfter;
    }

    public static async Task<LoopbackHttp> StartAsync(TimeSpan certificateLifetime)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        var notAfter = DateTimeOffset.UtcNow.Add(certificateLifetime);
        using var created = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), notAfter);
        var cert = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);

        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(cert));
        });
        var app = b.Build();
        app.MapGet("/ok", () => Results.Text("all good: healthy"));
        app.MapGet("/status/{code:int}", (int code) => Results.Text("status " + code, statusCode: code));
        app.MapGet("/redirect", () => Results.Redirect("/ok"));
        app.MapGet("/loop", () => Results.Redirect("/loop"));
        app.MapGet("/slow", async (CancellationToken ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
            return Results.Text("late");
        });
        app.MapGet("/big", () => Results.Text(new string('x', 5000)));
        app.MapPost("/echo", async (HttpRequest r) =>
        {
            var body = await new StreamReader(r.Body).ReadToEndAsync();
            return r.Headers["X-Token"] == "abc" && body == "ping" ? Results.Text("pong") : Results.Text("wrong", statusCode: 400);
        });
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        var http = new Uri(addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal)));
        var https = new Uri(addresses.First(a => a.StartsWith("https://", StringComparison.Ordinal)));
        return new LoopbackHttp(app, http, https, cert.NotAfter.ToUniversalTime());
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// A tiny authoritative DNS server on loopback UDP: answers A queries for <c>app.example.</c> with 192.0.2.10 and
/// 192.0.2.11 (documentation addresses, never contacted), NXDOMAIN for any other name.
/// </summary>
public sealed class LoopbackDns : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LoopbackDns() => _loop = Task.Run(LoopAsync);

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
    public string Target => "127.0.0.1:" + Port;
    public int Queries;

    private async Task LoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await _udp.ReceiveAsync(_stop.Token);
                Interlocked.Increment(ref Queries);
                var answer = Answer(r.Buffer);
                if (answer is not null) await _udp.SendAsync(answer, r.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static byte[]? Answer(byte[] q)
    {
        if (q.Length < 17) return null;
        var i = 12;
        var labels = new List<string>();
        while (i < q.Length && q[i] != 0)
        {
            var n = q[i];
            labels.Add(System.Text.Encoding.ASCII.GetString(q, i + 1, n));
            i += n + 1;
        }
        var questionEnd = i + 5;
        if (questionEnd > q.Length) return null;
        var type = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(i + 1));
        var name = string.Join('.', labels).ToLowerInvariant();
        var known = name == "app.example";
        var answers = known && type is 1 or 255 ? new[] { new byte[] { 192, 0, 2, 10 }, new byte[] { 192, 0, 2, 11 } } : [];
        var ms = new MemoryStream();
        ms.Write(q, 0, 2);
        var rd = (byte)(q[2] & 0x01);
        ms.WriteByte((byte)(0x84 | rd)); // QR, AA, RD copied
        ms.WriteByte((byte)(0x80 | (known ? 0 : 3))); // RA, rcode NOERROR or NXDOMAIN
        ms.Write([0, 1, 0, (byte)answers.Length, 0, 0, 0, 0]);
        ms.Write(q, 12, questionEnd - 12);
        foreach (var a in answers)
        {
            ms.Write([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4]);
            ms.Write(a);
        }
        return ms.ToArray();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
