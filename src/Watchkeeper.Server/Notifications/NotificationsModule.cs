using Dapper;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Notify.Email;
using Watchkeeper.Alerting.Notify.MsTeams;
using Watchkeeper.Alerting.Notify.PagerDuty;
using Watchkeeper.Alerting.Notify.Slack;
using Watchkeeper.Alerting.Notify.Webhook;
using Watchkeeper.Server.Notifications.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Notifications;

public sealed record OutboxItemView(long Id, string Receiver, string Integration, string Kind, string GroupKey, string DedupKey, string? Action, string Status,
    int AlertsFiring, int AlertsResolved, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, int Attempts, int? LastStatusCode, string? LastError,
    DateTimeOffset? FinishedAt);

public sealed record AttemptView(int Attempt, DateTimeOffset StartedAt, long LatencyMs, string Outcome, int? StatusCode, string? Error, string Sender);

public sealed record OutboxPage(IReadOnlyList<OutboxItemView> Items, long Total, IReadOnlyDictionary<string, long> ByStatus);

public sealed record OutboxDetail(OutboxItemView Item, IReadOnlyList<AttemptView> Attempts, TemplateData Data);

/// <summary>Reads of the outbox for the API, the page and <c>wk notifications</c>.</summary>
public sealed class NotificationQueries(Db db)
{
    private sealed class Row
    {
        public long Id { get; set; }
        public string Receiver { get; set; } = "";
        public string Integration { get; set; } = "";
        public string GroupKey { get; set; } = "";
        public string DedupKey { get; set; } = "";
        public string? Action { get; set; }
        public string Status { get; set; } = "";
        public int AlertsFiring { get; set; }
        public int AlertsResolved { get; set; }
        public long CreatedAt { get; set; }
        public long NextAttemptAt { get; set; }
        public int Attempts { get; set; }
        public int? LastStatusCode { get; set; }
        public string? LastError { get; set; }
        public long? FinishedAt { get; set; }
    }

    private sealed class AttemptRow
    {
        public int Attempt { get; set; }
        public long StartedAt { get; set; }
        public long LatencyMs { get; set; }
        public string Outcome { get; set; } = "";
        public int? StatusCode { get; set; }
        public string? Error { get; set; }
        public string Sender { get; set; } = "";
    }

    private const string Columns = "id, receiver, integration, group_key, dedup_key, action, status, alerts_firing, alerts_resolved, created_at, next_attempt_at, attempts, last_status_code, last_error, finished_at";

    public async Task<OutboxPage> ListAsync(string? status, string? receiver, int limit, long? before, CancellationToken ct)
    {
        if (status is not null && !OutboxStatus.All.Contains(status))
            throw new ValidationException("status", $"'{status}' is not one of {string.Join(", ", OutboxStatus.All)}");
        if (limit is < 1 or > 1000) throw new ValidationException("limit", "must be between 1 and 1000");
        var where = "WHERE 1=1" + (status is null ? "" : " AND status = @status") + (receiver is null ? "" : " AND receiver = @receiver");
        var p = new { status, receiver, limit, before };
        return await db.ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM notification_outbox {where}{(before is null ? "" : " AND id < @before")} ORDER BY id DESC LIMIT @limit", p, cancellationToken: ct));
            var total = await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM notification_outbox {where}", p, cancellationToken: ct));
            var counts = (await c.QueryAsync<(string Status, long N)>(new CommandDefinition(
                "SELECT status, COUNT(*) FROM notification_outbox GROUP BY status", cancellationToken: ct))).ToDictionary(x => x.Status, x => x.N);
            foreach (var s in OutboxStatus.All) counts.TryAdd(s, 0);
            return new OutboxPage([.. rows.Select(View)], total, counts);
        }, ct);
    }

    public async Task<OutboxDetail> GetAsync(long id, CancellationToken ct)
    {
        return await db.ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM notification_outbox WHERE id = @id", new { id }, cancellationToken: ct))
                      ?? throw new NotFoundException($"notification {id} not found");
            var json = await c.ExecuteScalarAsync<string>(new CommandDefinition("SELECT data_json FROM notification_outbox WHERE id = @id", new { id }, cancellationToken: ct));
            var attempts = await c.QueryAsync<AttemptRow>(new CommandDefinition(
                "SELECT attempt, started_at, latency_ms, outcome, status_code, error, sender FROM notification_attempts WHERE outbox_id = @id ORDER BY id", new { id },
                cancellationToken: ct));
            return new OutboxDetail(View(row),
                [.. attempts.Select(a => new AttemptView(a.Attempt, DateTimeOffset.FromUnixTimeMilliseconds(a.StartedAt), a.LatencyMs, a.Outcome, a.StatusCode, a.Error, a.Sender))],
                System.Text.Json.JsonSerializer.Deserialize<TemplateData>(json!, NotificationOutbox.Json)!);
        }, ct);
    }

    private static OutboxItemView View(Row r) => new(r.Id, r.Receiver, r.Integration, KindOf(r.Integration), r.GroupKey, r.DedupKey, r.Action, r.Status, r.AlertsFiring,
        r.AlertsResolved, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt), r.Status == OutboxStatus.Pending ? DateTimeOffset.FromUnixTimeMilliseconds(r.NextAttemptAt) : null,
        r.Attempts, r.LastStatusCode, r.LastError, r.FinishedAt is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null);

    /// <summary>slack_configs[0] -> slack.</summary>
    public static string KindOf(string integration)
    {
        var i = integration.IndexOf("_configs", StringComparison.Ordinal);
        return i > 0 ? integration[..i] : integration;
    }
}

/// <summary>
/// The integrations by kind. HTTP ones share the "notify" client's resilience pipeline, each under its own
/// <c>http_config</c> (authorization on top, TLS and proxy at the bottom: see <see cref="IntegrationTransports"/>).
/// </summary>
public sealed class NotifierSet(IHttpMessageHandlerFactory handlers, IntegrationTransports transports, IOptionsMonitor<NotificationsConfig> options)
{
    public const string HttpClientName = "notify";

    public INotifier For(IntegrationConfig c) => c switch
    {
        SlackConfig => new SlackNotifier(Client(c)),
        PagerDutyConfig => new PagerDutyNotifier(Client(c)),
        WebhookConfig => new WebhookNotifier(Client(c)),
        MsTeamsV2Config => new MsTeamsV2Notifier(Client(c)),
        EmailConfig => new EmailNotifier(options.CurrentValue.SmtpTimeout),
        _ => throw new NotifyConfigException($"no integration for {c.GetType().Name}"),
    };

    // The pipeline handler belongs to the factory (which rotates and disposes it): the client must not dispose it.
#pragma warning disable CA2000
    private HttpClient Client(IntegrationConfig c) =>
        new(new IntegrationSettingsHandler(c, transports) { InnerHandler = handlers.CreateHandler(HttpClientName) }, disposeHandler: false)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
#pragma warning restore CA2000
}

public static class NotificationsModule
{
    public static void AddNotifications(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        s.AddSingleton<NotificationSignal>();
        s.AddSingleton<NotificationOutbox>();
        s.AddSingleton<INotificationOutbox>(sp => sp.GetRequiredService<NotificationOutbox>());
        s.AddSingleton<NotificationQueries>();
        s.AddSingleton<NotifierSet>();
        s.TryAddSingleton<IReceiverSource, ConfigReceivers>();
        s.TryAddSingleton<INotificationTemplatesSource, DefaultTemplatesSource>();
        s.AddSingleton<NotificationSender>();
        s.AddHostedService(sp => sp.GetRequiredService<NotificationSender>());
        s.AddSingleton<IntegrationTransports>();
        s.AddHttpClient(NotifierSet.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new IntegrationPrimaryHandler(sp.GetRequiredService<IntegrationTransports>()))
            .AddResilienceHandler("notify", (b, ctx) =>
            {
                var o = ctx.ServiceProvider.GetRequiredService<IOptionsMonitor<NotificationsConfig>>().CurrentValue;
                ctx.EnableReloads<NotificationsConfig>();
                var maxDelay = o.HttpRetryDelay.Value * 8;
                if (o.HttpRetries > 0)
                {
                    b.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = o.HttpRetries,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = o.HttpRetryDelay,
                        MaxDelay = maxDelay,
                        ShouldRetryAfterHeader = true,
                        // Transient failures (5xx, 408, 429, connection errors, timeouts), except a Retry-After longer than
                        // the quick retries may wait: the outbox then schedules the next try at that time instead.
                        ShouldHandle = a => ValueTask.FromResult(HttpClientResiliencePredicates.IsTransient(a.Outcome)
                            && !(a.Outcome.Result is { } r && HttpOutcome.RetryAfter(r) is { } ra && ra > maxDelay)),
                        OnRetry = a =>
                        {
                            var code = a.Outcome.Result is { } r ? (int?)r.StatusCode : null;
                            var error = a.Outcome.Exception is { } ex ? ex.GetType().Name + ": " + ex.Message : $"HTTP {code}";
                            HttpTries.Failed(code, error, a.Duration, a.RetryDelay);
                            return default;
                        },
                    });
                }
                b.AddTimeout(o.HttpTimeout.Value);
            });
        s.AddNotificationPages();
    }

    public static void MapNotifications(this WebApplication app)
    {
        var g = app.MapGroup("/api/v1/notifications").WithTags("notifications").RequireAuthorization(Policies.Viewer);
        g.MapGet("", async (NotificationQueries q, string? status, string? receiver, int? limit, long? before, CancellationToken ct) =>
            TypedResults.Ok(await q.ListAsync(Empty(status), Empty(receiver), limit ?? 100, before, ct))).ProducesValidationProblem();
        g.MapGet("/{id:long}", async (NotificationQueries q, long id, CancellationToken ct) => TypedResults.Ok(await q.GetAsync(id, ct)))
            .ProducesProblem(StatusCodes.Status404NotFound);
        g.MapGet("/receivers", (IReceiverSource r) => TypedResults.Ok(ReceiverInfo.List(r)));
    }

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
