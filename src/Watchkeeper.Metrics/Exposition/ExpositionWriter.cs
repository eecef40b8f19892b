using System.Globalization;
using System.Text;

namespace Watchkeeper.Metrics.Exposition;

/// <summary>Writes the Prometheus text format 0.0.4 (for in-process targets: host collector, demo workload, self metrics).</summary>
public sealed class ExpositionWriter
{
    private readonly StringBuilder _sb = new(4096);

    /// <summary>Writes HELP and TYPE lines for a family.</summary>
    public ExpositionWriter Family(string name, MetricType type, string help)
    {
        _sb.Append("# HELP ").Append(name).Append(' ');
        foreach (var c in help)
        {
            if (c == '\\') _sb.Append("\\\\");
            else if (c == '\n') _sb.Append("\\n");
            else _sb.Append(c);
        }
        _sb.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type switch
        {
            MetricType.Counter => "counter",
            MetricType.Gauge => "gauge",
            MetricType.Histogram => "histogram",
            MetricType.Summary => "summary",
            _ => "untyped",
        }).Append('\n');
        return this;
    }

    /// <summary>Writes one sample; labels are name/value pairs.</summary>
    public ExpositionWriter Sample(string name, double value, params ReadOnlySpan<string> labels)
    {
        _sb.Append(name);
        if (labels.Length > 0)
        {
            _sb.Append('{');
            for (var i = 0; i + 1 < labels.Length; i += 2)
            {
                if (i > 0) _sb.Append(',');
                _sb.Append(labels[i]).Append("=\"");
                foreach (var c in labels[i + 1])
                {
                    switch (c)
                    {
                        case '\\': _sb.Append("\\\\"); break;
                        case '"': _sb.Append("\\\""); break;
                        case '\n': _sb.Append("\\n"); break;
                        default: _sb.Append(c); break;
                    }
                }
                _sb.Append('"');
            }
            _sb.Append('}');
        }
        _sb.Append(' ').Append(FormatValue(value)).Append('\n');
        return this;
    }

    public static string FormatValue(double v) =>
        double.IsNaN(v) ? "NaN" :
        double.IsPositiveInfinity(v) ? "+Inf" :
        double.IsNegativeInfinity(v) ? "-Inf" :
        v.ToString("R", CultureInfo.InvariantCulture);

    public override string ToString() => _sb.ToString();
}
