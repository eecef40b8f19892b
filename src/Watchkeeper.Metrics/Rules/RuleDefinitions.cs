using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>A parsed rule file: its groups in file order.</summary>
public sealed record RuleFileDef(string File, IReadOnlyList<RuleGroupDef> Groups);

/// <summary>
/// One rule group as written: <c>name</c>, optional <c>interval</c> (else the global evaluation interval), <c>limit</c>
/// (0 = none), optional <c>query_offset</c> (else the global rule query offset), group <c>labels</c> (added to every
/// rule, a rule's own label of the same name wins), and its rules in evaluation order.
/// </summary>
public sealed record RuleGroupDef(string Name, string File, TimeSpan? Interval, int Limit, TimeSpan? QueryOffset,
    IReadOnlyList<KeyValuePair<string, string>> Labels, IReadOnlyList<RuleDef> Rules, int Line);

/// <summary>
/// An alerting rule (<see cref="Alert"/> set) or a recording rule (<see cref="Record"/> set). Labels and annotations
/// are sorted by name; for an alerting rule they are templates.
/// </summary>
public sealed record RuleDef(string? Alert, string? Record, string Expr, Expr Parsed, TimeSpan For, TimeSpan KeepFiringFor,
    IReadOnlyList<KeyValuePair<string, string>> Labels, IReadOnlyList<KeyValuePair<string, string>> Annotations, int Line)
{
    public bool IsAlert => Alert is not null;
    public string Name => Alert ?? Record ?? "";
}

/// <summary>One problem in a rule file, formatted as promtool formats it.</summary>
public sealed record RuleFileError(string File, string Message)
{
    public override string ToString() => $"{File}: {Message}";
}

/// <summary>A rule file that does not load; <see cref="Errors"/> holds every problem found, as promtool lists them.</summary>
public sealed class RuleFileException : Exception
{
    public RuleFileException(IReadOnlyList<RuleFileError> errors) : base(string.Join("\n", errors)) => Errors = errors;
    public RuleFileException() : this([]) { }
    public RuleFileException(string message) : this([new RuleFileError("", message)]) { }
    public RuleFileException(string message, Exception inner) : base(message, inner) => Errors = [new RuleFileError("", message)];
    public IReadOnlyList<RuleFileError> Errors { get; } = [];
}

/// <summary>Limits on rule files, so a hostile or mistaken file cannot exhaust memory.</summary>
public sealed record RuleFileLimits
{
    public long MaxFileBytes { get; init; } = 8L << 20;
    public int MaxGroupsPerFile { get; init; } = 10_000;
    public int MaxRulesPerGroup { get; init; } = 10_000;
    public int MaxFiles { get; init; } = 1_000;
    public static RuleFileLimits Default { get; } = new();
}
