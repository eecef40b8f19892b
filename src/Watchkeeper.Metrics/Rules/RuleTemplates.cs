using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// What an alerting rule's label and annotation templates see, as Prometheus gives it: <c>.Labels</c> (the result
/// series' labels), <c>.ExternalLabels</c>, <c>.ExternalURL</c>, <c>.Value</c>; the <c>query</c> function runs
/// <see cref="Query"/> at the evaluation time.
/// </summary>
public sealed record RuleTemplateData(
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IReadOnlyList<KeyValuePair<string, string>> ExternalLabels,
    string ExternalUrl,
    double Value,
    long TimeMs,
    Func<string, CancellationToken, IReadOnlyList<VectorSample>>? Query);

/// <summary>
/// The Go <c>text/template</c> engine as rules use it. <see cref="Check"/> parses only (promtool's template check);
/// <see cref="Expand"/> runs a template and throws <see cref="RuleTemplateException"/> with Go's message on error.
/// The text given already starts with Prometheus's convenience definitions (<c>$labels</c>, <c>$value</c>, ...).
/// </summary>
public interface IRuleTemplateEngine
{
    /// <summary>The parse error, as Go prints it (<c>template: NAME:LINE: ...</c>), or null when the text parses.</summary>
    string? Check(string name, string text);

    string Expand(string name, string text, RuleTemplateData data, CancellationToken cancellationToken);
}

public sealed class RuleTemplateException : Exception
{
    public RuleTemplateException() { }
    public RuleTemplateException(string message) : base(message) { }
    public RuleTemplateException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Prometheus's template plumbing around an <see cref="IRuleTemplateEngine"/>: the definitions and the error text.</summary>
public static class RuleTemplating
{
    /// <summary>The definitions Prometheus puts before every rule template.</summary>
    public const string Definitions = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

    public static string TemplateName(string alert) => "__alert_" + alert;

    /// <summary>Expands one label or annotation; an error becomes the text, as Prometheus does, and the rule keeps running.</summary>
    public static string Expand(IRuleTemplateEngine engine, string alert, string text, RuleTemplateData data, CancellationToken ct)
    {
        if (!text.Contains("{{", StringComparison.Ordinal)) return text;
        try
        {
            return engine.Expand(TemplateName(alert), Definitions + text, data, ct);
        }
        catch (RuleTemplateException ex)
        {
            return $"<error expanding template: {ex.Message}>";
        }
    }

    public static string? Check(IRuleTemplateEngine engine, string alert, string text) =>
        text.Contains("{{", StringComparison.Ordinal) ? engine.Check(TemplateName(alert), Definitions + text) : null;
}

/// <summary>The template engine rules use: the Go text/template engine with Prometheus's functions.</summary>
public static class RuleTemplateEngines
{
    public static IRuleTemplateEngine Default => Templates.PrometheusRuleTemplateEngine.Instance;
}
