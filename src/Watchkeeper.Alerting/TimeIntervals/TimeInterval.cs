namespace Watchkeeper.Alerting.TimeIntervals;

/// <summary>An inclusive range of integers (weekdays 0=Sunday, days of month with negatives from the end, months 1-12, years).</summary>
public readonly record struct IntRange(int Begin, int End);

/// <summary>A range of minutes of the day: start inclusive, end exclusive (<c>00:00</c> to <c>24:00</c>).</summary>
public readonly record struct MinuteRange(int Start, int End);

/// <summary>
/// One entry of a named time interval, as Alertmanager's <c>timeinterval.TimeInterval</c>: each list empty means
/// "any"; all non-empty lists must match. Evaluated in <see cref="Location"/> (UTC when absent).
/// </summary>
public sealed record TimeIntervalSpec(
    IReadOnlyList<MinuteRange> Times,
    IReadOnlyList<IntRange> Weekdays,
    IReadOnlyList<IntRange> DaysOfMonth,
    IReadOnlyList<IntRange> Months,
    IReadOnlyList<IntRange> Years,
    TimeZoneInfo? Location)
{
    public bool ContainsTime(DateTimeOffset t)
    {
        var local = Location is null ? t.UtcDateTime : TimeZoneInfo.ConvertTime(t, Location).DateTime;
        if (Times.Count > 0)
        {
            var minute = local.Hour * 60 + local.Minute;
            if (!Times.Any(r => minute >= r.Start && minute < r.End)) return false;
        }
        if (DaysOfMonth.Count > 0)
        {
            var daysInMonth = DateTime.DaysInMonth(local.Year, local.Month);
            var ok = false;
            foreach (var r in DaysOfMonth)
            {
                // Negative days count from the end of the month (-1 is the last day); clamp to the month.
                var b = r.Begin < 0 ? daysInMonth + r.Begin + 1 : r.Begin;
                var e = r.End < 0 ? daysInMonth + r.End + 1 : r.End;
                b = Math.Max(b, 1);
                e = Math.Min(e, daysInMonth);
                if (local.Day >= b && local.Day <= e) { ok = true; break; }
            }
            if (!ok) return false;
        }
        if (Months.Count > 0 && !Months.Any(r => local.Month >= r.Begin && local.Month <= r.End)) return false;
        if (Weekdays.Count > 0 && !Weekdays.Any(r => (int)local.DayOfWeek >= r.Begin && (int)local.DayOfWeek <= r.End)) return false;
        if (Years.Count > 0 && !Years.Any(r => local.Year >= r.Begin && local.Year <= r.End)) return false;
        return true;
    }
}

/// <summary>A named time interval (<c>time_intervals[].name</c>): it contains a time when any of its entries does.</summary>
public sealed record TimeInterval(string Name, IReadOnlyList<TimeIntervalSpec> Specs)
{
    public bool ContainsTime(DateTimeOffset t) => Specs.Any(s => s.ContainsTime(t));
}
