using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Server.Dashboards;

/// <summary>A variable with its options (as computed for this view) and the values selected.</summary>
public sealed record ResolvedVariable(Variable Def, IReadOnlyList<string> Options, IReadOnlyList<string> Selected, string? Error)
{
    public bool AllSelected => Selected.Count == 1 && Selected[0] == Variable.All;

    /// <summary>The values the selection stands for (all options for <c>$__all</c>).</summary>
    public IReadOnlyList<string> Values => AllSelected ? Options : Selected;
}

/// <summary>
/// Template variables as Grafana's Prometheus data source resolves them: options from <c>label_values([selector,] label)</c>,
/// <c>label_names()</c>, <c>metrics(regex)</c>, <c>query_result(expr)</c>, a custom list or interval list, filtered by the
/// variable's <c>regex</c>; selections from the URL (<c>var-NAME</c>, repeated for several values) or the saved current
/// value; and interpolation of <c>$name</c>, <c>${name}</c>, <c>${name:format}</c>, <c>[[name]]</c> and the built-ins
/// <c>$__interval</c>, <c>$__interval_ms</c>, <c>$__rate_interval</c>, <c>$__range</c>, <c>$__range_s</c>, <c>$__range_ms</c>.
/// A multi-value or include-all variable is written as a regex alternation <c>(a|b)</c> with regex metacharacters escaped.
/// </summary>
public static partial class Variables
{
    [GeneratedRegex(@"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]")]
    private static partial Regex Reference();

    [GeneratedRegex(@"^\s*label_values\s*\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelValuesQuery();

    [GeneratedRegex(@"^\s*label_names\s*\(\s*(.*?)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelNamesQuery();

    [GeneratedRegex(@"^\s*metrics\s*\(\s*(.*?)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex MetricsQuery();

    [GeneratedRegex(@"^\s*query_result\s*\(\s*(.+)\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex QueryResultQuery();

    public const int MaxOptions = 1000;

    /// <summary>Resolves the variables in order (a variable may use earlier ones in its query).</summary>
    public static List<ResolvedVariable> Resolve(Dashboard d, IReadOnlyDictionary<string, IReadOnlyList<string>> fromUrl, Engine engine, ISeriesQuerier querier,
        TimeRange range, long scrapeIntervalMs, CancellationToken ct)
    {
        var result = new List<ResolvedVariable>();
        foreach (var v in d.Variables)
        {
            IReadOnlyList<string> options;
            string? error = null;
            try
            {
                options = v.Type switch
                {
                    "custom" => SplitCustom(v.Query),
                    "interval" => [.. (v.Auto ? ["auto"] : Array.Empty<string>()), .. SplitCustom(v.Query)],
                    "constant" => [v.Query],
                    "textbox" => [],
                    "query" => QueryOptions(Interpolate(v.Query, result, range, 60_000, scrapeIntervalMs), engine, querier, range, ct),
                    _ => v.Options,
                };
                options = ApplyRegex(options, v.Regex);
            }
            catch (Exception e) when (e is ParseException or QueryException or ArgumentException or RegexMatchTimeoutException)
            {
                options = v.Options;
                error = e.Message;
            }
            if (options.Count > MaxOptions) options = options.Take(MaxOptions).ToList();

            IReadOnlyList<string> selected;
            if (fromUrl.TryGetValue(v.Name, out var wanted) && wanted.Count > 0)
                selected = v.Multi ? wanted : [wanted[0]];
            else if (v.Type is "textbox" or "constant")
                selected = v.Current.Count > 0 ? v.Current : [v.Query];
            else
                selected = v.Current.Where(c => c == Variable.All ? v.IncludeAll : options.Contains(c)).ToList();
            if (v.Type is not ("textbox" or "constant" or "datasource"))
            {
                selected = selected.Where(s => (s == Variable.All && v.IncludeAll) || options.Contains(s) || v.Type == "interval").ToList();
                if (selected.Count == 0) selected = v.IncludeAll ? [Variable.All] : options.Count > 0 ? [options[0]] : [];
                if (selected.Contains(Variable.All)) selected = [Variable.All];
            }
            result.Add(new ResolvedVariable(v, options, selected, error));
        }
        return result;
    }

    private static List<string> QueryOptions(string query, Engine engine, ISeriesQuerier querier, TimeRange range, CancellationToken ct)
    {
        if (LabelValuesQuery().Match(query) is { Success: true } lv)
        {
            var matchers = lv.Groups[1].Success ? Parser.ParseSelector(lv.Groups[1].Value).Matchers : [];
            return [.. querier.LabelValues(lv.Groups[2].Value, range.FromMs, range.ToMs, matchers)];
        }
        if (LabelNamesQuery().Match(query) is { Success: true } ln)
        {
            var matchers = ln.Groups[1].Value.Length > 0 ? Parser.ParseSelector(ln.Groups[1].Value).Matchers : [];
            return querier.LabelNames(range.FromMs, range.ToMs, matchers).Where(n => n != "__name__").ToList();
        }
        if (MetricsQuery().Match(query) is { Success: true } m)
        {
            var names = querier.LabelValues("__name__", range.FromMs, range.ToMs, []);
            if (m.Groups[1].Value.Length == 0) return [.. names];
            var re = new Regex(m.Groups[1].Value, RegexOptions.None, TimeSpan.FromSeconds(1));
            return names.Where(n => re.IsMatch(n)).ToList();
        }
        if (QueryResultQuery().Match(query) is { Success: true } q)
        {
            var r = engine.Instant(querier, q.Groups[1].Value, range.ToMs, ct);
            return r.Value switch
            {
                VectorResult v => v.Samples.Select(s => s.Labels.ToString() + " " + s.V.ToString(CultureInfo.InvariantCulture) + " " + s.T.ToString(CultureInfo.InvariantCulture)).ToList(),
                ScalarResult s => [s.V.ToString(CultureInfo.InvariantCulture)],
                _ => [],
            };
        }
        if (query.Trim().Length == 0) return [];
        // Any other text is a PromQL expression whose series' labels are the options (as Grafana treats a bare expression: query_result).
        return QueryOptions($"query_result({query})", engine, querier, range, ct);
    }

    /// <summary>A custom variable's list: comma-separated values (<c>\,</c> is a comma), each <c>value</c> or <c>text : value</c>.</summary>
    public static List<string> SplitCustom(string query)
    {
        var list = new List<string>();
        var sb = new StringBuilder();
        for (var i = 0; i <= query.Length; i++)
        {
            if (i < query.Length && query[i] == '\\' && i + 1 < query.Length && query[i + 1] == ',') { sb.Append(','); i++; continue; }
            if (i == query.Length || query[i] == ',')
            {
                var item = sb.ToString().Trim();
                var kv = item.IndexOf(" : ", StringComparison.Ordinal);
                if (kv >= 0) item = item[(kv + 3)..].Trim();
                if (item.Length > 0 && !list.Contains(item)) list.Add(item);
                sb.Clear();
                continue;
            }
            sb.Append(query[i]);
        }
        return list;
    }

    /// <summary>The variable's <c>regex</c> (<c>/pattern/flags</c>): options that match, reduced to the first capture group (or the named group <c>value</c>) if any.</summary>
    public static IReadOnlyList<string> ApplyRegex(IReadOnlyList<string> options, string regex)
    {
        if (string.IsNullOrEmpty(regex)) return options;
        var pattern = regex;
        var flags = RegexOptions.None;
        if (pattern.Length >= 2 && pattern[0] == '/' && pattern.LastIndexOf('/') > 0)
        {
            var end = pattern.LastIndexOf('/');
            if (pattern[(end + 1)..].Contains('i', StringComparison.Ordinal)) flags |= RegexOptions.IgnoreCase;
            pattern = pattern[1..end];
        }
        var re = new Regex(pattern, flags, TimeSpan.FromSeconds(1));
        var list = new List<string>();
        foreach (var o in options)
        {
            var m = re.Match(o);
            if (!m.Success) continue;
            var v = m.Groups["value"].Success ? m.Groups["value"].Value : m.Groups.Count > 1 && m.Groups[1].Success ? m.Groups[1].Value : o;
            if (!list.Contains(v)) list.Add(v);
        }
        return list;
    }

    /// <summary>The interval for a panel: range / max data points, rounded as Grafana does, at least the minimum (target, panel, or the scrape interval).</summary>
    public static long IntervalMs(TimeRange range, int maxDataPoints, string minInterval, long scrapeIntervalMs)
    {
        var min = scrapeIntervalMs;
        if (minInterval.Length > 0 && PromDuration.TryParse(minInterval.TrimStart('>'), out var m) && m > TimeSpan.Zero) min = (long)m.TotalMilliseconds;
        var raw = TimeRange.RoundInterval(Math.Max(range.RangeMs / Math.Max(maxDataPoints, 1), 1));
        return Math.Max(raw, min);
    }

    /// <summary>Replaces variable references in <paramref name="text"/>; unknown names stay as written.</summary>
    public static string Interpolate(string text, IReadOnlyList<ResolvedVariable> vars, TimeRange range, long intervalMs, long scrapeIntervalMs)
    {
        if (!text.Contains('$', StringComparison.Ordinal) && !text.Contains("[[", StringComparison.Ordinal)) return text;
        return Reference().Replace(text, m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[4].Value;
            var format = m.Groups[3].Success ? m.Groups[3].Value : m.Groups[5].Success ? m.Groups[5].Value : null;
            var builtin = BuiltIn(name, range, intervalMs, scrapeIntervalMs);
            if (builtin is not null) return builtin;
            var v = vars.FirstOrDefault(x => x.Def.Name == name);
            if (v is null) return m.Value;
            if (v.Def.Type == "interval")
            {
                var sel = v.Selected.Count > 0 ? v.Selected[0] : "";
                return sel == "auto" ? PromDuration.Format(TimeSpan.FromMilliseconds(intervalMs)) : sel;
            }
            if (v.AllSelected && v.Def.AllValue is { } all && format is null) return all;
            return FormatValues(v.Values, format, v.Def.Multi || v.Def.IncludeAll);
        });
    }

    private static string? BuiltIn(string name, TimeRange range, long intervalMs, long scrapeIntervalMs) => name switch
    {
        "__interval" => PromDuration.Format(TimeSpan.FromMilliseconds(intervalMs)),
        "__interval_ms" => intervalMs.ToString(CultureInfo.InvariantCulture),
        "__rate_interval" => PromDuration.Format(TimeSpan.FromMilliseconds(Math.Max(intervalMs + scrapeIntervalMs, 4 * scrapeIntervalMs))),
        "__range" => (range.RangeMs / 1000).ToString(CultureInfo.InvariantCulture) + "s",
        "__range_s" => (range.RangeMs / 1000).ToString(CultureInfo.InvariantCulture),
        "__range_ms" => range.RangeMs.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>Values in a variable format (<c>regex</c> is the default for multi-value variables in PromQL).</summary>
    public static string FormatValues(IReadOnlyList<string> values, string? format, bool multi)
    {
        switch (format)
        {
            case "pipe": return string.Join('|', values);
            case "csv" or "raw" or "text": return string.Join(',', values);
            case "glob": return values.Count == 1 ? values[0] : "{" + string.Join(',', values) + "}";
            case "doublequote": return string.Join(',', values.Select(v => "\"" + v.Replace("\"", "\\\"", StringComparison.Ordinal) + "\""));
            case "singlequote": return string.Join(',', values.Select(v => "'" + v.Replace("'", "\\'", StringComparison.Ordinal) + "'"));
            case "regex":
                multi = true;
                break;
        }
        if (!multi) return values.Count == 0 ? "" : values[0].Replace("\\", "\\\\", StringComparison.Ordinal);
        var escaped = values.Select(RegexEscape).ToList();
        return escaped.Count == 1 ? escaped[0] : "(" + string.Join('|', escaped) + ")";
    }

    /// <summary>A value as a regex inside a PromQL string: metacharacters get a backslash, written as <c>\\</c> in the string.</summary>
    public static string RegexEscape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (c is '\\' or '$' or '^' or '*' or '+' or '?' or '.' or '(' or ')' or '|' or '{' or '}' or '[' or ']') sb.Append("\\\\");
            sb.Append(c);
        }
        return sb.ToString();
    }
}
