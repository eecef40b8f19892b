using System.Text.Json;

namespace Watchkeeper.Metrics.Templates;

/// <summary>What Alertmanager's template functions need from the caller: the clock for <c>since</c>.</summary>
public sealed record AlertmanagerTemplateEnvironment(TimeProvider Time);

/// <summary>
/// Alertmanager's notification template functions (<c>toUpper</c>, <c>title</c>, <c>join</c>, <c>date</c>, <c>tz</c>,
/// <c>since</c>, ...). The data side (<c>.Alerts.Firing</c>, <c>.CommonLabels.SortedPairs</c>) is the Alerting
/// library's adapter over its TemplateData.
/// </summary>
public static class AlertmanagerFunctions
{
    private static readonly ParamKind[] S = [ParamKind.String];

    /// <summary>Go's builtins plus Alertmanager's functions.</summary>
    public static FunctionSet Functions { get; } = FunctionSet.Builtins.With(Create());

    private static DateTimeOffset AsTime(object? v) => v switch
    {
        DateTimeOffset t => t,
        ZonedTime z => z.Time,
        null => throw new TemplateFunctionException("invalid value; expected time.Time"),
        _ => throw new TemplateFunctionException($"wrong type for value; expected time.Time; got {GoFmt.TypeName(v)}"),
    };

    private static IEnumerable<TemplateFunction> Create()
    {
        yield return new("toUpper", (_, a) => ((string)a[0]!).ToUpperInvariant(), S);
        yield return new("toLower", (_, a) => ((string)a[0]!).ToLowerInvariant(), S);
        yield return new("title", (_, a) => CommonFunctions.Title((string)a[0]!, lowerRest: true), S);
        yield return new("trimSpace", (_, a) => ((string)a[0]!).Trim(), S);
        yield return new("join", (_, a) => string.Join((string)a[0]!, (IReadOnlyList<string>?)a[1] ?? []), [ParamKind.String, ParamKind.StringSlice]);
        yield return new("match", (_, a) => CommonFunctions.Match((string)a[0]!, (string)a[1]!), [ParamKind.String, ParamKind.String]);
        yield return new("safeHtml", (_, a) => new SafeHtml((string)a[0]!), S);
        yield return new("safeUrl", (_, a) => (string)a[0]!, S);
        yield return new("urlUnescape", (_, a) =>
        {
            try
            {
                return Uri.UnescapeDataString(((string)a[0]!).Replace('+', ' '));
            }
            catch (UriFormatException e)
            {
                throw new TemplateFunctionException(e.Message);
            }
        }, S);
        yield return new("reReplaceAll", (_, a) => CommonFunctions.ReplaceAll((string)a[0]!, (string)a[1]!, (string)a[2]!), [ParamKind.String, ParamKind.String, ParamKind.String]);
        yield return new("stringSlice", (_, a) =>
        {
            var list = new List<string>(a.Length);
            foreach (var x in a) list.Add((string)x!);
            return (IReadOnlyList<string>)list;
        }, [], ParamKind.String);
        yield return new("date", (_, a) => a[1] is ZonedTime z ? GoTime.Format(z.Time, (string)a[0]!, z.ZoneName) : GoTime.Format(AsTime(a[1]), (string)a[0]!), [ParamKind.String, ParamKind.Any]);
        yield return new("tz", (_, a) =>
        {
            var name = (string)a[0]!;
            var t = AsTime(a[1]);
            if (name is "" or "UTC") return new ZonedTime(t.ToUniversalTime(), "UTC");
            try
            {
                var zone = TimeZoneInfo.FindSystemTimeZoneById(name);
                return new ZonedTime(TimeZoneInfo.ConvertTime(t, zone), "");
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new TemplateFunctionException($"unknown time zone {name}");
            }
        }, [ParamKind.String, ParamKind.Any]);
        yield return new("since", (c, a) =>
        {
            var now = (c.Environment as AlertmanagerTemplateEnvironment)?.Time.GetUtcNow() ?? TimeProvider.System.GetUtcNow();
            return now - AsTime(a[0]);
        }, [ParamKind.Any]);
        yield return new("humanizeDuration", (_, a) => CommonFunctions.HumanizeDuration(CommonFunctions.ToFloat(a[0])), [ParamKind.Any]);
        yield return new("toJson", (_, a) => JsonSerializer.Serialize(ToJsonValue(a[0])), [ParamKind.Any]);
    }

    private static object? ToJsonValue(object? v) => v switch
    {
        null or string or bool or long or int or double => v,
        SafeHtml h => h.Value,
        DateTimeOffset t => t,
        ZonedTime z => z.Time,
        TimeSpan ts => ts.Ticks * 100,
        IReadOnlyDictionary<string, string> m => new SortedDictionary<string, string>(m.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
        IReadOnlyDictionary<string, object?> om => om.ToDictionary(kv => kv.Key, kv => ToJsonValue(kv.Value)),
        System.Collections.IList l => l.Cast<object?>().Select(ToJsonValue).ToList(),
        _ => v.ToString(),
    };
}
