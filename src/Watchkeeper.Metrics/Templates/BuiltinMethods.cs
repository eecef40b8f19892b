namespace Watchkeeper.Metrics.Templates;

/// <summary>Methods of Go's time.Time and time.Duration that templates call (<c>.StartsAt.Format "15:04"</c>).</summary>
internal static class BuiltinMethods
{
    private static readonly Dictionary<string, Func<DateTimeOffset, string?, TemplateFunction>> TimeMethods = new(StringComparer.Ordinal)
    {
        ["Format"] = (t, z) => new("Format", (_, a) => GoTime.Format(t, (string)a[0]!, z), [ParamKind.String]),
        ["String"] = (t, z) => new("String", (_, _) => GoTime.ToGoString(t, z), []),
        ["Unix"] = (t, _) => new("Unix", (_, _) => t.ToUnixTimeSeconds(), []),
        ["UnixMilli"] = (t, _) => new("UnixMilli", (_, _) => t.ToUnixTimeMilliseconds(), []),
        ["UnixNano"] = (t, _) => new("UnixNano", (_, _) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100, []),
        ["UTC"] = (t, _) => new("UTC", (_, _) => t.ToUniversalTime(), []),
        ["Local"] = (t, _) => new("Local", (_, _) => t.ToUniversalTime(), []),
        ["IsZero"] = (t, _) => new("IsZero", (_, _) => t.UtcDateTime == DateTime.MinValue, []),
        ["Year"] = (t, _) => new("Year", (_, _) => (long)t.Year, []),
        ["YearDay"] = (t, _) => new("YearDay", (_, _) => (long)t.DayOfYear, []),
        ["Day"] = (t, _) => new("Day", (_, _) => (long)t.Day, []),
        ["Hour"] = (t, _) => new("Hour", (_, _) => (long)t.Hour, []),
        ["Minute"] = (t, _) => new("Minute", (_, _) => (long)t.Minute, []),
        ["Second"] = (t, _) => new("Second", (_, _) => (long)t.Second, []),
        ["Nanosecond"] = (t, _) => new("Nanosecond", (_, _) => t.Ticks % TimeSpan.TicksPerSecond * 100, []),
        ["Weekday"] = (t, _) => new("Weekday", (_, _) => t.DayOfWeek.ToString(), []),
        ["Month"] = (t, _) => new("Month", (_, _) => GoTime.Format(t, "January"), []),
        ["Before"] = (t, _) => new("Before", (_, a) => t < AsTime(a[0]), [ParamKind.Any]),
        ["After"] = (t, _) => new("After", (_, a) => t > AsTime(a[0]), [ParamKind.Any]),
        ["Equal"] = (t, _) => new("Equal", (_, a) => t == AsTime(a[0]), [ParamKind.Any]),
        ["Sub"] = (t, _) => new("Sub", (_, a) => t - AsTime(a[0]), [ParamKind.Any]),
        ["Add"] = (t, z) => new("Add", (_, a) => a[0] is TimeSpan d ? Wrap(t + d, z) : throw new TemplateFunctionException($"wrong type for value; expected time.Duration; got {GoFmt.TypeName(a[0])}"), [ParamKind.Any]),
    };

    private static object Wrap(DateTimeOffset t, string? zone) => zone is null ? t : new ZonedTime(t, zone);

    private static DateTimeOffset AsTime(object? v) => v switch
    {
        DateTimeOffset t => t,
        ZonedTime z => z.Time,
        _ => throw new TemplateFunctionException($"wrong type for value; expected time.Time; got {GoFmt.TypeName(v)}"),
    };

    public static TemplateFunction? Get(object receiver, string name)
    {
        switch (receiver)
        {
            case DateTimeOffset t:
                return TimeMethods.TryGetValue(name, out var m) ? m(t, null) : null;
            case ZonedTime z:
                return TimeMethods.TryGetValue(name, out var zm) ? zm(z.Time, z.ZoneName) : null;
            case TimeSpan d:
                return name switch
                {
                    "Seconds" => new("Seconds", (_, _) => d.Ticks / (double)TimeSpan.TicksPerSecond, []),
                    "Minutes" => new("Minutes", (_, _) => d.Ticks / (double)TimeSpan.TicksPerMinute, []),
                    "Hours" => new("Hours", (_, _) => d.Ticks / (double)TimeSpan.TicksPerHour, []),
                    "Milliseconds" => new("Milliseconds", (_, _) => d.Ticks / TimeSpan.TicksPerMillisecond, []),
                    "Nanoseconds" => new("Nanoseconds", (_, _) => d.Ticks * 100, []),
                    "String" => new("String", (_, _) => GoTime.DurationString(d), []),
                    _ => null,
                };
        }
        return null;
    }
}
