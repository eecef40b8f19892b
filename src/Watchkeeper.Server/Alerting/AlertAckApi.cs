using System.Security.Claims;
using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// <c>POST /api/v1/alerts/{fingerprint}/acknowledge</c> (responder): acknowledges the open incident an alert is
/// attached to (incident_alerts, written by the alerts-to-incidents worker), as acknowledging the incident itself does.
/// </summary>
public static class AlertAckApi
{
    public static void MapAlertAckApi(this WebApplication app) =>
        app.MapPost("/api/v1/alerts/{fingerprint}/acknowledge", async (string fingerprint, Db db, IncidentService incidents, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var fp = fingerprint.Trim().ToLowerInvariant();
            if (fp.Length != 16 || !fp.All(char.IsAsciiHexDigit)) throw new ValidationException("fingerprint", "must be an alert fingerprint (16 hex digits)");
            var id = await IncidentForAlertAsync(db, fp, ct)
                ?? throw new NotFoundException($"alert {fp} is not attached to any open incident");
            return TypedResults.Ok(await incidents.AcknowledgeAsync(id, null, user.Actor(), ct));
        }).RequireAuthorization(Policies.Responder).WithTags("alerts").AsResults();

    /// <summary>The newest open (not resolved) incident the alert is attached to, or null.</summary>
    public static Task<long?> IncidentForAlertAsync(Db db, string fingerprint, CancellationToken ct) => db.ReadAsync(c =>
        c.QueryFirstOrDefaultAsync<long?>(new CommandDefinition("""
            SELECT a.incident_id FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id
            WHERE a.fingerprint = @fingerprint AND i.status <> 'resolved'
            ORDER BY a.attached_at DESC, a.incident_id DESC LIMIT 1
            """, new { fingerprint }, cancellationToken: ct)), ct);
}
