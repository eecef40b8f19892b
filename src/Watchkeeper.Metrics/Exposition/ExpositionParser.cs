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
public sealed partial class ExpositionParser
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
}
