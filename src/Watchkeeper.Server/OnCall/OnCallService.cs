using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

/// <summary>The oncall_overrides table row.</summary>
public sealed class OverrideRow
{
    public long Id { get; set; }
    public string Schedule { get; set; } = "";
    public string Person { get; set; } = "";
    public long StartsAt { get; set; }
    public long EndsAt { get; set; }
    public string Reason { get; set; } = "";
    public long CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";

    public Override ToOverride() => new(Id, Schedule, Person, DateTimeOffset.FromUnixTimeMilliseconds(StartsAt), DateTimeOffset.FromUnixTimeMilliseconds(EndsAt),
        Reason, CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt));
}

public sealed record OnCallNow(string Schedule, string? Person, string? Source, DateTimeOffset At, DateTimeOffset? Until, string? NextPerson);

public sealed record CreateOverrideRequest(string? Schedule, string? Person, string? Start, string? End, string? Reason);

/// <summary>Schedules at run time: who is on call, the final schedule with overrides, overrides, calendar feeds.</summary>
public sealed class OnCallService(Db db, ConfigHolder config, AuditLog audit, TimeProvider time)
{
    /// <summary>The longest span one query of shifts may cover (a year), and the most overrides one schedule may hold ahead.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(366);
    public const int MaxFutureOverrides = 500;

    public OnCallModel Model => OnCallModel.For(config.Current);
    public DateTimeOffset Now => time.GetUtcNow();

    public Schedule ScheduleOf(string? name) =>
        name is not null && Model.Schedules.TryGetValue(name, out var s) ? s
            : throw new NotFoundException($"schedule '{name}' not found; schedules: {string.Join(", ", Model.Schedules.Keys)}");

    /// <summary>Overrides that overlap [from, to).</summary>
    public async Task<IReadOnlyList<Override>> OverridesAsync(DateTimeOffset from, DateTimeOffset to, string? schedule = null, CancellationToken ct = default) =>
        await db.ReadAsync(async c => (await c.QueryAsync<OverrideRow>(new CommandDefinition(
            "SELECT * FROM oncall_overrides WHERE deleted_at IS NULL AND ends_at > @from AND starts_at < @to" + (schedule is null ? "" : " AND schedule = @schedule") + " ORDER BY starts_at, id",
            new { from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds(), schedule }, cancellationToken: ct)))
            .Select(r => r.ToOverride()).ToList(), ct);

    /// <summary>Who is on call at <paramref name="at"/> on each schedule (or one), until when, and who is next.</summary>
    public async Task<IReadOnlyList<OnCallNow>> WhoAsync(DateTimeOffset at, string? schedule, CancellationToken ct = default)
    {
        var list = schedule is null ? Model.Schedules.Values.ToList() : [ScheduleOf(schedule)];
        var horizon = at.AddDays(45);
        var overrides = await OverridesAsync(at, horizon, schedule, ct);
        var result = new List<OnCallNow>();
        foreach (var s in list)
        {
            var shifts = s.Shifts(at, horizon, overrides);
            var current = shifts.FirstOrDefault(x => x.Start <= at && at < x.End);
            var next = shifts.FirstOrDefault(x => x.Start >= (current?.End ?? at) && x.Person != current?.Person);
            result.Add(new OnCallNow(s.Name, current?.Person, current?.Source, at, current?.End, next?.Person));
        }
        return result;
    }

    public async Task<IReadOnlyList<Shift>> ShiftsAsync(string scheduleName, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default)
    {
        if (to <= from) throw new ValidationException("end", "must be after start");
        if (to - from > MaxSpan) throw new ValidationException("end", "at most 366 days of shifts at once");
        var s = ScheduleOf(scheduleName);
        return s.Shifts(from, to, await OverridesAsync(from, to, s.Name, ct));
    }

    public async Task<Override> CreateOverrideAsync(CreateOverrideRequest r, string actor, CancellationToken ct = default)
    {
        var schedule = ScheduleOf(Required(r.Schedule, "schedule")).Name;
        var person = Required(r.Person, "person");
        if (!Model.People.ContainsKey(person)) throw new ValidationException("person", $"unknown person '{person}'; people: {string.Join(", ", Model.People.Keys)}");
        var start = Time(r.Start, "start");
        var end = Time(r.End, "end");
        if (end <= start) throw new ValidationException("end", "must be after start");
        if (end - start > MaxSpan) throw new ValidationException("end", "an override lasts at most 366 days");
        var now = Now;
        if (end <= now) throw new ValidationException("end", "is in the past: an override must end after now");
        var reason = (r.Reason ?? "").Trim();
        if (reason.Length > 500 || reason.Any(ch => char.IsControl(ch))) throw new ValidationException("reason", "at most 500 characters on one line");
        var row = new OverrideRow
        {
            Schedule = schedule, Person = person, StartsAt = start.ToUnixTimeMilliseconds(), EndsAt = end.ToUnixTimeMilliseconds(),
            Reason = reason, CreatedAt = now.ToUnixTimeMilliseconds(), CreatedBy = actor,
        };
        return await db.WriteAsync(async (c, tx) =>
        {
            var future = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM oncall_overrides WHERE schedule = @schedule AND deleted_at IS NULL AND ends_at > @now",
                new { schedule, now = row.CreatedAt }, tx, cancellationToken: ct));
            if (future >= MaxFutureOverrides) throw new ConflictException($"schedule '{schedule}' already has {future} current or future overrides (limit {MaxFutureOverrides})");
            row.Id = await c.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO oncall_overrides (schedule, person, starts_at, ends_at, reason, created_at, created_by)
                VALUES (@Schedule, @Person, @StartsAt, @EndsAt, @Reason, @CreatedAt, @CreatedBy) RETURNING id
                """, row, tx, cancellationToken: ct));
            await audit.AppendAsync(c, tx, actor, "oncall.override.create", "oncall_override", row.Id.ToString(CultureInfo.InvariantCulture), null,
                new { row.Schedule, row.Person, row.StartsAt, row.EndsAt, row.Reason });
            return row.ToOverride();
        }, ct);
    }

    public async Task DeleteOverrideAsync(long id, string actor, CancellationToken ct = default) =>
        await db.WriteAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<OverrideRow>(new CommandDefinition("SELECT * FROM oncall_overrides WHERE id = @id AND deleted_at IS NULL", new { id }, tx, cancellationToken: ct))
                ?? throw new NotFoundException($"override {id} not found");
            await c.ExecuteAsync(new CommandDefinition("UPDATE oncall_overrides SET deleted_at = @now WHERE id = @id", new { id, now = Now.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
            await audit.AppendAsync(c, tx, actor, "oncall.override.delete", "oncall_override", id.ToString(CultureInfo.InvariantCulture),
                new { row.Schedule, row.Person, row.StartsAt, row.EndsAt, row.Reason }, null);
        }, ct);

    // ------------------------------------------------------------------ calendar feeds

    /// <summary>Creates (or replaces, revoking the old one) the secret calendar token of <paramref name="person"/> and returns it.</summary>
    public async Task<string> NewCalendarTokenAsync(string person, string actor, CancellationToken ct = default)
    {
        if (!Model.People.ContainsKey(person)) throw new NotFoundException($"'{person}' is not in people: (schedules name people from there)");
        var token = "wkcal_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM oncall_calendar_tokens WHERE person = @person", new { person }, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("INSERT INTO oncall_calendar_tokens (person, token_hash, created_at, created_by) VALUES (@person, @hash, @now, @actor)",
                new { person, hash = Hash(token), now = Now.ToUnixTimeMilliseconds(), actor }, tx, cancellationToken: ct));
            await audit.AppendAsync(c, tx, actor, "oncall.calendar_token", "person", person, null, new { rotated = true });
        }, ct);
        return token;
    }

    /// <summary>True when <paramref name="token"/> is the current calendar token of <paramref name="person"/>.</summary>
    public async Task<bool> CalendarTokenValidAsync(string person, string? token, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100) return false;
        var hash = await db.ReadAsync(c => c.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT token_hash FROM oncall_calendar_tokens WHERE person = @person", new { person }, cancellationToken: ct)), ct);
        return hash is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(Hash(token)));
    }

    /// <summary>The person's shifts on every schedule for the next calendar_weeks, as an iCalendar (RFC 5545) document.</summary>
    public async Task<string> CalendarAsync(string person, CancellationToken ct = default)
    {
        if (!Model.People.ContainsKey(person)) throw new NotFoundException($"'{person}' is not in people:");
        var now = Now;
        var from = now.AddDays(-7);
        var to = now.AddDays(7 * Model.Settings.CalendarWeeks);
        var cal = new Ical.Net.Calendar { ProductId = "-//Watchkeeper//On-call//EN" };
        cal.AddProperty("X-WR-CALNAME", $"On call: {person}");
        cal.AddProperty("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
        foreach (var s in Model.Schedules.Values)
        {
            foreach (var shift in s.Shifts(from, to, await OverridesAsync(from, to, s.Name, ct)))
            {
                if (shift.Person != person) continue;
                cal.Events.Add(new CalendarEvent
                {
                    Uid = $"{s.Name}-{shift.Start.ToUnixTimeSeconds()}-{person}@watchkeeper",
                    Summary = $"On call: {s.Name}" + (shift.Source == "override" ? " (override)" : ""),
                    Description = $"{person} is on call for schedule {s.Name} ({(shift.Source == "override" ? "override" : "layer " + shift.Source)}), {s.Zone.Id}.",
                    DtStart = new CalDateTime(shift.Start.UtcDateTime),
                    DtEnd = new CalDateTime(shift.End.UtcDateTime),
                    DtStamp = new CalDateTime(now.UtcDateTime),
                    Transparency = "TRANSPARENT",
                });
            }
        }
        return new CalendarSerializer().SerializeToString(cal) ?? "";
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Required(string? v, string field) =>
        string.IsNullOrWhiteSpace(v) ? throw new ValidationException(field, "is required") : v.Trim();

    /// <summary>A time in the API: RFC 3339 or Unix seconds (the one time parser).</summary>
    public static DateTimeOffset Time(string? s, string field) =>
        Incidents.IncidentsModule.ParseTime(s, field) ?? throw new ValidationException(field, "is required (RFC 3339 time, e.g. 2026-12-24T18:00:00Z)");
}
