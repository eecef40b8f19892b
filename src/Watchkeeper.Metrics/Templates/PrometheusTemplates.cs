using System.Collections;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Templates;

/// <summary>One sample of a <c>query</c> result as templates see it (<c>.Labels</c>, <c>.Value</c>).</summary>
public sealed record QuerySample(IReadOnlyDictionary<string, string> Labels, double Value) : ITemplateObject
{
    public string GoTypeName => "*template.sample";

    public bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Labels": value = Labels; return true;
            case "Value": value = Value; return true;
        }
        value = null;
        return false;
    }

    public override string ToString()
    {
        var sb = new System.Text.StringBuilder("{");
        GoFmt.AppendValue(sb, Labels);
        sb.Append(' ');
        GoFmt.AppendValue(sb, Value);
        return sb.Append('}').ToString();
    }
}

/// <summary>Runs an instant PromQL query for <c>query</c> in templates (Prometheus's QueryFunc).</summary>
public delegate IReadOnlyList<QuerySample> TemplateQueryFunc(string query, DateTimeOffset time, CancellationToken ct);

/// <summary>What Prometheus's template functions need from the caller for one expansion.</summary>
public sealed record PrometheusTemplateEnvironment(DateTimeOffset Time, string ExternalUrl, TemplateQueryFunc? Query = null)
{
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>The data of an alerting rule's label and annotation templates (<c>.Labels</c>, <c>.ExternalLabels</c>, <c>.ExternalURL</c>, <c>.Value</c>).</summary>
public sealed record AlertTemplateData(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> ExternalLabels,
    string ExternalURL,
    double Value) : ITemplateObject
{
    public string GoTypeName => "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

    public bool TryGetField(string name, out object? value)
    {
        value = name switch
        {
            "Labels" => Labels,
            "ExternalLabels" => ExternalLabels,
            "ExternalURL" => ExternalURL,
            "Value" => Value,
            _ => null,
        };
        return name is "Labels" or "ExternalLabels" or "ExternalURL" or "Value";
    }
}

/// <summary>
/// Prometheus's template functions and its alert-template expansion: the text gets the prelude
/// <c>{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}</c>,
/// the template is named <c>__alert_RULENAME</c>, missing keys are zero, and an error becomes
/// <c>&lt;error expanding template: ...&gt;</c> in the result, as Prometheus writes it into the annotation.
/// </summary>
public static class PrometheusTemplates
{
    /// <summary>The variable definitions Prometheus puts in front of every alert label and annotation template.</summary>
    public const string AlertPrelude =
        "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

    private static readonly ParamKind[] S = [ParamKind.String];
    private static readonly ParamKind[] A = [ParamKind.Any];

    /// <summary>Go's builtins plus Prometheus's functions.</summary>
    public static FunctionSet Functions { get; } = FunctionSet.Builtins.With(Create());

    private static PrometheusTemplateEnvironment Env(TemplateCallContext c) =>
        c.Environment as PrometheusTemplateEnvironment ?? new PrometheusTemplateEnvironment(DateTimeOffset.UnixEpoch, "");

    private static IReadOnlyList<QuerySample> AsResult(object? v) => v switch
    {
        IReadOnlyList<QuerySample> r => r,
        null => [],
        _ => throw new TemplateFunctionException($"wrong type for value; expected template.queryResult; got {GoFmt.TypeName(v)}"),
    };

    private static QuerySample AsSample(object? v) => v switch
    {
        QuerySample s => s,
        null => throw new TemplateFunctionException("runtime error: invalid memory address or nil pointer dereference"),
        _ => throw new TemplateFunctionException($"wrong type for value; expected *template.sample; got {GoFmt.TypeName(v)}"),
    };

    private static IEnumerable<TemplateFunction> Create()
    {
        yield return new("query", (c, a) =>
        {
            var env = Env(c);
            if (env.Query is null) throw new TemplateFunctionException("query is not available here");
            try
            {
                return env.Query((string)a[0]!, env.Time, env.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException and not TemplateFunctionException)
            {
                throw new TemplateFunctionException(e.Message);
            }
        }, S);
        yield return new("first", (_, a) =>
        {
            var r = AsResult(a[0]);
            return r.Count > 0 ? r[0] : throw new TemplateFunctionException("first() called on vector with no elements");
        }, A);
        yield return new("label", (_, a) => AsSample(a[1]).Labels.GetValueOrDefault((string)a[0]!, ""), [ParamKind.String, ParamKind.Any]);
        yield return new("value", (_, a) => AsSample(a[0]).Value, A);
        yield return new("strvalue", (_, a) => AsSample(a[0]).Labels.GetValueOrDefault("__value__", ""), A);
        yield return new("args", (_, a) =>
        {
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < a.Length; i++) d["arg" + i] = a[i];
            return (IReadOnlyDictionary<string, object?>)d;
        }, [], ParamKind.Any);
        yield return new("reReplaceAll", (_, a) => CommonFunctions.ReplaceAll((string)a[0]!, (string)a[1]!, (string)a[2]!), [ParamKind.String, ParamKind.String, ParamKind.String]);
        yield return new("safeHtml", (_, a) => new SafeHtml((string)a[0]!), S);
        yield return new("match", (_, a) => CommonFunctions.Match((string)a[0]!, (string)a[1]!), [ParamKind.String, ParamKind.String]);
        yield return new("title", (_, a) => CommonFunctions.TitleNoLower((string)a[0]!), S);
        yield return new("toUpper", (_, a) => ((string)a[0]!).ToUpperInvariant(), S);
        yield return new("toLower", (_, a) => ((string)a[0]!).ToLowerInvariant(), S);
        yield return new("graphLink", (_, a) => $"/graph?g0.expr={CommonFunctions.QueryEscape((string)a[0]!)}&g0.tab=0", S);
        yield return new("tableLink", (_, a) => $"/graph?g0.expr={CommonFunctions.QueryEscape((string)a[0]!)}&g0.tab=1", S);
        yield return new("sortByLabel", (_, a) =>
        {
            var label = (string)a[0]!;
            var copy = AsResult(a[1]).ToList();
            // List.Sort is not stable; OrderBy is, as Prometheus's sort.Stable.
            return (IReadOnlyList<QuerySample>)copy.OrderBy(s => s.Labels.GetValueOrDefault(label, ""), StringComparer.Ordinal).ToList();
        }, [ParamKind.String, ParamKind.Any]);
        yield return new("humanize", (_, a) => CommonFunctions.Humanize(CommonFunctions.ToFloat(a[0])), A);
        yield return new("humanize1024", (_, a) => CommonFunctions.Humanize1024(CommonFunctions.ToFloat(a[0])), A);
        yield return new("humanizeDuration", (_, a) => CommonFunctions.HumanizeDuration(CommonFunctions.ToFloat(a[0])), A);
        yield return new("humanizePercentage", (_, a) => CommonFunctions.HumanizePercentage(CommonFunctions.ToFloat(a[0])), A);
        yield return new("humanizeTimestamp", (_, a) => CommonFunctions.HumanizeTimestamp(CommonFunctions.ToFloat(a[0])), A);
        yield return new("toTime", (_, a) => CommonFunctions.FloatToTime(CommonFunctions.ToFloat(a[0])), A);
        yield return new("toDuration", (_, a) =>
        {
            var v = CommonFunctions.ToFloat(a[0]);
            if (double.IsNaN(v) || double.IsInfinity(v)) throw new TemplateFunctionException("value is NaN or Inf");
            return TimeSpan.FromTicks((long)Math.Round(v * 1e9) / 100);
        }, A);
        yield return new("now", (c, _) => Env(c).Time.ToUnixTimeMilliseconds() / 1000.0, []);
        yield return new("pathPrefix", (c, _) => UrlPath(Env(c).ExternalUrl), []);
        yield return new("externalURL", (c, _) => Env(c).ExternalUrl, []);
        yield return new("parseDuration", (_, a) =>
        {
            if (!PromDuration.TryParse((string)a[0]!, out var d, out var err)) throw new TemplateFunctionException(err);
            return d.Ticks / (double)TimeSpan.TicksPerSecond;
        }, S);
        yield return new("stripPort", (_, a) => CommonFunctions.StripPort((string)a[0]!), S);
        yield return new("stripDomain", (_, a) => CommonFunctions.StripDomain((string)a[0]!), S);
        yield return new("tmpl", (c, a) =>
        {
            try
            {
                return new SafeHtml(c.ExecuteTemplate((string)a[0]!, a[1]));
            }
            catch (TemplateException e)
            {
                throw new TemplateFunctionException(e.Message);
            }
        }, [ParamKind.String, ParamKind.Any]);
    }

    private static string UrlPath(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? (u.AbsolutePath == "/" && !url.TrimEnd().EndsWith('/') ? "" : u.AbsolutePath) : "";

    /// <summary>
    /// Expands <paramref name="text"/> as Prometheus's template expander does (text mode, missingkey=zero). Returns
    /// false with Prometheus's error text ("error parsing template NAME: ..." or "error executing template NAME: ...").
    /// </summary>
    public static bool TryExpand(string name, string text, object? data, PrometheusTemplateEnvironment env, out string result,
        out string? error, TemplateLimits? limits = null)
    {
        result = "";
        var set = TemplateCache.GetOrParse(Functions, TemplateOptions.Default, name, text, out var parseError);
        if (set is null)
        {
            error = $"error parsing template {name}: {parseError}";
            return false;
        }
        try
        {
            result = set.Execute(name, data, env, limits, env.CancellationToken);
            error = null;
            return true;
        }
        catch (TemplateException e)
        {
            error = $"error executing template {name}: {e.Message}";
            return false;
        }
    }

    /// <summary>
    /// Expands one label or annotation of alerting rule <paramref name="ruleName"/> as Prometheus does: on failure the
    /// result is <c>&lt;error expanding template: ...&gt;</c> (and <paramref name="error"/> is set), so the rule keeps running.
    /// </summary>
    public static string ExpandAlertField(string ruleName, string text, AlertTemplateData data, PrometheusTemplateEnvironment env,
        out string? error, TemplateLimits? limits = null)
    {
        if (!text.Contains("{{", StringComparison.Ordinal)) { error = null; return text; }
        if (TryExpand("__alert_" + ruleName, AlertPrelude + text, data, env, out var result, out error, limits)) return result;
        return $"<error expanding template: {error}>";
    }

    internal static bool IsSampleList(object? v) => v is IReadOnlyList<QuerySample> || v is IList { Count: 0 };
}
