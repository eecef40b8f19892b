using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// A duration in configuration and Watchkeeper's own API (<c>1h30m</c>, <c>5m</c>, <c>250ms</c>, <c>2d</c>, <c>1w</c>): the
/// YAML-facing wrapper of the one Prometheus duration grammar, <see cref="PromDuration"/>.
/// </summary>
public readonly record struct Duration(TimeSpan Value)
{
    public static bool TryParse(string? text, out Duration d)
    {
        var ok = PromDuration.TryParse(text, out var value);
        d = new Duration(value);
        return ok;
    }

    /// <summary>Why <paramref name="text"/> is not a duration, or null when it is one.</summary>
    public static string? Error(string? text) => PromDuration.TryParse(text, out _, out var error) ? null : error;

    public static Duration Parse(string text) =>
        PromDuration.TryParse(text, out var d, out var error)
            ? new Duration(d)
            : throw new FormatException($"invalid duration \"{text}\": {error} (use e.g. 30s, 5m, 1h30m, 2d)");

    public override string ToString() => Format(Value);

    public static string Format(TimeSpan t) => PromDuration.Format(t);

    public static implicit operator TimeSpan(Duration d) => d.Value;
}
