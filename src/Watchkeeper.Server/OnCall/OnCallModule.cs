using System.Globalization;
using System.Security.Claims;
using Dapper;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.OnCall.Ui;
using Watchkeeper.Server.Overview;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

public sealed record EscalationPageView(int Round, int Step, string Person, string Method, string Target, long? OutboxId, string? Error, DateTimeOffset At);

public sealed record EscalationView(long Id, long IncidentId, string IncidentTitle, string Policy, string Severity, string State, int Round, int Step, int Steps,
    DateTimeOffset StartedAt, DateTimeOffset? NextAt, DateTimeOffset? EndedAt, string? EndedBy, DateTimeOffset? AcknowledgedAt, IReadOnlyList<EscalationPageView> Pages);

/// <summary>
/// On-call and escalation: schedules (who is on call, overrides, calendar feeds), escalation policies started by
/// incidents, and acknowledgement (API, signed one-time links). API under <c>/api/v1/oncall</c>; pages in Ui/.
/// </summary>
public static class OnCallModule
{
    public static void AddOnCall(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        s.AddSingleton<OnCallService>();
        s.AddSingleton<AckLinks>();
        s.AddSingleton<EscalationEngine>();
        s.AddSingleton<IIncidentHooks>(sp => sp.GetRequiredService<EscalationEngine>());
        // Escalation steps run on the replica holding the leader lease (always this one with SQLite).
        s.TryAddSingleton(sp => { var lease = sp.GetRequiredService<ILeadership>(); return new EscalationLeadership(() => lease.IsLeader); });
        s.AddHostedService<EscalationWorker>();
        s.AddOnCallPages();
        s.AddOverviewSection<OnCallOverviewSection>();
    }

    public static void MapOnCall(this WebApplication app)
    {
        var g = app.MapGroup("/api/v1/oncall").WithTags("oncall").RequireAuthorization(Policies.Viewer).AsResults();

        g.MapGet("/", async (OnCallService s, string? at, string? schedule, CancellationToken ct) =>
            TypedResults.Ok(await s.WhoAsync(IncidentsModule.ParseTime(at, "at") ?? s.Now, NullIfEmpty(schedule), ct)));
        g.MapGet("/schedules", (OnCallService s) => TypedResults.Ok(s.Model.Schedules.Values.Select(Describe)));
        g.MapGet("/schedules/{name}/shifts", async (string name, string? start, string? end, OnCallService s, CancellationToken ct) =>
        {
            var from = IncidentsModule.ParseTime(start, "start") ?? s.Now;
            var to = IncidentsModule.ParseTime(end, "end") ?? from.AddDays(7 * s.Model.Settings.CalendarWeeks);
            return TypedResults.Ok(await s.ShiftsAsync(name, from, to, ct));
        });
        g.MapGet("/overrides", async (OnCallService s, string? schedule, CancellationToken ct) =>
            TypedResults.Ok(await s.OverridesAsync(s.Now, DateTimeOffset.MaxValue.AddDays(-1), NullIfEmpty(schedule), ct)));
        g.MapPost("/overrides", async (CreateOverrideRequest req, OnCallService s, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var o = await s.CreateOverrideAsync(req, user.Actor(), ct);
            return TypedResults.Created($"/api/v1/oncall/overrides/{o.Id}", o);
        }).RequireAuthorization(Policies.Responder);
        g.MapDelete("/overrides/{id:long}", async (long id, OnCallService s, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await s.DeleteOverrideAsync(id, user.Actor(), ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(Policies.Responder);
        // People: names, roles and which contact methods each has; addresses only for admins.
        g.MapGet("/people", (OnCallService s, ClaimsPrincipal user) => TypedResults.Ok(s.Model.People.Values.Select(p => new
        {
            p.Name, p.FullName, p.Roles, contact_methods = p.Contact.Available(),
            contact = PlatformModule.RankOf(user) >= 3 ? p.Contact : null,
        })));
        g.MapGet("/escalation-policies", (OnCallService s) => TypedResults.Ok(s.Model.Policies.Select(p => new
        {
            p.Name, p.Description, p.Severities, p.Repeat,
            steps = p.Steps.Select(st => new { notify = st.Notify.Select(t => t.ToString()), wait_seconds = st.Wait.Value.TotalSeconds, st.Via }),
        })));
        g.MapGet("/escalations", async (Db db, OnCallService s, string? state, long? incident, CancellationToken ct) =>
            TypedResults.Ok(await EscalationsAsync(db, s.Model, NullIfEmpty(state), incident, 100, ct)));
        // The caller's calendar feed URL (a new secret each call; the old one stops working). Admins may ask for anyone's.
        g.MapPost("/calendar-token", async (CalendarTokenRequest? req, OnCallService s, ConfigHolder cfg, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var person = string.IsNullOrWhiteSpace(req?.Person) ? user.Actor() : req.Person.Trim();
            if (person != user.Actor() && PlatformModule.RankOf(user) < 3)
                throw new ForbiddenException("only an admin may create another person's calendar link");
            var token = await s.NewCalendarTokenAsync(person, user.Actor(), ct);
            return TypedResults.Ok(new { person, token, url = CalendarUrl(cfg.Current, person, token) });
        });

        // Calendar apps cannot send headers: the feed takes the person's calendar token in the URL, or a login (API token or session).
        app.MapGet("/oncall/calendar/{person}.ics", async Task<IResult> (string person, string? token, HttpContext http, OnCallService s, CancellationToken ct) =>
        {
            var allowed = PlatformModule.RankOf(http.User) >= 1 || await s.CalendarTokenValidAsync(person, token, ct);
            if (!allowed)
                return TypedResults.Problem(Problems.Create(401, "Unauthorized", "a calendar token (?token=, from POST /api/v1/oncall/calendar-token) or a login is required"));
            var ics = await s.CalendarAsync(person, ct);
            return Results.Text(ics, "text/calendar; charset=utf-8");
        }).AllowAnonymous().WithTags("oncall");

        OnCallPages.Map(app);
    }

    public sealed record CalendarTokenRequest(string? Person);

    public static string CalendarUrl(WatchkeeperConfig c, string person, string token) =>
        c.Server.Absolute($"/oncall/calendar/{Uri.EscapeDataString(person)}.ics?token={token}");

    private static object Describe(Schedule s) => new
    {
        s.Name, s.Description, time_zone = s.Zone.Id,
        layers = s.Layers.Select(l => new
        {
            l.Name, shift = Layer.Describe(l.ShiftLength), anchor = l.Anchor.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture), l.Participants,
            restrictions = l.Restrictions.Select(r => new { days = r.Days.Select(d => d.ToString().ToLowerInvariant()), from = r.From.ToString("HH:mm", CultureInfo.InvariantCulture), to = r.To.ToString("HH:mm", CultureInfo.InvariantCulture) }),
        }),
    };

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>Escalations, newest first, with their pages.</summary>
    public static async Task<IReadOnlyList<EscalationView>> EscalationsAsync(Db db, OnCallModel model, string? state, long? incident, int limit, CancellationToken ct)
    {
        if (state is not null && state is not (EscalationState.Active or EscalationState.Acknowledged or EscalationState.Resolved or EscalationState.Exhausted
                or EscalationState.Superseded or EscalationState.Cancelled))
            throw new ValidationException("state", $"'{state}' is not active, acknowledged, resolved, exhausted, superseded or cancelled");
        return await db.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<EscalationRow>(new CommandDefinition(
                "SELECT * FROM escalations WHERE (@state IS NULL OR state = @state) AND (@incident IS NULL OR incident_id = @incident) ORDER BY id DESC LIMIT @limit",
                new { state, incident, limit }, cancellationToken: ct))).AsList();
            var list = new List<EscalationView>();
            foreach (var e in rows)
            {
                var inc = await c.QuerySingleAsync<(string Title, long? AcknowledgedAt)>(new CommandDefinition(
                    "SELECT title, acknowledged_at FROM incidents WHERE id = @id", new { id = e.IncidentId }, cancellationToken: ct));
                var pages = (await c.QueryAsync<(long Round, long Step, string Person, string Method, string Target, long? OutboxId, string? Error, long CreatedAt)>(new CommandDefinition(
                    "SELECT round, step, person, method, target, outbox_id, error, created_at FROM escalation_pages WHERE escalation_id = @id ORDER BY id",
                    new { id = e.Id }, cancellationToken: ct)))
                    .Select(p => new EscalationPageView((int)p.Round, (int)p.Step + 1, p.Person, p.Method, p.Target, p.OutboxId, p.Error, DateTimeOffset.FromUnixTimeMilliseconds(p.CreatedAt))).ToList();
                list.Add(new EscalationView(e.Id, e.IncidentId, inc.Title, e.Policy, e.Severity, e.State, e.Round, e.Step, model.Policy(e.Policy)?.Steps.Count ?? 0,
                    DateTimeOffset.FromUnixTimeMilliseconds(e.StartedAt), e.State == EscalationState.Active ? DateTimeOffset.FromUnixTimeMilliseconds(e.NextAt) : null,
                    e.EndedAt is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : null, e.EndedBy,
                    inc.AcknowledgedAt is { } a ? DateTimeOffset.FromUnixTimeMilliseconds(a) : null, pages));
            }
            return (IReadOnlyList<EscalationView>)list;
        }, ct);
    }
}
