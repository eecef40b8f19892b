using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;
using NodaTime;

namespace Watchkeeper.Server.Maintenance;

/// <summary>One occurrence of a window: an interval of instants.</summary>
public sealed record Occurrence(string WindowId, DateTimeOffset Start, DateTimeOffset End)
{
    public bool Contains(DateTimeOffset t) => Start <= t && t < End;
}

/// <summary>A window definition that cannot be read; <see cref="Field"/> names the key.</summary>
public sealed class RecurrenceException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// When a window's occurrences are, computed on demand (never stored). Recurring windows are evaluated on the
/// local wall clock of their IANA zone, then each local start becomes an instant with NodaTime's lenient rule: a
/// local time that the clocks skip (spring forward) moves forward by the length of the gap, a local time that
/// happens twice (fall back) is the earlier instant. An occurrence lasts <see cref="Length"/> of elapsed time.
/// </summary>
public abstract partial class Recurrence
{
    /// <summary>The longest occurrence accepted.</summary>
    public static readonly TimeSpan MaxLength = TimeSpan.FromDays(31);

    protected Recurrence(DateTimeZone zone, TimeSpan length)
    {
        Zone = zone;
        Length = length;
    }

    public DateTimeZone Zone { get; }
    public TimeSpan Length { get; }

    /// <summary>The occurrences of window <paramref name="id"/> that overlap [from, to), in start order, at most <paramref name="limit"/>.</summary>
    public IEnumerable<Occurrence> Between(string id, DateTimeOffset from, DateTimeOffset to, int limit = 1000)
    {
        if (to <= from || limit <= 0) yield break;
        var n = 0;
        DateTimeOffset? last = null;
        // Start one day early on the local clock so an occurrence already running at 'from' is found whatever the offset.
        var cursor = Instant.FromDateTimeOffset(from - Length).InZone(Zone).LocalDateTime.PlusDays(-1);
        foreach (var local in LocalStarts(cursor))
        {
            var start = local.InZoneLeniently(Zone).ToDateTimeOffset().ToUniversalTime();
            if (start >= to) yield break;
            if (last == start) continue;
            last = start;
            var end = start + Length;
            if (end <= from) continue;
            yield return new Occurrence(id, start, end);
            if (++n >= limit) yield break;
        }
    }

    /// <summary>The occurrence running at <paramref name="at"/>, or else the next one to start, or null.</summary>
    public Occurrence? CurrentOrNext(string id, DateTimeOffset at, TimeSpan horizon) => Between(id, at, at + horizon, 1).FirstOrDefault();

    /// <summary>Local start times at or after <paramref name="from"/>, ascending (possibly endless).</summary>
    protected abstract IEnumerable<LocalDateTime> LocalStarts(LocalDateTime from);

    public static Recurrence Parse(MaintenanceWindowDef w)
    {
        var zoneId = (w.TimeZone ?? "").Trim();
        var zone = (zoneId.Length == 0 ? null : DateTimeZoneProviders.Tzdb.GetZoneOrNull(zoneId))
            ?? throw new RecurrenceException("time_zone", $"unknown time zone '{w.TimeZone}': use an IANA name such as Europe/London or America/Toronto");
        var kinds = (w.Start is not null ? 1 : 0) + (w.Cron is not null ? 1 : 0) + (w.Rule is not null ? 1 : 0);
        if (kinds == 0) throw new RecurrenceException("start", "give start (a one-off window), cron or rule (a recurring window)");
        if (kinds > 1) throw new RecurrenceException(w.Cron is not null && w.Rule is not null ? "rule" : "start", "give only one of start, cron and rule");
        TimeSpan? length = null;
        if (w.Duration is not null)
        {
            if (Platform.Duration.Error(w.Duration) is { } de) throw new RecurrenceException("duration", de);
            length = Platform.Duration.Parse(w.Duration).Value;
            if (length <= TimeSpan.Zero) throw new RecurrenceException("duration", "must be positive");
            if (length > MaxLength) throw new RecurrenceException("duration", "must be at most 31d");
        }
        if (w.Start is not null)
        {
            if (w.At is not null) throw new RecurrenceException("at", "is only used with rule");
            var start = Time(w.Start, zone, "start");
            if (w.End is not null && length is not null) throw new RecurrenceException("end", "give end or duration, not both");
            if (w.End is null && length is null) throw new RecurrenceException("end", "a one-off window needs end or duration");
            var end = w.End is not null ? Time(w.End, zone, "end") : start + length!.Value;
            if (end <= start)
                throw new RecurrenceException("end", $"the window ends ({Format(end, zone)}) before it starts ({Format(start, zone)})");
            if (end - start > MaxLength) throw new RecurrenceException("end", "a window lasts at most 31d");
            return new Once(zone, start, end);
        }
        if (w.End is not null) throw new RecurrenceException("end", "is only used with start (a one-off window); recurring windows take duration");
        if (length is null) throw new RecurrenceException("duration", "a recurring window needs duration (e.g. 2h)");
        if (w.Cron is not null)
        {
            if (w.At is not null) throw new RecurrenceException("at", "is only used with rule (cron carries its own time)");
            return CronRecurrence.Create(w.Cron, zone, length.Value);
        }
        return MonthlyRule.Create(w.Rule!, w.At, zone, length.Value);
    }

    private static DateTimeOffset Time(string text, DateTimeZone zone, string field)
    {
        var t = text.Trim();
        if (DateTime.TryParseExact(t, ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"], CultureInfo.InvariantCulture,
                DateTimeStyles.None, out var local))
            return LocalDateTime.FromDateTime(local).InZoneLeniently(zone).ToDateTimeOffset().ToUniversalTime();
        if (OffsetPattern().IsMatch(t) && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out var abs)) return abs.ToUniversalTime();
        throw new RecurrenceException(field, $"'{text}' is not a local time (2026-12-20T02:00) or an RFC 3339 time with an offset");
    }

    public static string Format(DateTimeOffset t, DateTimeZone zone) =>
        Instant.FromDateTimeOffset(t).InZone(zone).ToString("yyyy-MM-dd HH:mm o<g>", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetPattern();

    private sealed class Once(DateTimeZone zone, DateTimeOffset start, DateTimeOffset end) : Recurrence(zone, end - start)
    {
        protected override IEnumerable<LocalDateTime> LocalStarts(LocalDateTime from)
        {
            var local = Instant.FromDateTimeOffset(start).InZone(Zone).LocalDateTime;
            if (local >= from) yield return local;
        }
    }

    private sealed class CronRecurrence(CronExpression cron, DateTimeZone zone, TimeSpan length) : Recurrence(zone, length)
    {
        public static CronRecurrence Create(string text, DateTimeZone zone, TimeSpan length)
        {
            CronExpression cron;
            try
            {
                cron = CronExpression.Parse(text.Trim(), CronFormat.Standard);
            }
            catch (CronFormatException ex)
            {
                throw new RecurrenceException("cron", $"'{text}' is not a five-field cron expression (minute hour day-of-month month day-of-week): {ex.Message}");
            }
            // A valid expression that never fires (e.g. "0 0 30 2 *", February 30th) is an impossible schedule.
            if (cron.GetNextOccurrence(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)) is null)
                throw new RecurrenceException("cron", $"'{text}' never occurs (no such date)");
            return new CronRecurrence(cron, zone, length);
        }

        protected override IEnumerable<LocalDateTime> LocalStarts(LocalDateTime from)
        {
            // The cron expression is evaluated on the zone's wall clock (UTC stands in for "local" here: no DST jumps).
            var at = DateTime.SpecifyKind(from.ToDateTimeUnspecified(), DateTimeKind.Utc);
            var inclusive = true;
            while (true)
            {
                var next = cron.GetNextOccurrence(at, inclusive);
                if (next is null) yield break;
                yield return LocalDateTime.FromDateTime(next.Value);
                at = next.Value;
                inclusive = false;
            }
        }
    }

    private sealed partial class MonthlyRule(int nth, IsoDayOfWeek day, LocalTime time, DateTimeZone zone, TimeSpan length) : Recurrence(zone, length)
    {
        public static MonthlyRule Create(string text, string? at, DateTimeZone zone, TimeSpan length)
        {
            var m = RulePattern().Match(text.Trim());
            if (!m.Success)
                throw new RecurrenceException("rule", $"'{text}' is not a monthly rule such as \"2nd tuesday\", \"last sunday\" or \"first monday of the month\"");
            var nth = m.Groups[1].Value.ToLowerInvariant() switch
            {
                "1st" or "first" => 1,
                "2nd" or "second" => 2,
                "3rd" or "third" => 3,
                "4th" or "fourth" => 4,
                "5th" or "fifth" => 5,
                _ => -1,
            };
            var day = Enum.Parse<IsoDayOfWeek>(m.Groups[2].Value, ignoreCase: true);
            if (at is null) throw new RecurrenceException("at", "a rule needs at, the local start time (HH:MM)");
            if (!TimeOnly.TryParseExact(at.Trim(), ["HH:mm", "H:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
                throw new RecurrenceException("at", $"'{at}' is not a time of day (HH:MM, 00:00 to 23:59)");
            return new MonthlyRule(nth, day, new LocalTime(t.Hour, t.Minute), zone, length);
        }

        protected override IEnumerable<LocalDateTime> LocalStarts(LocalDateTime from)
        {
            var month = new LocalDate(from.Year, from.Month, 1);
            // Bounded: about 1000 years of months.
            for (var i = 0; i < 12_000; i++, month = month.PlusMonths(1))
            {
                if (Day(month) is not { } d) continue;
                var local = d + time;
                if (local >= from) yield return local;
            }
        }

        private LocalDate? Day(LocalDate first)
        {
            if (nth > 0)
            {
                var d = first.With(DateAdjusters.NextOrSame(day)).PlusWeeks(nth - 1);
                return d.Month == first.Month ? d : null;
            }
            return first.With(DateAdjusters.EndOfMonth).With(DateAdjusters.PreviousOrSame(day));
        }

        [GeneratedRegex(@"^(1st|first|2nd|second|3rd|third|4th|fourth|5th|fifth|last)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)(\s+of\s+(the|every)\s+month)?$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
        private static partial Regex RulePattern();
    }
}
