using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Dispatch;
using Watchkeeper.Alerting.Inhibit;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// Runs the path of an alert to its notification on a synthetic alert right after start, so the first real
/// notification after a restart does not pay for compiling it. On a fresh process the first alert took 200-300 ms
/// from POST to webhook where a warm one takes 2-5 ms (bench/README.md, issue 10 (b)): the JIT, Dapper's per-statement
/// code, System.Text.Json's metadata, the HTTP client stack and its resilience pipeline are all built on first use.
/// One round, all in process, nothing kept and nothing sent anywhere but to a listener of its own:
/// <list type="bullet">
/// <item>the POST body reader and the alert store's merge (a private store), and the dispatcher's grouping and flush
/// (a private dispatcher over the running routes, silences and inhibit rules, whose notification log only collects);</item>
/// <item>the notification log entry, the outbox insert (leased to this process's sender as a hand-off, or claimed as of
/// 1970, when only the synthetic row is due), the JSON round trip and the attempt record, in one database transaction
/// that is rolled back (so the hand-off never happens);</item>
/// <item>each HTTP integration kind of the configuration (and the webhook) sending its payload, rendered with the
/// running templates, through the "notify" client's pipeline to a loopback listener the warm-up opens (the
/// integration's URL, credentials and TLS settings are replaced, so no receiver and no secret is involved);</item>
/// <item>the alerts endpoint's own route, authentication and authorization over loopback, with a random token no
/// one holds (answered 401, as <see cref="Monitoring.QueryWarmup"/> does for queries).</item>
/// </list>
/// Then hot rounds (<see cref="SettleAsync"/>) post batches of synthetic alerts through the endpoint's handler into a
/// private engine until the JIT has compiled the optimised code of what they make hot, so that a burst of alerts after a
/// restart (every Prometheus re-sends all its alerts) does not share the machine with the compiler.
/// <c>/-/ready</c> answers 503 until all of it is done (up to about 6 s after the server listens: most starts on a
/// 2-core machine reach the settling phase's 5 s limit; a round that fails is logged and the warm-up counts as done).
/// <c>watchkeeper serve --alert-warmup=false</c> turns it off.
/// </summary>
public sealed class AlertPathWarmup(IServiceProvider services, ServeOptions serve, ILogger<AlertPathWarmup> log) : BackgroundService
{
    /// <summary>
    /// Rounds of the whole path (<see cref="RunRoundAsync"/>), the database and HTTP parts included (what is slow the
    /// first time there is building the statements, clients and connections; more rounds would only hold the database's
    /// write lock and log each send).
    /// </summary>
    public const int FullRounds = 2;

    /// <summary>Alerts per request in a hot round (<see cref="RunHotRoundAsync"/>), as a Prometheus batch.</summary>
    public const int HotBatch = 64;

    /// <summary>
    /// The settling phase ends when no method was compiled for <see cref="SettleQuiet"/> after at least
    /// <see cref="MinHotRounds"/> hot rounds, and at <see cref="SettleLimit"/> in any case.
    /// </summary>
    public static readonly TimeSpan SettleQuiet = TimeSpan.FromMilliseconds(300), SettleLimit = TimeSpan.FromSeconds(5);

    /// <summary>Enough calls of a request's methods for the JIT to count them hot (30 calls) once counting starts.</summary>
    public const int MinHotRounds = 40;

    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the warm-up is done and the server may report ready (or it failed, or is off).</summary>
    public Task FirstRound => _first.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!serve.AlertWarmup)
        {
            _first.TrySetResult();
            return;
        }
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        // After the server listens: the last part of a round calls it over loopback.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _first.TrySetResult();
                return;
            }
        }
        var sw = Stopwatch.StartNew();
        var firstMs = 0.0;
        var done = 0;
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
            for (var i = 0; i < FullRounds && !stoppingToken.IsCancellationRequested; i++)
            {
                await RunRoundAsync(i, i == 0 ? client : null, stoppingToken).ConfigureAwait(false);
                done++;
                if (i == 0) firstMs = sw.Elapsed.TotalMilliseconds;
            }
            var (hot, compiled) = await SettleAsync(client, stoppingToken).ConfigureAwait(false);
            log.LogInformation("Alert path warmed up in {Ms:F0} ms: {Rounds} full rounds (the first in {First:F0} ms), {Hot} hot rounds, {Compiled} methods compiled meanwhile",
                sw.Elapsed.TotalMilliseconds, done, firstMs, hot, compiled);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            log.LogWarning(ex, "Alert path warm-up stopped after {Rounds} rounds (the first requests pay the start-up cost instead)", done);
        }
        finally
        {
            _first.TrySetResult();
        }
    }

    /// <summary>
    /// Hot rounds, back to back, until the JIT has nothing left to compile (<see cref="SettleQuiet"/>) or
    /// <see cref="SettleLimit"/>. The runtime compiles a method quickly on its first call and again, optimised, after it
    /// has been called 30 times once start-up has been quiet for a moment; on a fresh process that second compilation
    /// of everything a burst of alerts makes hot otherwise runs on a core the burst needs (a third of the server's CPU
    /// in the first seconds of bench/alerting's throughput runs). Returns the hot rounds and the methods compiled meanwhile.
    /// </summary>
    internal async Task<(int Rounds, int Compiled)> SettleAsync(HttpClient? self, CancellationToken ct)
    {
        // The machine's clock, not the injected TimeProvider: this waits for the JIT's background thread, which runs on it.
        var sw = Stopwatch.StartNew();
        var count0 = System.Runtime.JitInfo.GetCompiledMethodCount();
        var last = count0;
        var lastChange = TimeSpan.Zero;
        var rounds = 0;
        while (sw.Elapsed < SettleLimit && !ct.IsCancellationRequested)
        {
            await RunHotRoundAsync(rounds, rounds % 4 == 0 ? self : null, ct).ConfigureAwait(false);
            rounds++;
            var count = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (count != last)
            {
                last = count;
                lastChange = sw.Elapsed;
            }
            else if (rounds >= MinHotRounds && sw.Elapsed - lastChange >= SettleQuiet) break;
            // A pause between rounds leaves the JIT's background thread a core on a small machine.
            await Task.Delay(TimeSpan.FromMilliseconds(10), ct).ConfigureAwait(false);
        }
        return (rounds, (int)(last - count0));
    }

    /// <summary>
    /// One hot round: a batch of <see cref="HotBatch"/> new alerts through the alerts endpoint's own handler
    /// (<see cref="AlertmanagerApi.PostAlerts"/>, over an in-memory request) into a private engine over the running
    /// routes (its own store, and a notification log that only collects; nothing is flushed), and, when
    /// <paramref name="self"/> is given, the same body to the server's alerts endpoint over loopback with a token no one
    /// holds (answered 401: the HTTP server's request and response code). Label values come from a small fixed set, so
    /// the label-string pool is not filled with warm-up values.
    /// </summary>
    internal async Task RunHotRoundAsync(int round, HttpClient? self, CancellationToken ct)
    {
        var engine = services.GetRequiredService<AlertingEngine>();
        var time = services.GetRequiredService<TimeProvider>();
        var body = HotBody(round, time.GetUtcNow());
        using var priv = new AlertingEngine(new AlertStore(time, engine.Store.Limits), engine.Silences, new CollectingLog(), time, "http://warm-up.invalid");
        await priv.ApplyConfigAsync(engine.Config, ct).ConfigureAwait(false);
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Method = HttpMethods.Post;
        http.Request.Path = AlertPostFastPath.Path;
        http.Request.ContentType = "application/json";
        http.Request.ContentLength = body.Length;
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Response.Body = Stream.Null;
        var result = await AlertmanagerApi.PostAlerts(http, priv).ConfigureAwait(false);
        await result.ExecuteAsync(http).ConfigureAwait(false);
        if (self is not null) await PostSelfAsync(self, body, ct).ConfigureAwait(false);
    }

    private static byte[] HotBody(int round, DateTimeOffset now)
    {
        var sb = new StringBuilder("[");
        var starts = (now - TimeSpan.FromMinutes(1)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < HotBatch; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(System.Globalization.CultureInfo.InvariantCulture,
                $$"""{"labels":{"alertname":"WatchkeeperWarmUp{{i % 4}}","service":"warm-up-{{i % 8}}","instance":"warm-up:{{i}}","job":"warm-up","severity":"{{(round % 2 == 0 ? "warning" : "info")}}"},"annotations":{"summary":"warm-up {{i % 8}}"},"startsAt":"{{starts}}","generatorURL":"http://warm-up.invalid/graph"}""");
        }
        return Encoding.UTF8.GetBytes(sb.Append(']').ToString());
    }

    /// <summary>POSTs <paramref name="body"/> to the server's own alerts endpoint with a random token (answered 401).</summary>
    private async Task PostSelfAsync(HttpClient self, byte[] body, CancellationToken ct)
    {
        if (SelfUri() is not { } uri) return;
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, new Uri(uri, "alertmanager/api/v2/alerts")) { Content = new ByteArrayContent(body) };
            req.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
                "wk_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
            using var _ = await self.SendAsync(req, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One round (see the class); the first <see cref="FullRounds"/> also send to the loopback listener. <paramref name="self"/>, when given, also calls the server's own alerts endpoint
    /// over loopback. Returns the notifications the private dispatcher produced.
    /// </summary>
    public async Task<int> RunRoundAsync(int round, HttpClient? self, CancellationToken ct)
    {
        var engine = services.GetRequiredService<AlertingEngine>();
        var time = services.GetRequiredService<TimeProvider>();
        var now = time.GetUtcNow();

        // Ingest: the body reader and the store's merge, on a store of its own.
        var body = Encoding.UTF8.GetBytes(
            $$"""[{"labels":{"alertname":"WatchkeeperWarmUp","instance":"warm-up:0","job":"warm-up","severity":"info"},"annotations":{"summary":"warm-up"},"startsAt":"{{(now - TimeSpan.FromHours(1)).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}","generatorURL":"http://warm-up.invalid/graph"}]""");
        var parsed = AlertBatchReader.Parse(body, engine.Store.Limits.MaxBatch);
        var (stored, _) = new AlertStore(time, engine.Store.Limits).Put(parsed.Batch, engine.Config.Global.ResolveTimeout);

        // Grouping and flush: a dispatcher of its own over the running configuration, whose log only collects.
        var config = engine.Config;
        var collected = new CollectingLog();
        using (var dispatcher = new Dispatcher(config, engine.Silences, new Inhibitor(config.InhibitRules), collected, time, "http://warm-up.invalid"))
        {
            foreach (var a in stored)
            {
                engine.Status(a);
                dispatcher.Put(a);
            }
            await dispatcher.FlushDueAsync(ct).ConfigureAwait(false);
        }
        var (entry, item) = collected.First ?? Synthetic(stored, now);
        // Due only as of 1970 (see ClaimInAsync below), so the claim can never take a real notification.
        item = item with { CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1) };

        // Log entry, outbox, claim, JSON round trip, attempt record: rolled back.
        var sender = services.GetRequiredService<NotificationSender>();
        var options = services.GetRequiredService<IOptionsMonitor<NotificationsConfig>>().CurrentValue;
        var store = services.GetRequiredService<AlertingStore>();
        if (round < FullRounds && store.HasOutbox)
        {
            await services.GetRequiredService<Db>().RollbackAsync(async (c, tx) =>
            {
                await store.CommitInAsync(c, tx, entry, item, ct).ConfigureAwait(false);
                // Claimed as a sender that is not handed notifications directly would; handed to this one, it is leased already.
                var rows = await sender.ClaimInAsync(c, tx, options, ct, at: 1).ConfigureAwait(false);
                if (rows.Count == 0)
                {
                    var id = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                        "SELECT id FROM notification_outbox WHERE group_key = @GroupKey AND created_at = 1", new { item.GroupKey }, tx, cancellationToken: ct)).ConfigureAwait(false);
                    rows = [new ClaimedRow { Id = id, Receiver = item.Receiver, Integration = item.Integration, GroupKey = item.GroupKey, DataJson = "{}" }];
                }
                _ = JsonSerializer.Deserialize<TemplateData>(JsonSerializer.Serialize(item.Data, NotificationOutbox.Json), NotificationOutbox.Json);
                foreach (var row in rows)
                {
                    await sender.RecordInAsync(c, tx, row, [new AttemptRecord(now, TimeSpan.Zero, "delivered", 200, null)], OutboxStatus.Delivered,
                        now.ToUnixTimeMilliseconds(), NotifyOutcome.Ok(200), null, now).ConfigureAwait(false);
                }
            }, ct).ConfigureAwait(false);
        }

        // Each HTTP integration kind sends its payload through the notify pipeline, to a listener of this warm-up.
        if (round < FullRounds) await SendToLoopbackAsync(item.Data, config, ct).ConfigureAwait(false);

        // The alerts endpoint's route, authentication and authorization, answered 401 for a token no one holds.
        if (self is not null) await PostSelfAsync(self, body, ct).ConfigureAwait(false);
        return collected.Count;
    }

    private Uri? SelfUri()
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var http = addresses?.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal));
        if (http is null || !Uri.TryCreate(http, UriKind.Absolute, out var u)) return null;
        // A wildcard listener is reached over loopback.
        var host = u.Host is "0.0.0.0" or "[::]" or "+" or "*" ? "127.0.0.1" : u.Host;
        return new Uri($"http://{host}:{u.Port}/");
    }

    private async Task SendToLoopbackAsync(TemplateData data, AlertmanagerConfig config, CancellationToken ct)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var serving = AnswerAsync(listener, stop.Token);
        try
        {
            var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/warm-up";
            var kinds = new Dictionary<Type, IntegrationConfig> { [typeof(WebhookConfig)] = new WebhookConfig { Url = url } };
            foreach (var r in config.Receivers)
                foreach (var (_, integration) in r.Integrations())
                {
                    IntegrationConfig? local = integration switch
                    {
                        SlackConfig s => s with { ApiUrl = url, ApiUrlFile = null },
                        PagerDutyConfig p => p with { Url = url, RoutingKey = "warm-up", RoutingKeyFile = null, ServiceKey = null, ServiceKeyFile = null },
                        WebhookConfig w => w with { Url = url, UrlFile = null },
                        MsTeamsV2Config t => t with { WebhookUrl = url, WebhookUrlFile = null },
                        _ => null,
                    };
                    // No credentials, default TLS and no proxy: the warm-up's own listener is the only receiver.
                    if (local is not null) kinds.TryAdd(local.GetType(), local with { HttpConfig = new(), ProxyUrl = null });
                }
            var notifiers = services.GetRequiredService<NotifierSet>();
            var templates = services.GetRequiredService<INotificationTemplatesSource>().Current;
            var time = services.GetRequiredService<TimeProvider>();
            foreach (var c in kinds.Values)
            {
                var tries = new List<AttemptRecord>();
                using var scope = HttpTries.Begin(tries, time);
                try
                {
                    await notifiers.For(c).SendAsync(new NotifyRequest(data, c, templates, NotificationOutbox.DedupKeyFor(data.GroupKey)), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NotifyConfigException or NotificationTemplateException or HttpRequestException or IOException
                                               or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    // A custom template that fails on the synthetic alert, or a busy machine: only this part stays cold.
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            listener.Stop();
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
            }
        }
    }

    /// <summary>Answers each request on the listener 200 with an empty body and closes the connection.</summary>
    private static async Task AnswerAsync(TcpListener listener, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (!ct.IsCancellationRequested)
        {
            using var client = await listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            var stream = client.GetStream();
            var n = 0;
            var bodyStart = -1;
            var length = 0;
            // Headers, then Content-Length bytes of body (bounded by the buffer; the warm-up's payloads are small).
            while (n < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(n), ct).ConfigureAwait(false);
                if (read == 0) break;
                n += read;
                if (bodyStart < 0)
                {
                    var end = buffer.AsSpan(0, n).IndexOf("\r\n\r\n"u8);
                    if (end < 0) continue;
                    bodyStart = end + 4;
                    var headers = Encoding.ASCII.GetString(buffer, 0, end);
                    foreach (var line in headers.Split("\r\n"))
                        if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                            _ = int.TryParse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture, out length);
                }
                if (n - bodyStart >= length) break;
            }
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        }
    }

    private static (NflogEntry, OutboxItem) Synthetic(IReadOnlyList<Alert> alerts, DateTimeOffset now)
    {
        // The routes produced nothing to send (no route, or a receiver without integrations): a notification of the same shape.
        var labels = new Dictionary<string, string> { ["alertname"] = "WatchkeeperWarmUp" };
        var list = alerts.Select(a => new TemplateAlert("firing", a.Labels, a.Annotations, a.StartsAt, null, a.GeneratorUrl,
            LabelSets.FormatFingerprint(a.Fingerprint))).ToList();
        const string key = "{}:{alertname=\"WatchkeeperWarmUp\"}";
        var data = new TemplateData("warm-up", "firing", list, labels, labels, new Dictionary<string, string>(), "http://warm-up.invalid", key);
        var fps = alerts.Select(a => a.Fingerprint).ToHashSet();
        return (new NflogEntry("warm-up", "webhook_configs[0]", key, fps, new HashSet<ulong>(), now, now + TimeSpan.FromHours(1)),
            new OutboxItem("warm-up", "webhook_configs[0]", key, data, now));
    }

    /// <summary>A notification log that keeps what the private dispatcher commits, in memory.</summary>
    private sealed class CollectingLog : INotificationLog
    {
        public (NflogEntry, OutboxItem)? First { get; private set; }
        public int Count { get; private set; }

        public Task<IReadOnlyList<NflogEntry>> LoadAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<NflogEntry>>([]);

        public Task CommitAsync(NflogEntry entry, OutboxItem? item, CancellationToken ct)
        {
            if (item is null) return Task.CompletedTask;
            Count++;
            First ??= (entry, item);
            return Task.CompletedTask;
        }

        public Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken ct) => Task.FromResult(0);
    }
}
