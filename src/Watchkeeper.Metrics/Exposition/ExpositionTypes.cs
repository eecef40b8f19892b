using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Exposition;

/// <summary>The two exposition formats a target can answer with.</summary>
public enum ExpositionFormat { PrometheusText, OpenMetrics }

public enum MetricType { Unknown, Counter, Gauge, Histogram, GaugeHistogram, Summary, Info, StateSet }

/// <summary>TYPE/HELP/UNIT of one metric family, as a metadata API serves it.</summary>
public sealed record MetricMetadata(string Family, MetricType Type, string Help, string Unit)
{
    /// <summary>The lower-case name Prometheus' metadata API uses for a type.</summary>
    public static string TypeName(MetricType t) => t switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        MetricType.Histogram => "histogram",
        MetricType.GaugeHistogram => "gaugehistogram",
        MetricType.Summary => "summary",
        MetricType.Info => "info",
        MetricType.StateSet => "stateset",
        _ => "unknown",
    };
}

/// <summary>One parsed sample. The timestamp is milliseconds since the epoch when the body carried one.</summary>
public readonly record struct ParsedSample(Labels Labels, double Value, long? TimestampMs)
{
    /// <summary>The parser's cache entry for the sample's series text, when it has one (see <see cref="SeriesSlot"/>).</summary>
    public SeriesSlot? Series { get; init; }
}

/// <summary>
/// A parser's cache entry for one series text (metric name and label set, byte for byte): the same object for the
/// same bytes in every parse by that <see cref="ExpositionParser"/> while the entry stays cached, so the parser's
/// owner can keep its own per-series state here instead of looking the labels up again.
/// </summary>
public sealed class SeriesSlot
{
    internal SeriesSlot(string name, Labels labels)
    {
        Name = name;
        Labels = labels;
    }

    internal string Name { get; }
    public Labels Labels { get; }
    internal int Generation { get; set; }
    internal ExpositionParser.FamilyInfo? Family { get; set; }
    internal int FamilyEpoch { get; set; }

    /// <summary>Free for the parser's owner (a scrape loop keeps its per-series state here); the parser never reads it.</summary>
    public object? State { get; set; }
}

/// <summary>A malformed exposition body. Line and column are 1-based; the column counts bytes.</summary>
public sealed class ExpositionParseException : FormatException
{
    public ExpositionParseException() { }
    public ExpositionParseException(string message) : base(message) { }
    public ExpositionParseException(string message, Exception inner) : base(message, inner) { }

    public ExpositionParseException(int line, int column, string reason)
        : base($"line {line}, column {column}: {reason}")
    {
        Line = line;
        Column = column;
        Reason = reason;
    }

    public int Line { get; }
    public int Column { get; }
    public string Reason { get; } = "";
}

/// <summary>Content negotiation between the two formats.</summary>
public static class ExpositionContentTypes
{
    public const string PrometheusText = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>The Accept header a scraper sends: OpenMetrics preferred, then the text format.</summary>
    public const string ScrapeAccept =
        "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5," +
        "text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

    /// <summary>Picks the parser for a response's Content-Type; anything that is not OpenMetrics is read as text 0.0.4.</summary>
    public static ExpositionFormat FromContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return ExpositionFormat.PrometheusText;
        var semi = contentType.IndexOf(';', StringComparison.Ordinal);
        var media = (semi < 0 ? contentType : contentType[..semi]).Trim();
        return media.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.OpenMetrics
            : ExpositionFormat.PrometheusText;
    }
}
