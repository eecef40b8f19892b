using System.Collections.Concurrent;
using System.Text;

namespace Watchkeeper.Metrics.Templates;

/// <summary>What a missing map key yields (Go's <c>missingkey</c> option).</summary>
public enum MissingKeyMode
{
    /// <summary>Go's default: the invalid value, printed "&lt;no value&gt;".</summary>
    Default,
    /// <summary><c>missingkey=zero</c>, as Prometheus and Alertmanager set it: the element type's zero value.</summary>
    Zero,
    /// <summary><c>missingkey=error</c>: execution stops with an error.</summary>
    Error,
}

/// <summary>Options fixed at parse time.</summary>
public sealed record TemplateOptions(MissingKeyMode MissingKey = MissingKeyMode.Zero, string? LeftDelim = null, string? RightDelim = null)
{
    public static TemplateOptions Default { get; } = new();
}

/// <summary>Bounds on one execution, so a hostile template can neither hang nor exhaust memory.</summary>
public sealed record TemplateLimits(int MaxOutputChars = 1 << 20, long MaxSteps = 1_000_000, int MaxDepth = 100)
{
    public static TemplateLimits Default { get; } = new();
}

/// <summary>
/// A set of named templates parsed once and executed many times (Go's <c>*template.Template</c> with its associated
/// templates). <see cref="Parse"/> adds a top-level template and every <c>define</c>/<c>block</c> in it; a later parse
/// may redefine a name. Execution is thread-safe; parsing is not, so finish parsing before sharing a set.
/// </summary>
public sealed class TemplateSet(FunctionSet functions, TemplateOptions? options = null)
{
    private readonly Dictionary<string, TemplateDefinition> _defs = new(StringComparer.Ordinal);

    public FunctionSet Functions { get; } = functions;
    public TemplateOptions Options { get; } = options ?? TemplateOptions.Default;

    /// <summary>The names of the templates defined so far.</summary>
    public IReadOnlyCollection<string> Names => _defs.Keys;

    /// <summary>Parses <paramref name="text"/> as template <paramref name="name"/>; throws <see cref="TemplateException"/> with Go's text.</summary>
    public TemplateSet Parse(string name, string text)
    {
        // Parse into a copy so that a failed parse leaves the set as it was.
        var copy = new Dictionary<string, TemplateDefinition>(_defs, StringComparer.Ordinal);
        Parser.Parse(name, text, Functions, copy, Options.LeftDelim, Options.RightDelim);
        _defs.Clear();
        foreach (var kv in copy) _defs[kv.Key] = kv.Value;
        return this;
    }

    public bool Contains(string name) => _defs.ContainsKey(name);

    internal TemplateDefinition? Lookup(string name) => _defs.GetValueOrDefault(name);

    /// <summary>A copy sharing the parsed trees, to which more templates may be added.</summary>
    public TemplateSet Clone()
    {
        var c = new TemplateSet(Functions, Options);
        foreach (var kv in _defs) c._defs[kv.Key] = kv.Value;
        return c;
    }

    /// <summary>Executes template <paramref name="name"/> over <paramref name="data"/>; throws <see cref="TemplateException"/> with Go's text.</summary>
    public string Execute(string name, object? data, object? environment = null, TemplateLimits? limits = null, CancellationToken ct = default)
    {
        var sb = new StringBuilder();
        ExecuteTo(sb, name, data, environment, limits, ct);
        return sb.ToString();
    }

    /// <summary>Executes into <paramref name="output"/>; on error the output holds what was written before it.</summary>
    public void ExecuteTo(StringBuilder output, string name, object? data, object? environment = null, TemplateLimits? limits = null, CancellationToken ct = default)
    {
        var def = Lookup(name);
        if (def is null)
        {
            throw new TemplateException(_defs.Count == 0
                ? $"template: {name}: \"{name}\" is an incomplete or empty template"
                : $"template: no template {Go.Quote(name)} associated with template {Go.Quote(name)}");
        }
        var exec = new Executor(this, def, output, limits ?? TemplateLimits.Default, environment, ct);
        exec.Run(data);
    }

    /// <summary>Whether template <paramref name="name"/> is defined and not empty (Go's IsEmptyTree).</summary>
    public bool IsEmpty(string name) => Lookup(name)?.IsEmpty ?? true;
}

/// <summary>
/// Parsed single templates cached by (function set, options, name, text): rules and notifications execute the same
/// text on every evaluation, so each distinct text is parsed once. A parse error is cached too. Bounded: when it
/// holds <see cref="MaxEntries"/> entries it starts again empty.
/// </summary>
public static class TemplateCache
{
    public const int MaxEntries = 10_000;
    private static readonly ConcurrentDictionary<(FunctionSet, TemplateOptions, string, string), (TemplateSet? Set, string? Error)> Cache = new();

    /// <summary>The parsed template, or the parse error text (Go's) in <paramref name="error"/>.</summary>
    public static TemplateSet? GetOrParse(FunctionSet functions, TemplateOptions options, string name, string text, out string? error)
    {
        var key = (functions, options, name, text);
        if (!Cache.TryGetValue(key, out var entry))
        {
            try
            {
                entry = (new TemplateSet(functions, options).Parse(name, text), null);
            }
            catch (TemplateException e)
            {
                entry = (null, e.Message);
            }
            if (Cache.Count >= MaxEntries) Cache.Clear();
            Cache[key] = entry;
        }
        error = entry.Error;
        return entry.Set;
    }

    internal static int Count => Cache.Count;
}
