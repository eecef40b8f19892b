using System.Data.Common;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// Work other features do when an incident changes, inside the incident's own transaction (so it commits with the
/// change or not at all). On-call escalation implements it: a declared incident starts the policy of its severity,
/// a raised severity starts the higher one, an acknowledgement or resolution stops it.
/// </summary>
public interface IIncidentHooks
{
    Task DeclaredAsync(DbConnection c, DbTransaction tx, IncidentRow incident, long now, CancellationToken ct);
    Task SeverityChangedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, string previous, long now, CancellationToken ct);
    Task AcknowledgedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, string actor, long now, CancellationToken ct);
    Task ResolvedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, long now, CancellationToken ct);
}
