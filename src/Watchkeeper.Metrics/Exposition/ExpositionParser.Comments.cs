using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Exposition;

/// <summary>Comment lines: HELP, TYPE and UNIT in the text format 0.0.4 and in OpenMetrics 1.0.</summary>
public sealed partial class ExpositionParser
{
    // ---------------------------------------------------------------- text 0.0.4

    private void ParseText(ReadOnlySpan<byte> body, ParseResult result)
    {
        var lineNo = 0;
        var offset = 0;
        while (offset < body.Length)
        {
            lineNo++;
            var rest = body[offset..];
            var nl = rest.IndexOf((byte)'\n');
            var line = nl < 0 ? rest : rest[..nl];
            offset += nl < 0 ? rest.Length : nl + 1;
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            var r = new LineReader(line, lineNo);
            r.SkipBlanks();
            if (r.AtEnd) continue;
            if (r.Peek == '#')
            {
                r.Pos++;
                ParseTextComment(ref r, result);
                continue;
            }
            ParseSampleLine(ref r, result, openMetrics: false);
        }
    }

    private void ParseTextComment(ref LineReader r, ParseResult result)
    {
        r.SkipBlanks();
        var kwStart = r.Pos;
        while (!r.AtEnd && r.Peek is not ((byte)' ' or (byte)'\t')) r.Pos++;
        var kw = r.Line[kwStart..r.Pos];
        var isHelp = kw.SequenceEqual("HELP"u8);
        var isType = kw.SequenceEqual("TYPE"u8);
        if (!isHelp && !isType) return; // an ordinary comment
        if (r.AtEnd) return; // "# HELP" alone is a comment, as in Prometheus
        r.SkipBlanks();
        var nameCol = r.Pos;
        var name = ReadMetricName(ref r);
        var family = GetFamily(name);
        if (isType)
        {
            if (!r.AtEnd && r.Peek is not ((byte)' ' or (byte)'\t')) throw r.Error("invalid metric name in TYPE line");
            r.SkipBlanks();
            var t = r.Line[r.Pos..].TrimEnd(" \t"u8);
            MetricType type;
            if (t.SequenceEqual("counter"u8)) type = MetricType.Counter;
            else if (t.SequenceEqual("gauge"u8)) type = MetricType.Gauge;
            else if (t.SequenceEqual("histogram"u8)) type = MetricType.Histogram;
            else if (t.SequenceEqual("summary"u8)) type = MetricType.Summary;
            else if (t.SequenceEqual("untyped"u8)) type = MetricType.Unknown;
            else throw r.Error("unknown metric type \"" + Encoding.UTF8.GetString(t) + "\"");
            if (family.HasType) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"second TYPE line for metric name \"{name}\"");
            if (family.HadSamples) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"TYPE line for \"{name}\" after its samples");
            family.Type = type;
            family.HasType = true;
            ClearResolved();
        }
        else
        {
            if (!r.AtEnd && r.Peek is not ((byte)' ' or (byte)'\t')) throw r.Error("invalid metric name in HELP line");
            if (!r.AtEnd) r.Pos++;
            if (family.Help is not null) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"second HELP line for metric name \"{name}\"");
            family.Help = UnescapeHelp(ref r, openMetrics: false);
        }
    }

    // ---------------------------------------------------------------- OpenMetrics 1.0

    private void ParseOpenMetrics(ReadOnlySpan<byte> body, ParseResult result)
    {
        var lineNo = 0;
        var offset = 0;
        var sawEof = false;
        while (offset < body.Length)
        {
            lineNo++;
            var rest = body[offset..];
            var nl = rest.IndexOf((byte)'\n');
            var line = nl < 0 ? rest : rest[..nl];
            offset += nl < 0 ? rest.Length : nl + 1;
            var r = new LineReader(line, lineNo);
            if (sawEof) throw r.Error("unexpected content after # EOF");
            if (line.Length == 0) throw r.Error("unexpected empty line");
            if (line[0] == '#')
            {
                if (line.SequenceEqual("# EOF"u8))
                {
                    sawEof = true;
                    continue;
                }
                ParseOpenMetricsComment(ref r);
                continue;
            }
            ParseSampleLine(ref r, result, openMetrics: true);
        }
        if (!sawEof) throw new ExpositionParseException(lineNo + 1, 1, "missing # EOF at end of OpenMetrics body");
    }

    private void ParseOpenMetricsComment(ref LineReader r)
    {
        if (!r.Line.StartsWith("# "u8)) throw r.Error("expected \"# \" at start of comment");
        r.Pos = 2;
        MetricType omType;
        int kind; // 0 help, 1 type, 2 unit
        if (r.Line[2..].StartsWith("HELP "u8)) kind = 0;
        else if (r.Line[2..].StartsWith("TYPE "u8)) kind = 1;
        else if (r.Line[2..].StartsWith("UNIT "u8)) kind = 2;
        else throw r.Error("expected TYPE, HELP, UNIT or EOF");
        r.Pos = 7;
        var nameCol = r.Pos;
        var name = ReadMetricName(ref r);
        var family = GetFamily(name);
        if (family.HadSamples) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"metadata for \"{name}\" after its samples");
        if (r.AtEnd)
        {
            if (kind == 1) throw r.Error("expected metric type");
        }
        else if (r.Peek != ' ') throw r.Error("invalid metric name");
        else r.Pos++;
        switch (kind)
        {
            case 0:
                if (family.Help is not null) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"second HELP line for \"{name}\"");
                family.Help = UnescapeHelp(ref r, openMetrics: true);
                break;
            case 1:
            {
                var t = r.Line[r.Pos..];
                if (t.SequenceEqual("counter"u8)) omType = MetricType.Counter;
                else if (t.SequenceEqual("gauge"u8)) omType = MetricType.Gauge;
                else if (t.SequenceEqual("histogram"u8)) omType = MetricType.Histogram;
                else if (t.SequenceEqual("gaugehistogram"u8)) omType = MetricType.GaugeHistogram;
                else if (t.SequenceEqual("summary"u8)) omType = MetricType.Summary;
                else if (t.SequenceEqual("info"u8)) omType = MetricType.Info;
                else if (t.SequenceEqual("stateset"u8)) omType = MetricType.StateSet;
                else if (t.SequenceEqual("unknown"u8)) omType = MetricType.Unknown;
                else throw r.Error("unknown metric type \"" + Encoding.UTF8.GetString(t) + "\"");
                if (family.HasType) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"second TYPE line for \"{name}\"");
                family.Type = omType;
                family.HasType = true;
                ClearResolved();
                break;
            }
            default:
            {
                if (family.Unit is not null) throw new ExpositionParseException(r.LineNo, nameCol + 1, $"second UNIT line for \"{name}\"");
                var u = r.Line[r.Pos..];
                if (!Utf8.IsValid(u)) throw r.Error("invalid UTF-8 in UNIT");
                if (u.Length > 0 && !name.EndsWith("_" + Encoding.UTF8.GetString(u), StringComparison.Ordinal))
                    throw r.Error($"unit \"{Encoding.UTF8.GetString(u)}\" is not a suffix of metric name \"{name}\"");
                family.Unit = Encoding.UTF8.GetString(u);
                break;
            }
        }
    }
}
