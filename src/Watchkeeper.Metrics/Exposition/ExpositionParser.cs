using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Exposition;

/// <summary>The result of one parse: samples in body order and the metadata of every family seen.</summary>
public sealed class ParseResult
{
    public List<ParsedSample> Samples { get; } = [];
    public List<MetricMetadata> Metadata { get; } = [];
    public ExpositionFormat Format { get; internal set; }

    public void Clear()
    {
        Samples.Clear();
        Metadata.Clear();
    }
}

/// <summary>
/// Parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 working on UTF-8 bytes.
/// An instance keeps a bounded cache of label names and values so repeated scrapes of the same target
/// allocate little; it is not thread-safe, so keep one per scrape loop.
/// A malformed body throws <see cref="ExpositionParseException"/> and yields nothing.
/// </summary>
public sealed class ExpositionParser
{
    private const int MaxCachedStrings = 200_000;
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<Label> _labelBuf = new(16);
    private readonly Dictionary<string, FamilyInfo> _families = new(StringComparer.Ordinal);
    private char[] _chars = new char[256];
    private const int MaxCachedSeries = 2_000_000;
    private readonly Dictionary<byte[], SeriesSlot> _seriesCache = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], SeriesSlot>.AlternateLookup<ReadOnlySpan<byte>> _seriesLookup;
    private readonly Dictionary<string, FamilyInfo> _resolved = new(StringComparer.Ordinal);
    // Bumped whenever _resolved is cleared: a series slot's memo of its family is good while its epoch is current.
    private int _resolveEpoch;
    private int _generation;
    private ExpositionFormat? _cacheFormat;

    public ExpositionParser()
    {
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        _seriesLookup = _seriesCache.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    internal sealed class FamilyInfo(string name)
    {
        public string Name { get; } = name;
        public MetricType Type { get; set; }
        public bool HasType { get; set; }
        public string? Help { get; set; }
        public string? Unit { get; set; }
        public bool HadSamples { get; set; }
    }

    /// <summary>Parses a whole body. Throws <see cref="ExpositionParseException"/> on the first error.</summary>
    public ParseResult Parse(ReadOnlySpan<byte> body, ExpositionFormat format)
    {
        var result = new ParseResult();
        Parse(body, format, result);
        return result;
    }

    /// <summary>Parses into a caller-owned result (cleared first). On error the result is cleared and the exception thrown.</summary>
    public void Parse(ReadOnlySpan<byte> body, ExpositionFormat format, ParseResult result)
    {
        result.Clear();
        result.Format = format;
        _families.Clear();
        ClearResolved();
        _generation++;
        if (_cacheFormat != format)
        {
            // The formats differ in what a label set may look like: cached validation does not carry over.
            _seriesCache.Clear();
            _cacheFormat = format;
        }
        try
        {
            if (format == ExpositionFormat.OpenMetrics) ParseOpenMetrics(body, result);
            else ParseText(body, result);
            foreach (var f in _families.Values)
            {
                if (f.HasType || f.Help is not null || f.Unit is not null)
                    result.Metadata.Add(new MetricMetadata(f.Name, f.Type, f.Help ?? "", f.Unit ?? ""));
            }
        }
        catch
        {
            result.Clear();
            throw;
        }
        finally
        {
            _families.Clear();
            ClearResolved();
            if (_strings.Count > MaxCachedStrings) _strings.Clear();
            EvictSeries(result.Samples.Count);
        }
    }

    /// <summary>Drops cached series not seen in the last two parses once the cache outgrows the body.</summary>
    private void EvictSeries(int samples)
    {
        if (_seriesCache.Count <= (2 * samples) + 1024) return;
        var stale = new List<byte[]>();
        foreach (var (k, v) in _seriesCache)
            if (v.Generation < _generation - 1) stale.Add(k);
        foreach (var k in stale) _seriesCache.Remove(k);
    }

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

    // ---------------------------------------------------------------- samples (both formats)

    private void ParseSampleLine(ref LineReader r, ParseResult result, bool openMetrics)
    {
        var nameCol = r.Pos;
        string name;
        Labels labels;
        SeriesSlot? slot = null;
        var seriesEnd = FindSeriesEnd(r.Line, r.Pos, openMetrics);
        if (seriesEnd > nameCol && _seriesLookup.TryGetValue(r.Line[nameCol..seriesEnd], out var cached))
        {
            // Same bytes as a series seen before: same labels, no need to parse them again.
            cached.Generation = _generation;
            name = cached.Name;
            labels = cached.Labels;
            slot = cached;
            r.Pos = seriesEnd;
        }
        else
        {
            name = ReadMetricName(ref r);
            _labelBuf.Clear();
            _labelBuf.Add(new Label(Labels.MetricName, name));
            var afterName = r.Pos;
            if (!openMetrics) r.SkipBlanks();
            if (!r.AtEnd && r.Peek == '{')
            {
                r.Pos++;
                ReadLabels(ref r, openMetrics, _labelBuf);
            }
            else
            {
                r.Pos = afterName;
            }
            labels = BuildLabels(ref r, nameCol);
            if (seriesEnd == r.Pos && _seriesCache.Count < MaxCachedSeries)
                _seriesCache[r.Line[nameCol..r.Pos].ToArray()] = slot = new SeriesSlot(name, labels) { Generation = _generation };
        }
        var p0 = r.Pos;
        if (!openMetrics) r.SkipBlanks();
        else if (!r.AtEnd && r.Peek == ' ') r.Pos++;
        if (r.AtEnd) throw r.Error("expected value after metric");
        if (r.Pos == p0) throw r.Error("expected space before value");
        var valCol = r.Pos;
        var valTok = r.Token(openMetrics);
        if (valTok.Length == 0) throw r.Error("expected value");
        if (!TryParseFloat(valTok, out var value)) throw new ExpositionParseException(r.LineNo, valCol + 1, "invalid value \"" + Printable(valTok) + "\"");
        long? ts = null;
        if (!openMetrics) r.SkipBlanks();
        if (!r.AtEnd)
        {
            if (openMetrics)
            {
                if (r.Peek != ' ') throw r.Error("expected space after value");
                r.Pos++;
            }
            if (!r.AtEnd && r.Peek != '#')
            {
                var tsCol = r.Pos;
                var tsTok = r.Token(openMetrics);
                if (openMetrics)
                {
                    if (!TryParseFloat(tsTok, out var sec) || !double.IsFinite(sec))
                        throw new ExpositionParseException(r.LineNo, tsCol + 1, "invalid timestamp \"" + Printable(tsTok) + "\"");
                    // A valid timestamp beyond the millisecond range saturates: the store then refuses the sample as out
                    // of bounds and counts it, instead of the whole target going down.
                    var msF = Math.Round(sec * 1000.0);
                    ts = msF >= 9.2233720368547758e18 ? long.MaxValue : msF <= -9.2233720368547758e18 ? long.MinValue : (long)msF;
                }
                else
                {
                    if (!long.TryParse(tsTok, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
                        throw new ExpositionParseException(r.LineNo, tsCol + 1, "invalid timestamp \"" + Printable(tsTok) + "\"");
                    ts = ms;
                }
                if (!openMetrics) r.SkipBlanks();
                if (!r.AtEnd)
                {
                    if (!openMetrics) throw r.Error("unexpected content after timestamp");
                    if (r.Peek != ' ') throw r.Error("expected space after timestamp");
                    r.Pos++;
                }
            }
            if (!r.AtEnd)
            {
                if (!openMetrics) throw r.Error("unexpected content after value");
                ReadExemplar(ref r);
            }
        }
        else if (openMetrics && r.Line.Length > 0 && r.Line[^1] == ' ') throw r.Error("trailing space");

        FamilyInfo family;
        if (slot is not null && slot.FamilyEpoch == _resolveEpoch && slot.Family is { } known)
        {
            family = known;
        }
        else
        {
            family = ResolveFamilyCached(name);
            if (slot is not null)
            {
                slot.Family = family;
                slot.FamilyEpoch = _resolveEpoch;
            }
        }
        family.HadSamples = true;
        // _created carries a counter/histogram/summary creation time, not a series of its own.
        if (openMetrics && family.Type is MetricType.Counter or MetricType.Histogram or MetricType.Summary or MetricType.GaugeHistogram
            && family.Name.Length == name.Length - 8 && name.EndsWith("_created", StringComparison.Ordinal))
            return;
        result.Samples.Add(new ParsedSample(labels, value, ts) { Series = slot });
    }

    /// <summary>
    /// Where the series part (name and label set) of a sample line ends, found by a quick scan that respects quoted
    /// values; -1 when it cannot tell (the full parse then reports the error).
    /// </summary>
    private static int FindSeriesEnd(ReadOnlySpan<byte> line, int start, bool openMetrics)
    {
        var i = start;
        while (i < line.Length && IsMetricNameChar(line[i], i == start)) i++;
        if (i == start) return -1;
        var afterName = i;
        if (!openMetrics)
            while (i < line.Length && line[i] is (byte)' ' or (byte)'\t') i++;
        if (i >= line.Length || line[i] != '{') return afterName;
        if (!openMetrics)
        {
            // In the text format nothing after a sample's label set may contain '}' (value and timestamp are numbers),
            // so the last '}' ends it. On a malformed line this may be wrong, but then the bytes up to it match no
            // cached series (those are exact label sets) and the full parse reports the error.
            var close = line.LastIndexOf((byte)'}');
            return close > i ? close + 1 : -1;
        }
        i++;
        var inQuotes = false;
        while (i < line.Length)
        {
            var b = line[i];
            if (inQuotes)
            {
                if (b == '\\') i++;
                else if (b == '"') inQuotes = false;
            }
            else if (b == '"')
            {
                inQuotes = true;
            }
            else if (b == '}')
            {
                return i + 1;
            }
            i++;
        }
        return -1;
    }

    private void ClearResolved()
    {
        _resolved.Clear();
        _resolveEpoch++;
    }

    /// <summary>The family of a sample name, resolved once per parse (a TYPE line resets the memo).</summary>
    private FamilyInfo ResolveFamilyCached(string name)
    {
        if (_resolved.TryGetValue(name, out var f)) return f;
        f = ResolveFamily(name) ?? GetFamily(name);
        _resolved[name] = f;
        return f;
    }

    private void ReadExemplar(ref LineReader r)
    {
        // " # {labels} value [timestamp]": validated, then dropped.
        if (r.Peek != '#' || r.Pos + 1 >= r.Line.Length || r.Line[r.Pos + 1] != ' ') throw r.Error("expected exemplar \" # \"");
        r.Pos += 2;
        if (r.AtEnd || r.Peek != '{') throw r.Error("expected '{' to start exemplar labels");
        r.Pos++;
        var tmp = new List<Label>(4);
        ReadLabels(ref r, openMetrics: true, tmp);
        var runes = 0;
        foreach (var l in tmp) runes += l.Name.Length + l.Value.Length;
        if (runes > 128) throw r.Error("exemplar labels exceed 128 characters");
        if (r.AtEnd || r.Peek != ' ') throw r.Error("expected space before exemplar value");
        r.Pos++;
        var tok = r.Token(true);
        if (!TryParseFloat(tok, out _)) throw r.Error("invalid exemplar value");
        if (r.AtEnd) return;
        if (r.Peek != ' ') throw r.Error("expected space after exemplar value");
        r.Pos++;
        tok = r.Token(true);
        if (!TryParseFloat(tok, out _)) throw r.Error("invalid exemplar timestamp");
        if (!r.AtEnd) throw r.Error("unexpected content after exemplar");
    }

    private void ReadLabels(ref LineReader r, bool openMetrics, List<Label> into)
    {
        while (true)
        {
            if (!openMetrics) r.SkipBlanks();
            if (r.AtEnd) throw r.Error("unterminated label set");
            if (r.Peek == '}')
            {
                r.Pos++;
                return;
            }
            var nameStart = r.Pos;
            while (!r.AtEnd && IsLabelNameChar(r.Peek, r.Pos == nameStart)) r.Pos++;
            if (r.Pos == nameStart) throw r.Error("invalid label name");
            var lname = Intern(r.Line[nameStart..r.Pos]);
            if (!openMetrics) r.SkipBlanks();
            if (r.AtEnd || r.Peek != '=') throw r.Error("expected '=' after label name");
            r.Pos++;
            if (!openMetrics) r.SkipBlanks();
            if (r.AtEnd || r.Peek != '"') throw r.Error("expected '\"' to start label value");
            r.Pos++;
            var value = ReadQuoted(ref r, openMetrics);
            foreach (var l in into)
                if (ReferenceEquals(l.Name, lname) || l.Name == lname)
                    throw new ExpositionParseException(r.LineNo, nameStart + 1, $"duplicate label name \"{lname}\"");
            into.Add(new Label(lname, value));
            if (!openMetrics) r.SkipBlanks();
            if (r.AtEnd) throw r.Error("unterminated label set");
            if (r.Peek == ',')
            {
                r.Pos++;
                if (openMetrics && !r.AtEnd && r.Peek == '}') throw r.Error("trailing comma in label set");
                continue;
            }
            if (r.Peek != '}') throw r.Error("expected ',' or '}' after label value");
        }
    }

    private string ReadQuoted(ref LineReader r, bool openMetrics)
    {
        var start = r.Pos;
        var line = r.Line;
        var simpleEnd = line[start..].IndexOfAny((byte)'"', (byte)'\\');
        if (simpleEnd >= 0 && line[start + simpleEnd] == '"')
        {
            var raw = line.Slice(start, simpleEnd);
            if (!Utf8.IsValid(raw)) throw r.Error("invalid UTF-8 in label value");
            r.Pos = start + simpleEnd + 1;
            return Intern(raw);
        }
        // Slow path with escapes.
        var buf = ArrayPool<byte>.Shared.Rent(line.Length - start + 1);
        try
        {
            var n = 0;
            var i = start;
            while (true)
            {
                if (i >= line.Length) throw new ExpositionParseException(r.LineNo, start, "unterminated label value");
                var b = line[i];
                if (b == '"') break;
                if (b == '\\')
                {
                    if (i + 1 >= line.Length) throw new ExpositionParseException(r.LineNo, i + 1, "unterminated escape in label value");
                    var e = line[i + 1];
                    switch (e)
                    {
                        case (byte)'\\': buf[n++] = (byte)'\\'; break;
                        case (byte)'"': buf[n++] = (byte)'"'; break;
                        case (byte)'n': buf[n++] = (byte)'\n'; break;
                        default:
                            // Any other escape is kept as written, backslash included, in both formats (as Prometheus does).
                            buf[n++] = (byte)'\\';
                            buf[n++] = e;
                            break;
                    }
                    i += 2;
                    continue;
                }
                buf[n++] = b;
                i++;
            }
            r.Pos = i + 1;
            var span = buf.AsSpan(0, n);
            if (!Utf8.IsValid(span)) throw r.Error("invalid UTF-8 in label value");
            return Intern(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private static string UnescapeHelp(ref LineReader r, bool openMetrics)
    {
        var raw = r.Line[r.Pos..];
        if (!openMetrics) raw = raw.TrimEnd(" \t"u8);
        if (!Utf8.IsValid(raw)) throw r.Error("invalid UTF-8 in HELP");
        r.Pos = r.Line.Length;
        if (raw.IndexOf((byte)'\\') < 0) return Encoding.UTF8.GetString(raw);
        var sb = new StringBuilder(raw.Length);
        var s = Encoding.UTF8.GetString(raw);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                var e = s[i + 1];
                if (e == 'n') { sb.Append('\n'); i++; continue; }
                if (e == '\\') { sb.Append('\\'); i++; continue; }
                if (e == '"' && openMetrics) { sb.Append('"'); i++; continue; }
            }
            sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private string ReadMetricName(ref LineReader r)
    {
        var start = r.Pos;
        while (!r.AtEnd && IsMetricNameChar(r.Peek, r.Pos == start)) r.Pos++;
        if (r.Pos == start) throw r.Error("invalid metric name");
        return Intern(r.Line[start..r.Pos]);
    }

    private Labels BuildLabels(ref LineReader r, int nameCol)
    {
        var n = 0;
        foreach (var l in _labelBuf)
            if (l.Value.Length > 0) n++;
        var arr = new Label[n];
        n = 0;
        foreach (var l in _labelBuf)
            if (l.Value.Length > 0) arr[n++] = l;
        // Insertion sort: label sets are small.
        for (var i = 1; i < arr.Length; i++)
        {
            var x = arr[i];
            var j = i - 1;
            while (j >= 0 && string.CompareOrdinal(arr[j].Name, x.Name) > 0)
            {
                arr[j + 1] = arr[j];
                j--;
            }
            arr[j + 1] = x;
        }
        for (var i = 1; i < arr.Length; i++)
            if (arr[i].Name == arr[i - 1].Name)
                throw new ExpositionParseException(r.LineNo, nameCol + 1, $"duplicate label name \"{arr[i].Name}\"");
        return Labels.FromSorted(arr);
    }

    private FamilyInfo GetFamily(string name)
    {
        if (!_families.TryGetValue(name, out var f))
        {
            f = new FamilyInfo(name);
            _families[name] = f;
        }
        return f;
    }

    private static readonly string[] Suffixes = ["_total", "_bucket", "_count", "_sum", "_created", "_gcount", "_gsum", "_info"];

    /// <summary>The family a sample name belongs to: its own name or the name less a type suffix, when declared.</summary>
    private FamilyInfo? ResolveFamily(string name)
    {
        if (_families.TryGetValue(name, out var f) && f.HasType) return f;
        foreach (var s in Suffixes)
        {
            if (name.Length > s.Length && name.EndsWith(s, StringComparison.Ordinal) &&
                _families.TryGetValue(name[..^s.Length], out var g) && g.HasType)
                return g;
        }
        return f;
    }

    /// <summary>The family name a sample name belongs to, given the families declared (for metadata lookups).</summary>
    public static string FamilyOf(string sampleName, Func<string, bool> isFamily)
    {
        if (isFamily(sampleName)) return sampleName;
        foreach (var s in Suffixes)
            if (sampleName.Length > s.Length && sampleName.EndsWith(s, StringComparison.Ordinal) && isFamily(sampleName[..^s.Length]))
                return sampleName[..^s.Length];
        return sampleName;
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0) return "";
        if (_chars.Length < utf8.Length) _chars = new char[Math.Max(utf8.Length, _chars.Length * 2)];
        var n = Encoding.UTF8.GetChars(utf8, _chars);
        var chars = _chars.AsSpan(0, n);
        if (_lookup.TryGetValue(chars, out var s)) return s;
        s = new string(chars);
        _strings[s] = s;
        return s;
    }

    // ---------------------------------------------------------------- scalars

    /// <summary>Parses a float as the formats allow: decimal or exponent notation, NaN, +Inf, -Inf (any case).</summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> s, out double v)
    {
        v = 0;
        if (s.Length == 0) return false;
        if (TryParseSimpleDecimal(s, out v)) return true;
        var body = s[0] is (byte)'+' or (byte)'-' ? s[1..] : s;
        if (body.Length == 0) return false;
        if (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8))
        {
            v = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (Ascii.EqualsIgnoreCase(body, "nan"u8))
        {
            v = double.NaN;
            return true;
        }
        foreach (var b in body)
            if (!(char.IsAsciiDigit((char)b) || b is (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-' or (byte)'_'))
                return false;
        return double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out v);
    }

    private static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// Fast path for plain decimals with at most 15 digits: the mantissa and the power of ten are exact doubles, so
    /// one division gives the correctly rounded result, as the general parser would.
    /// </summary>
    private static bool TryParseSimpleDecimal(ReadOnlySpan<byte> s, out double v)
    {
        v = 0;
        var i = 0;
        var neg = false;
        if (s[0] == '-') { neg = true; i++; }
        else if (s[0] == '+') { i++; }
        ulong m = 0;
        var digits = 0;
        var frac = -1;
        for (; i < s.Length; i++)
        {
            var b = s[i];
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                if (digits == 15) return false;
                m = (m * 10) + (ulong)(b - '0');
                digits++;
                if (frac >= 0) frac++;
            }
            else if (b == '.' && frac < 0)
            {
                frac = 0;
            }
            else
            {
                return false;
            }
        }
        if (digits == 0) return false;
        v = m;
        if (frac > 0) v /= Pow10[frac];
        if (neg) v = -v;
        return true;
    }

    private static bool IsBlank(byte b, bool openMetrics) => openMetrics ? b == ' ' : b is (byte)' ' or (byte)'\t';

    private static bool IsMetricNameChar(byte b, bool first) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or (byte)':' || (!first && b is >= (byte)'0' and <= (byte)'9');

    private static bool IsLabelNameChar(byte b, bool first) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' || (!first && b is >= (byte)'0' and <= (byte)'9');

    private static string Printable(ReadOnlySpan<byte> s)
    {
        var t = s.Length > 40 ? s[..40] : s;
        return Encoding.UTF8.GetString(t);
    }

    private ref struct LineReader(ReadOnlySpan<byte> line, int lineNo)
    {
        public readonly ReadOnlySpan<byte> Line = line;
        public readonly int LineNo = lineNo;
        public int Pos;

        public readonly bool AtEnd => Pos >= Line.Length;
        public readonly byte Peek => Line[Pos];

        public void SkipBlanks()
        {
            while (Pos < Line.Length && Line[Pos] is (byte)' ' or (byte)'\t') Pos++;
        }

        /// <summary>Reads up to the next blank.</summary>
        public ReadOnlySpan<byte> Token(bool openMetrics)
        {
            var start = Pos;
            while (Pos < Line.Length && !(Line[Pos] == ' ' || (!openMetrics && Line[Pos] == '\t'))) Pos++;
            return Line[start..Pos];
        }

        public readonly ExpositionParseException Error(string reason) => new(LineNo, Pos + 1, reason);
    }
}
