using System.Text;

namespace Watchkeeper.Metrics.Model;

/// <summary>
/// Limits on what any ingest path (scrape, remote write, import) may create in the store, checked once per new series.
/// Names follow Mimir's (<c>max_label_names_per_series</c>, ...); <c>max_head_series</c> plays the part of Mimir's
/// <c>max_global_series_per_user</c> for the single tenant. Lengths count UTF-8 bytes, as Prometheus and Mimir do.
/// Zero disables a limit.
/// </summary>
public sealed record IngestLimits
{
    /// <summary>The defaults, sized for one machine.</summary>
    public static readonly IngestLimits Default = new();

    /// <summary>No limits.</summary>
    public static readonly IngestLimits None = new() { MaxLabelNamesPerSeries = 0, MaxLabelNameLength = 0, MaxLabelValueLength = 0, MaxHeadSeries = 0 };

    /// <summary>Labels per series, the metric name included (Mimir's default).</summary>
    public int MaxLabelNamesPerSeries { get; init; } = 30;

    /// <summary>Bytes in a label name.</summary>
    public int MaxLabelNameLength { get; init; } = 1024;

    /// <summary>Bytes in a label value (the metric name included).</summary>
    public int MaxLabelValueLength { get; init; } = 2048;

    /// <summary>Series in the head; a sample that would create one more is refused.</summary>
    public long MaxHeadSeries { get; init; } = 2_000_000;

    /// <summary>The first per-series limit the label set breaks, as a message naming the limit and the series; null when within.</summary>
    public string? CheckSeries(Labels labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return CheckSeries(labels.AsSpan(), labels);
    }

    /// <summary>As <see cref="CheckSeries(Labels)"/> over labels not yet built into a set; <paramref name="display"/> names the series in messages.</summary>
    public string? CheckSeries(ReadOnlySpan<Label> labels, object display)
    {
        if (MaxLabelNamesPerSeries > 0 && labels.Length > MaxLabelNamesPerSeries)
            return $"series {Describe(display)} has {labels.Length} labels, more than max_label_names_per_series ({MaxLabelNamesPerSeries})";
        foreach (var l in labels)
        {
            if (MaxLabelNameLength > 0 && Utf8Longer(l.Name, MaxLabelNameLength))
                return $"label name \"{Truncate(l.Name)}\" of series {Describe(display)} is longer than max_label_name_length ({MaxLabelNameLength} bytes)";
            if (MaxLabelValueLength > 0 && Utf8Longer(l.Value, MaxLabelValueLength))
                return $"value of label \"{Truncate(l.Name)}\" of series {Describe(display)} is longer than max_label_value_length ({MaxLabelValueLength} bytes)";
        }
        return null;
    }

    /// <summary>True when <paramref name="s"/> has more than <paramref name="max"/> UTF-8 bytes; counts only when it might.</summary>
    public static bool Utf8Longer(string s, int max)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Length > max) return true;
        return (long)s.Length * 3 > max && Encoding.UTF8.GetByteCount(s) > max;
    }

    /// <summary>A series in Prometheus notation, shortened for messages (a 10 MB label value is not echoed back).</summary>
    public static string Describe(object series) => Truncate(series.ToString() ?? "", 512);

    private static string Truncate(string s, int max = 128) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max), "…");
}
