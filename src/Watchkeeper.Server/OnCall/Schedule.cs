using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Watchkeeper.Server.OnCall;

/// <summary>Who is on call over a span of time, and why (the layer, or an override).</summary>
public sealed record Shift(string Schedule, string Person, DateTimeOffset Start, DateTimeOffset End, string Source);

/// <summary>A schedule override: <see cref="Person"/> is on call instead of whoever the layers say, between start and end.</summary>
public sealed record Override(long Id, string Schedule, string Person, DateTimeOffset Start, DateTimeOffset End, string Reason, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>
/// A compiled schedule. All rotation arithmetic is done on the local time line of the schedule's zone, so a daily
/// handoff at 09:00 stays at 09:00 local across daylight-saving changes (the shift that contains the change is an
/// hour shorter or longer). A local handoff time that falls in a spring-forward gap moves to the first instant
/// after the gap; one that occurs twice at a fall-back uses the earlier occurrence (NodaTime's lenient resolver).
/// </summary>
public sealed class Schedule
{
    public Schedule(string name, string description, DateTimeZone zone, IReadOnlyList<Layer> layers)
    {
        Name = name;
        Description = description;
        Zone = zone;
        Layers = layers;
    }

    public string Name { get; }
    public string Description { get; }
    public DateTimeZone Zone { get; }
    public IReadOnlyList<Layer> Layers { get; }

    /// <summary>Who is on call at <paramref name="at"/>: the newest override covering it, else the highest layer with someone.</summary>
    public (string Person, string Source)? At(DateTimeOffset at, IReadOnlyList<Override> overrides)
    {
        Override? o = null;
        foreach (var x in overrides)
            if (x.Schedule == Name && x.Start <= at && at < x.End && (o is null || x.Id > o.Id)) o = x;
        if (o is not null) return (o.Person, "override");
        var instant = Instant.FromDateTimeOffset(at);
        for (var i = Layers.Count - 1; i >= 0; i--)
            if (Layers[i].At(instant, Zone) is { } p) return (p, Layers[i].Name);
        return null;
    }

    /// <summary>The final schedule between <paramref name="from"/> and <paramref name="to"/> as shifts (gaps with no one are left out).</summary>
    public IReadOnlyList<Shift> Shifts(DateTimeOffset from, DateTimeOffset to, IReadOnlyList<Override> overrides)
    {
        if (to <= from) return [];
        var points = new SortedSet<DateTimeOffset> { from };
        var a = Instant.FromDateTimeOffset(from);
        var b = Instant.FromDateTimeOffset(to);
        foreach (var layer in Layers) layer.Boundaries(a, b, Zone, points);
        foreach (var o in overrides)
        {
            if (o.Schedule != Name) continue;
            if (o.Start > from && o.Start < to) points.Add(o.Start);
            if (o.End > from && o.End < to) points.Add(o.End);
        }
        points.Add(to);
        var list = points.Where(p => p >= from && p <= to).ToList();
        var shifts = new List<Shift>();
        for (var i = 0; i + 1 < list.Count; i++)
        {
            var who = At(list[i], overrides);
            if (who is null) continue;
            if (shifts.Count > 0 && shifts[^1].End == list[i] && shifts[^1].Person == who.Value.Person && shifts[^1].Source == who.Value.Source)
                shifts[^1] = shifts[^1] with { End = list[i + 1] };
            else
                shifts.Add(new Shift(Name, who.Value.Person, list[i], list[i + 1], who.Value.Source));
        }
        return shifts;
    }

    public static LocalTime ParseTime(string s) =>
        LocalTimePattern.CreateWithInvariantCulture("HH:mm").Parse(s.Trim()).GetValueOrThrow();

    public static LocalDate ParseDate(string s) => LocalDatePattern.Iso.Parse(s.Trim()).GetValueOrThrow();

    public static IsoDayOfWeek ParseDay(string s) => s.Trim().ToLowerInvariant() switch
    {
        "mon" or "monday" => IsoDayOfWeek.Monday,
        "tue" or "tuesday" => IsoDayOfWeek.Tuesday,
        "wed" or "wednesday" => IsoDayOfWeek.Wednesday,
        "thu" or "thursday" => IsoDayOfWeek.Thursday,
        "fri" or "friday" => IsoDayOfWeek.Friday,
        "sat" or "saturday" => IsoDayOfWeek.Saturday,
        "sun" or "sunday" => IsoDayOfWeek.Sunday,
        _ => throw new FormatException($"'{s}' is not a day of the week (monday .. sunday, or mon .. sun)"),
    };
}

/// <summary>A local-time window on some days of the week (the day is the day the window starts).</summary>
public sealed record Restriction(IReadOnlySet<IsoDayOfWeek> Days, LocalTime From, LocalTime To)
{
    private bool DayOk(IsoDayOfWeek d) => Days.Count == 0 || Days.Contains(d);

    public bool Covers(LocalDateTime local)
    {
        var t = local.TimeOfDay;
        if (From < To) return DayOk(local.DayOfWeek) && t >= From && t < To;
        // Runs past midnight (or all day when From == To): from From on its day to To on the next day.
        if (t >= From) return DayOk(local.DayOfWeek);
        return t < To && DayOk(local.Date.PlusDays(-1).DayOfWeek);
    }
}

/// <summary>One rotation layer: shifts of <see cref="ShiftLength"/> on the local time line from <see cref="Anchor"/>.</summary>
public sealed class Layer(string name, LocalDateTime anchor, Period shiftLength, IReadOnlyList<string> participants, IReadOnlyList<Restriction> restrictions)
{
    public string Name { get; } = name;
    public LocalDateTime Anchor { get; } = anchor;
    public Period ShiftLength { get; } = shiftLength;
    public IReadOnlyList<string> Participants { get; } = participants;
    public IReadOnlyList<Restriction> Restrictions { get; } = restrictions;

    private long LengthTicks => ShiftLength.ToDuration().BclCompatibleTicks;

    /// <summary>Local date-times compared on one linear scale (local time read as if it were UTC).</summary>
    private static long Ticks(LocalDateTime l) => l.InUtc().ToInstant().ToUnixTimeTicks();

    private LocalDateTime ShiftStartLocal(long k) => LocalDateTime.FromDateTime(
        new DateTime(Ticks(Anchor) + k * LengthTicks + DateTime.UnixEpoch.Ticks, DateTimeKind.Unspecified));

    public Instant ShiftStart(long k, DateTimeZone zone) => ShiftStartLocal(k).InZoneLeniently(zone).ToInstant();

    /// <summary>The index of the shift containing <paramref name="at"/> (negative before the first).</summary>
    public long ShiftIndex(Instant at, DateTimeZone zone)
    {
        var local = at.InZone(zone).LocalDateTime;
        var k = (long)Math.Floor((double)(Ticks(local) - Ticks(Anchor)) / LengthTicks);
        // Around a fall-back the local time line repeats an hour: settle on the shift whose instants contain `at`.
        while (ShiftStart(k, zone) > at) k--;
        while (ShiftStart(k + 1, zone) <= at) k++;
        return k;
    }

    public string? At(Instant at, DateTimeZone zone)
    {
        if (Participants.Count == 0) return null;
        var k = ShiftIndex(at, zone);
        if (k < 0) return null;
        if (Restrictions.Count > 0)
        {
            var local = at.InZone(zone).LocalDateTime;
            if (!Restrictions.Any(r => r.Covers(local))) return null;
        }
        return Participants[(int)(k % Participants.Count)];
    }

    /// <summary>Adds every instant in (from, to) where this layer's answer may change: handoffs and restriction edges.</summary>
    public void Boundaries(Instant from, Instant to, DateTimeZone zone, SortedSet<DateTimeOffset> into)
    {
        var k = Math.Max(0, ShiftIndex(from, zone));
        for (var n = 0; n < 10_000; n++, k++)
        {
            var s = ShiftStart(k, zone);
            if (s >= to) break;
            if (s > from) into.Add(s.ToDateTimeOffset());
        }
        if (Restrictions.Count == 0) return;
        var d0 = from.InZone(zone).Date.PlusDays(-1);
        var d1 = to.InZone(zone).Date.PlusDays(1);
        for (var d = d0; d <= d1; d = d.PlusDays(1))
        {
            foreach (var r in Restrictions)
            {
                foreach (var t in new[] { r.From, r.To })
                {
                    var i = (d + t).InZoneLeniently(zone).ToInstant();
                    if (i > from && i < to) into.Add(i.ToDateTimeOffset());
                }
            }
        }
    }

    public static string Describe(Period p) => p.Days % 7 == 0 && p.Hours == 0 && p.Days > 0
        ? (p.Days == 7 ? "weekly" : (p.Days / 7).ToString(CultureInfo.InvariantCulture) + " weeks")
        : p.Days == 1 && p.Hours == 0 ? "daily" : p.ToString();
}
