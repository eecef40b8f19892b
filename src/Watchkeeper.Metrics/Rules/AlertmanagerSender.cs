using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Rules;

/// <summary>One Alertmanager to send to: its API v2 alerts endpoint and HTTP settings.</summary>
public sealed record AlertmanagerTarget(Uri AlertsUrl, HttpClientConfig Http, TimeSpan Timeout);

/// <summary>
/// Sends alerts to external Alertmanagers as Prometheus's notifier does: a bounded queue (the oldest alerts are
/// dropped when it is full), batches of up to <see cref="MaxBatch"/> posted as JSON to <c>/api/v2/alerts</c> on every
/// Alertmanager; per-Alertmanager sent and error counts.
/// </summary>
public sealed class AlertmanagerSender : IAlertSink, IAsyncDisposable
{
    public const int MaxBatch = 256;

    private readonly Channel<RuleAlert> _queue;
    private readonly IReadOnlyList<(AlertmanagerTarget Target, HttpClient Client)> _targets;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Action<string>? _log;
    private long _dropped;

    public AlertmanagerSender(IReadOnlyList<AlertmanagerTarget> targets, int capacity = 10_000, Action<string>? log = null,
        Func<AlertmanagerTarget, HttpMessageHandler>? handlers = null)
    {
        Capacity = capacity;
        _log = log;
        _queue = Channel.CreateBounded<RuleAlert>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest },
            _ => Interlocked.Increment(ref _dropped));
        _targets = [.. targets.Select(t => (t, new HttpClient(handlers?.Invoke(t) ?? HttpClientFactory.CreateHandler(t.Http)) { Timeout = t.Timeout }))];
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public int Capacity { get; }
    public int QueueLength => _queue.Reader.Count;
    public long Dropped => Interlocked.Read(ref _dropped);
    public IReadOnlyList<AlertmanagerTarget> Targets => [.. _targets.Select(t => t.Target)];
    public ConcurrentDictionary<string, long> Sent { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public ValueTask SendAsync(IReadOnlyList<RuleAlert> alerts, CancellationToken ct)
    {
        foreach (var a in alerts) _queue.Writer.TryWrite(a);
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var batch = new List<RuleAlert>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var a)) batch.Add(a);
                if (batch.Count == 0) continue;
                var body = Serialize(batch);
                await Task.WhenAll(_targets.Select(t => PostAsync(t.Target, t.Client, body, batch.Count, ct))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PostAsync(AlertmanagerTarget target, HttpClient client, byte[] body, int count, CancellationToken ct)
    {
        var key = target.AlertsUrl.ToString();
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, target.AlertsUrl) { Content = new ByteArrayContent(body) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            HttpClientFactory.ApplyAuth(req, target.Http);
            using var resp = await client.SendAsync(req, ct).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode) throw new HttpRequestException($"bad response status {(int)resp.StatusCode} {resp.ReasonPhrase}");
            Sent.AddOrUpdate(key, count, (_, v) => v + count);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            Errors.AddOrUpdate(key, count, (_, v) => v + count);
            _log?.Invoke($"error sending {count} alerts to {key}: {ex.Message}");
        }
    }

    /// <summary>Alertmanager API v2's postable alerts.</summary>
    public static byte[] Serialize(IReadOnlyList<RuleAlert> alerts)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartArray();
            foreach (var a in alerts)
            {
                w.WriteStartObject();
                w.WriteStartObject("labels");
                foreach (var l in a.Labels) w.WriteString(l.Name, l.Value);
                w.WriteEndObject();
                w.WriteStartObject("annotations");
                foreach (var l in a.Annotations) w.WriteString(l.Name, l.Value);
                w.WriteEndObject();
                w.WriteString("startsAt", Rfc3339(a.StartsAt));
                w.WriteString("endsAt", Rfc3339(a.EndsAt));
                w.WriteString("generatorURL", a.GeneratorUrl);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return ms.ToArray();
    }

    public static string Rfc3339(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var (_, c) in _targets) c.Dispose();
        _stop.Dispose();
    }
}
