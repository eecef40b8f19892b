using Watchkeeper.Metrics.Templates;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// The status update template (incidents.status_update_template) on the one template engine: Go text/template syntax,
/// where each placeholder is both a field (<c>{{ .title }}</c>) and a function (<c>{{title}}</c>, as the shipped
/// template writes them), so <c>if</c>, <c>range</c>, <c>printf</c> and the rest work too. An unknown placeholder is a
/// parse error, reported when the configuration is loaded.
/// </summary>
public static class StatusUpdateTemplate
{
    public const string Name = "status-update";

    public static readonly string[] Placeholders =
    [
        "title", "id", "severity", "status", "last_updated", "summary", "users_affected", "services_affected",
        "business_impact", "current_status", "next_update", "contact", "commander",
    ];

    public static FunctionSet Functions { get; } = FunctionSet.Builtins.With(Placeholders.Select(p => new TemplateFunction(p,
        (c, _) => c.Environment is IReadOnlyDictionary<string, string> v ? v.GetValueOrDefault(p, "") : "", [])));

    /// <summary>The parse error (Go's text), or null when the template parses.</summary>
    public static string? Check(string text)
    {
        TemplateCache.GetOrParse(Functions, TemplateOptions.Default, Name, text, out var error);
        return error;
    }

    /// <summary>Renders the template with the placeholder values; an execution error is rendered in place of the body.</summary>
    public static string Render(string text, IReadOnlyDictionary<string, string> values)
    {
        var set = TemplateCache.GetOrParse(Functions, TemplateOptions.Default, Name, text, out var error);
        if (set is null) return $"<error expanding template: {error}>";
        try
        {
            return set.Execute(Name, values, values);
        }
        catch (TemplateException e)
        {
            return $"<error expanding template: {e.Message}>";
        }
    }
}
