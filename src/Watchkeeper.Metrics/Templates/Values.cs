namespace Watchkeeper.Metrics.Templates;

// The data model templates see. Callers pass plain .NET values and the engine treats them as Go would treat the
// corresponding Go values:
//   null                                   nil
//   string, SafeHtml                       string, template.HTML
//   bool                                   bool
//   long, int                              int
//   double, float                          float64
//   DateTimeOffset                         time.Time (methods Format, Unix, UnixMilli, UTC, IsZero, ...)
//   TimeSpan                               time.Duration (methods Seconds, Minutes, Hours, Milliseconds, String)
//   IReadOnlyDictionary<string, string>    map[string]string (a missing key is "" under missingkey=zero)
//   IReadOnlyDictionary<string, object?>,
//   IDictionary                            map[string]interface{} (a missing key is nil, printed "<no value>")
//   IList (arrays, List<T>)                a slice
//   ITemplateObject                        a struct: named fields and methods
//   TemplateFunction                       a func value (for `call`)

/// <summary>A record exposed to templates with Go field and method names (<c>.Labels</c>, <c>.Alerts.Firing</c>).</summary>
public interface ITemplateObject
{
    /// <summary>The Go type name shown in error messages (<c>template.Data</c>, <c>*template.sample</c>).</summary>
    string GoTypeName { get; }

    /// <summary>Looks up a field; false when the record has no such field.</summary>
    bool TryGetField(string name, out object? value);

    /// <summary>Looks up a method (called with the command's arguments); null when there is none.</summary>
    TemplateFunction? GetMethod(string name) => null;
}

/// <summary>Go's <c>html/template.HTML</c> as Prometheus's <c>safeHtml</c> returns it: printed as is.</summary>
public readonly record struct SafeHtml(string Value)
{
    public override string ToString() => Value;
}

/// <summary>Go's <c>time.Time</c> in a named zone (what Alertmanager's <c>tz</c> returns); prints the zone's abbreviation.</summary>
public readonly record struct ZonedTime(DateTimeOffset Time, string ZoneName);

/// <summary>The kind of an argument a function takes; the engine converts and checks it as Go's reflection would.</summary>
public enum ParamKind
{
    /// <summary>interface{}: any value.</summary>
    Any,
    /// <summary>string.</summary>
    String,
    /// <summary>float64.</summary>
    Float,
    /// <summary>int.</summary>
    Int,
    /// <summary>bool.</summary>
    Bool,
    /// <summary>[]string.</summary>
    StringSlice,
}

/// <summary>The body of a template function: the arguments, already converted to the declared kinds.</summary>
public delegate object? TemplateFunc(TemplateCallContext context, ReadOnlySpan<object?> args);

/// <summary>A function callable from templates, with Go's argument count and type checks.</summary>
public sealed class TemplateFunction(string name, TemplateFunc body, ParamKind[] parameters, ParamKind? variadic = null)
{
    public string Name { get; } = name;
    public TemplateFunc Body { get; } = body;
    public ParamKind[] Parameters { get; } = parameters;
    /// <summary>The kind of the trailing variadic arguments, or null when the function is not variadic.</summary>
    public ParamKind? Variadic { get; } = variadic;
    internal bool IsAndOr { get; init; }

    public static TemplateFunction Of(string name, Func<string, object?> f) =>
        new(name, (_, a) => f((string)a[0]!), [ParamKind.String]);

    public static TemplateFunction Of(string name, ParamKind[] parameters, Func<object?[], object?> f) =>
        new(name, (_, a) => f(a.ToArray()), parameters);
}

/// <summary>What a function sees of the running execution: the caller's environment and other templates.</summary>
public sealed class TemplateCallContext
{
    internal TemplateCallContext(object? environment, Func<string, object?, string> executeTemplate)
    {
        Environment = environment;
        ExecuteTemplate = executeTemplate;
    }

    /// <summary>The per-execution environment the caller passed (for example the Prometheus query callback).</summary>
    public object? Environment { get; }

    /// <summary>Executes another template of the set with the given data and returns its output.</summary>
    public Func<string, object?, string> ExecuteTemplate { get; }
}

/// <summary>A function's failure; the engine reports it as Go does: <c>error calling NAME: MESSAGE</c>.</summary>
public sealed class TemplateFunctionException(string message) : Exception(message);

/// <summary>A parse or execution error, with Go's text (<c>template: NAME:LINE:COL: executing ...</c>).</summary>
public sealed class TemplateException(string message) : Exception(message);
