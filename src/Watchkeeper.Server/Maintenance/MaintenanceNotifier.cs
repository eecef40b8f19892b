using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Maintenance;

/// <summary>
/// Tells the status page's confirmed subscribers about a run: scheduled, in progress, completed, rolled back or
/// cancelled. Deliveries are queued in the transaction of the transition (in the status page's persisted queue, sent by
/// its delivery worker with its retries), one per subscriber and step: a step is never announced twice.
/// </summary>
public static class MaintenanceNotifier
{
    public const string DeliveryKind = "maintenance";

    /// <summary>Queues the message of <paramref name="status"/> for every confirmed subscriber; returns how many.</summary>
    public static async Task<int> QueueAsync(DbConnection c, DbTransaction tx, WatchkeeperConfig config, long runId, string status, string title, string description,
        DateTimeOffset start, DateTimeOffset end, IReadOnlyList<string> components, long at, CancellationToken ct)
    {
        var names = MaintenanceWindowDef.StatusComponents(config, components)
            .Select(id => config.StatusPage.Components.First(x => x.Id == id))
            .Select(x => x.Name.Length > 0 ? x.Name : x.Service).ToList();
        var payload = JsonSerializer.Serialize(new
        {
            maintenance = new
            {
                id = runId.ToString(CultureInfo.InvariantCulture), name = title, status, impact = "maintenance", scheduled_for = start, scheduled_until = end,
                components = names, body = Body(status, description, start, end),
            },
        }, StatusSubscribersJson);
        return await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO status_deliveries (subscriber_id, kind, event_key, payload_json, status, attempts, next_attempt_at, created_at)
            SELECT id, 'maintenance', @key, @payload, 'pending', 0, @at, @at FROM status_subscribers WHERE state = 'active'
            ON CONFLICT (subscriber_id, event_key) DO NOTHING
            """, new { key = $"maintenance:{runId.ToString(CultureInfo.InvariantCulture)}:{status}", payload, at }, tx, cancellationToken: ct));
    }

    private static readonly JsonSerializerOptions StatusSubscribersJson = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>What users read for each step (plain text).</summary>
    public static string Body(string status, string description, DateTimeOffset start, DateTimeOffset end)
    {
        var when = $"{Utc(start)} to {Utc(end)} UTC";
        var lead = status switch
        {
            "scheduled" => $"Maintenance is scheduled for {when}.",
            RunState.InProgress => $"Maintenance has started (window {when}). Affected services may be unavailable or slower.",
            RunState.Completed => "Maintenance is complete and the services are working normally.",
            RunState.RolledBack => "Maintenance was stopped and its changes rolled back; the services are running as before.",
            RunState.Cancelled => $"The maintenance planned for {when} is cancelled.",
            _ => $"Maintenance {when}.",
        };
        return string.IsNullOrWhiteSpace(description) || status is RunState.Completed or RunState.RolledBack or RunState.Cancelled ? lead : lead + " " + description;
    }

    public static string StatusTitle(string status) => status == "scheduled" ? "Scheduled" : RunState.Title(status);

    /// <summary>Subject and text of a subscriber's mail for a queued maintenance payload.</summary>
    public static (string Subject, string Text) Mail(string payloadJson, string pageTitle, string pageUrl, string unsubscribe)
    {
        var m = JsonDocument.Parse(payloadJson).RootElement.GetProperty("maintenance");
        var name = m.GetProperty("name").GetString() ?? "";
        var status = StatusTitle(m.GetProperty("status").GetString() ?? "");
        var comps = string.Join(", ", m.GetProperty("components").EnumerateArray().Select(x => x.GetString()));
        var text = $"""
            {name}
            Maintenance: {status}
            Affected: {(comps.Length == 0 ? "(none listed)" : comps)}

            {m.GetProperty("body").GetString()}

            Status page: {pageUrl}#maintenance-{m.GetProperty("id").GetString()}

            You receive this because you subscribed to {pageTitle}. Unsubscribe: {unsubscribe}
            """;
        return ($"[{pageTitle}] Maintenance: {name}: {status}".ReplaceLineEndings(" "), text);
    }

    /// <summary>The webhook body for a queued maintenance payload.</summary>
    public static string Webhook(string payloadJson, object page, string unsubscribe)
    {
        var m = JsonDocument.Parse(payloadJson).RootElement.GetProperty("maintenance");
        return JsonSerializer.Serialize(new { type = "maintenance.update", page, maintenance = m, unsubscribe_url = unsubscribe }, StatusSubscribersJson);
    }

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
