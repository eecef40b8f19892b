using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Conformance;

/// <summary>Outcome of one eval command.</summary>
public sealed record EvalOutcome(string File, int Line, int Tier, string Expr, bool Passed, string? Reason);

/// <summary>Per-file and per-tier pass counts.</summary>
public sealed class ConformanceReport
{
    public List<EvalOutcome> Outcomes { get; } = [];
    public int Passed(int tier) => Outcomes.Count(o => o.Tier == tier && o.Passed);
    public int Total(int tier) => Outcomes.Count(o => o.Tier == tier);
    public double Tier1Ratio => Total(1) == 0 ? 1 : (double)Passed(1) / Total(1);
}

/// <summary>
/// Runs Prometheus's promqltest files (load / clear / eval / expect ...) against the Watchkeeper engine.
/// Tier 1: float PromQL in the core files; Tier 2: native histograms and experimental features.
/// </summary>
public static partial class ConformanceRunner
{
    public static readonly string[] Tier1Files =
    [
        "aggregators", "at_modifier", "collision", "functions", "histograms", "limit", "literals",
        "name_label_dropping", "operators", "range_queries", "selectors", "staleness", "subquery", "trig_functions",
    ];

    public static ConformanceReport RunDirectory(string dir, string? onlyFile = null)
    {
        var report = new ConformanceReport();
        foreach (var path in Directory.GetFiles(dir, "*.test").OrderBy(p => p, StringComparer.Ordinal))
        {
            if (onlyFile is not null && Path.GetFileName(path) != onlyFile) continue;
            RunFile(path, report);
        }
        return report;
    }

    private sealed class EvalCmd
    {
        public int Line;
        public bool Range;
        public long Start, End, Step;
        public string Expr = "";
        public bool Fail, Ordered, Warn, Info, NoWarn, NoInfo;
        public string? FailMsg, FailRegex;
        public List<(string? Msg, string? Regex)> WarnExpect = [], InfoExpect = [];
        public string? ExpectString;
        public (long Start, long End, long Step)? ExpectRange;
        public double? ExpectScalar;
        public List<(Labels Labels, Value?[] Values)> Expected = [];
        public bool ExpectedHasHistogram;
    }

    public static void RunFile(string path, ConformanceReport report)
    {
        var file = Path.GetFileName(path);
        var tier1File = Tier1Files.Contains(Path.GetFileNameWithoutExtension(path));
        var lines = File.ReadAllLines(path);
        for (var k = 0; k < lines.Length; k++)
        {
            var tl = lines[k].Trim();
            lines[k] = tl.StartsWith('#') ? "" : tl;
        }
        var store = new MemorySeriesStore();
        var histNames = new HashSet<string>(StringComparer.Ordinal);
        var engine = new Engine(new EngineOptions { LookbackDelta = TimeSpan.FromMinutes(5), Timeout = TimeSpan.FromSeconds(20) });
        var ignoring = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0) continue;
            var body = new List<string>();
            var startLine = i + 1;
            var word = line.Split(' ', 2)[0];
            if (word.StartsWith("load", StringComparison.Ordinal) || word.StartsWith("eval", StringComparison.Ordinal))
                while (i + 1 < lines.Length && lines[i + 1].Length > 0) body.Add(lines[++i]);
            if (word == "ignore") { ignoring = true; continue; }
            if (word == "resume") { ignoring = false; continue; }
            if (word == "clear") { store.Clear(); histNames.Clear(); continue; }
            if (word is "load" or "load_with_nhcb")
            {
                Load(store, histNames, line, body);
                continue;
            }
            if (!word.StartsWith("eval", StringComparison.Ordinal)) continue;
            if (ignoring) continue;
            EvalCmd cmd;
            try { cmd = ParseEval(line, body, startLine); }
            catch (Exception ex) when (ex is FormatException or ParseException or ArgumentException)
            {
                report.Outcomes.Add(new EvalOutcome(file, startLine, tier1File ? 1 : 2, line, false, "runner could not parse eval: " + ex.Message));
                continue;
            }
            var tier = tier1File && !cmd.ExpectedHasHistogram && !NamesAny(cmd.Expr, histNames) ? 1 : 2;
            string? reason;
            try { reason = Execute(engine, store, cmd); }
            catch (Exception ex) { reason = "runner exception: " + ex.GetType().Name + ": " + ex.Message; }
            report.Outcomes.Add(new EvalOutcome(file, startLine, tier, cmd.Expr, reason is null, reason));
        }
    }

    private static bool NamesAny(string expr, HashSet<string> names)
    {
        foreach (var n in names)
        {
            var idx = 0;
            while ((idx = expr.IndexOf(n, idx, StringComparison.Ordinal)) >= 0)
            {
                var before = idx == 0 ? ' ' : expr[idx - 1];
                var afterIdx = idx + n.Length;
                var after = afterIdx >= expr.Length ? ' ' : expr[afterIdx];
                if (!IsWordChar(before) && !IsWordChar(after)) return true;
                idx = afterIdx;
            }
        }
        return false;
    }

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':';

    // ---- load -------------------------------------------------------------------------------

    private static void Load(MemorySeriesStore store, HashSet<string> histNames, string line, List<string> body)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var interval = Parser.ParseDuration(parts[1]);
        var block = new List<(Labels Labels, List<Value?> Values)>();
        foreach (var def in body)
        {
            Labels labels;
            List<Value?> values;
            bool hasHist;
            try
            {
                (labels, var rest) = SplitSeries(def);
                values = ExpandValues(rest, out hasHist);
            }
            catch (Exception ex) when (ex is FormatException or ParseException or ArgumentException or OverflowException)
            {
                continue; // notation this runner does not support (e.g. start timestamps); affects Tier 2 only
            }
            if (hasHist && labels.Name is { } n) histNames.Add(n);
            block.Add((labels, values));
            for (var k = 0; k < values.Count; k++)
            {
                if (values[k] is not { } v) continue;
                if (v.H is not null) store.AddHistogram(labels, k * interval, v.H);
                else store.Add(labels, k * interval, v.F);
            }
        }
        if (parts[0] == "load_with_nhcb") ConvertToNhcb(store, block, interval);
    }

    /// <summary>Adds a custom-bucket native histogram for each classic histogram (name_bucket/_count/_sum) in a load block.</summary>
    private static void ConvertToNhcb(MemorySeriesStore store, List<(Labels Labels, List<Value?> Values)> block, long interval)
    {
        var groups = new Dictionary<Labels, List<(double Le, List<Value?> Values)>>();
        var extra = new Dictionary<(Labels, string), List<Value?>>();
        foreach (var (labels, values) in block)
        {
            var name = labels.Name;
            if (name is null) continue;
            if (name.EndsWith("_bucket", StringComparison.Ordinal) && labels.Get("le") is { } le)
            {
                var key = Labels.From(labels.Where(l => l.Name != "le").Select(l => l.Name == Labels.MetricName ? new Label(l.Name, name[..^7]) : l));
                var bound = le.Trim() switch
                {
                    var x when x.Equals("+Inf", StringComparison.OrdinalIgnoreCase) || x.Equals("Inf", StringComparison.OrdinalIgnoreCase) => double.PositiveInfinity,
                    var x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN,
                };
                if (double.IsNaN(bound)) continue;
                if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
                list.Add((bound, values));
            }
            else if (name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal))
            {
                var suffix = name.EndsWith("_count", StringComparison.Ordinal) ? "_count" : "_sum";
                var key = Labels.From(labels.Select(l => l.Name == Labels.MetricName ? new Label(l.Name, name[..^suffix.Length]) : l));
                extra[(key, suffix)] = values;
            }
        }
        foreach (var (key, raw) in groups)
        {
            // Series spelling the same bound differently are one bucket; the last one loaded wins.
            var buckets = raw.GroupBy(b => b.Le).OrderBy(g => g.Key).Select(g => (Le: g.Key, g.Last().Values)).ToList();
            if (!double.IsPositiveInfinity(buckets[^1].Le)) buckets.Add((double.PositiveInfinity, buckets[^1].Values));
            var bounds = buckets.Take(buckets.Count - 1).Select(b => b.Le).ToArray();
            extra.TryGetValue((key, "_count"), out var countVals);
            extra.TryGetValue((key, "_sum"), out var sumVals);
            var n = buckets.Min(b => b.Values.Count);
            for (var k = 0; k < n; k++)
            {
                var counts = new double[buckets.Count];
                double prev = 0;
                var ok = true;
                for (var i = 0; i < buckets.Count; i++)
                {
                    if (buckets[i].Values[k] is not { H: null } v || StaleNaN.Is(v.F)) { ok = false; break; }
                    counts[i] = v.F - prev;
                    prev = v.F;
                }
                if (!ok) continue;
                var count = countVals is not null && k < countVals.Count && countVals[k] is { H: null } cv ? cv.F : prev;
                var sum = sumVals is not null && k < sumVals.Count && sumVals[k] is { H: null } sv ? sv.F : 0;
                store.AddHistogram(key, k * interval, new FloatHistogram(FloatHistogram.CustomBucketsSchema, count, sum, bounds, counts));
            }
        }
    }

    /// <summary>Splits "metric{a="b"} values..." into labels and the value text.</summary>
    private static (Labels, string) SplitSeries(string def)
    {
        var end = 0;
        var inQuote = false;
        var depth = 0;
        for (; end < def.Length; end++)
        {
            var c = def[end];
            if (inQuote)
            {
                if (c == '\\') { end++; continue; }
                if (c == '"') inQuote = false;
                continue;
            }
            if (c == '"') { inQuote = true; continue; }
            if (c == '{') depth++;
            else if (c == '}') { depth--; if (depth == 0) { end++; break; } }
            else if (depth == 0 && char.IsWhiteSpace(c)) break;
        }
        var sel = def[..end].Trim();
        return (ParseLabels(sel), def[end..].Trim());
    }

    private static Labels ParseLabels(string sel)
    {
        if (sel == "{}") return Labels.Empty;
        var vs = Parser.ParseSelector(sel);
        var list = new List<Label>();
        foreach (var m in vs.Matchers) list.Add(new Label(m.Name, m.Value));
        return Labels.From(list);
    }

    private static List<string> ValueTokens(string s)
    {
        var res = new List<string>();
        var sb = new StringBuilder();
        var depth = 0;
        foreach (var c in s)
        {
            if (c == '{') depth++;
            if (c == '}') depth--;
            if (char.IsWhiteSpace(c) && depth == 0)
            {
                if (sb.Length > 0) { res.Add(sb.ToString()); sb.Clear(); }
                continue;
            }
            sb.Append(c);
        }
        if (sb.Length > 0) res.Add(sb.ToString());
        return res;
    }

    /// <summary>A loaded or expected value: a float or a native histogram.</summary>
    internal readonly record struct Value(double F, FloatHistogram? H = null);

    /// <summary>Parses {{schema:.. count:.. sum:.. custom_values:[..] buckets:[..]}}; exponential buckets are not kept.</summary>
    private static FloatHistogram ParseHistogram(string s)
    {
        var inner = s.Trim().TrimStart('{').TrimEnd('}');
        int schema = 0;
        double count = 0, sum = 0;
        double[] bounds = [], buckets = [];
        var offset = 0;
        var m = Regex.Matches(inner, @"(\w+):(\[[^\]]*\]|\S+)");
        foreach (Match x in m)
        {
            var key = x.Groups[1].Value;
            var val = x.Groups[2].Value;
            double[] Arr() => val.Trim('[', ']').Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => TryNumber(t, out var d) ? d : double.NaN).ToArray();
            switch (key)
            {
                case "schema": schema = int.Parse(val, CultureInfo.InvariantCulture); break;
                case "count": TryNumber(val, out count); break;
                case "sum": TryNumber(val, out sum); break;
                case "custom_values": bounds = Arr(); break;
                case "buckets": buckets = Arr(); break;
                case "offset": offset = int.Parse(val, CultureInfo.InvariantCulture); break;
            }
        }
        if (schema != FloatHistogram.CustomBucketsSchema) return new FloatHistogram(schema, count, sum, [], []);
        var counts = new double[bounds.Length + 1];
        for (var i = 0; i < buckets.Length && i + offset < counts.Length; i++) counts[i + offset] = buckets[i];
        return new FloatHistogram(schema, count, sum, bounds, counts);
    }

    private static FloatHistogram AddHist(FloatHistogram a, FloatHistogram b, double f)
    {
        var counts = new double[Math.Max(a.Counts.Length, b.Counts.Length)];
        for (var i = 0; i < counts.Length; i++) counts[i] = (i < a.Counts.Length ? a.Counts[i] : 0) + f * (i < b.Counts.Length ? b.Counts[i] : 0);
        return new FloatHistogram(a.Schema, a.Count + f * b.Count, a.Sum + f * b.Sum, a.Bounds.Length >= b.Bounds.Length ? a.Bounds : b.Bounds, counts);
    }

    /// <summary>Expands the value notation; null entries are missing samples.</summary>
    internal static List<Value?> ExpandValues(string s, out bool hasHistogram)
    {
        hasHistogram = false;
        var res = new List<Value?>();
        foreach (var tok in ValueTokens(s))
        {
            if (tok.Contains("{{", StringComparison.Ordinal))
            {
                hasHistogram = true;
                // {{a}}, {{a}}xN, {{a}}+{{b}}xN, {{a}}-{{b}}xN
                var firstEnd = tok.IndexOf("}}", StringComparison.Ordinal) + 2;
                var first = ParseHistogram(tok[..firstEnd]);
                var restTok = tok[firstEnd..];
                if (restTok.Length == 0) { res.Add(new Value(0, first)); continue; }
                if (restTok[0] == 'x')
                {
                    var reps = int.Parse(restTok[1..], CultureInfo.InvariantCulture);
                    for (var k = 0; k <= reps; k++) res.Add(new Value(0, first));
                    continue;
                }
                var sign = restTok[0] == '-' ? -1.0 : 1.0;
                var incEnd = restTok.IndexOf("}}", StringComparison.Ordinal) + 2;
                var inc = ParseHistogram(restTok[1..incEnd]);
                var n2 = int.Parse(restTok[(incEnd + 1)..], CultureInfo.InvariantCulture);
                var cur = first;
                for (var k = 0; k <= n2; k++)
                {
                    res.Add(new Value(0, cur));
                    cur = AddHist(cur, inc, sign);
                }
                continue;
            }
            if (tok == "_") { res.Add(null); continue; }
            if (tok == "stale") { res.Add(new Value(StaleNaN.Value)); continue; }
            if (TryNumber(tok, out var single)) { res.Add(new Value(single)); continue; }
            var x = tok.LastIndexOf('x');
            if (x <= 0) throw new FormatException("bad value: " + tok);
            var n = int.Parse(tok[(x + 1)..], CultureInfo.InvariantCulture);
            var head = tok[..x];
            if (head == "_") { for (var k = 0; k < n; k++) res.Add(null); continue; }
            if (head == "stale") { for (var k = 0; k < n; k++) res.Add(new Value(StaleNaN.Value)); continue; }
            if (TryNumber(head, out var rep)) { for (var k = 0; k <= n; k++) res.Add(new Value(rep)); continue; }
            var opIdx = -1;
            for (var k = 1; k < head.Length; k++)
            {
                if ((head[k] == '+' || head[k] == '-') && head[k - 1] is not ('e' or 'E')) { opIdx = k; break; }
            }
            if (opIdx < 0) throw new FormatException("bad value: " + tok);
            if (!TryNumber(head[..opIdx], out var start) || !TryNumber(head[(opIdx + 1)..], out var step)) throw new FormatException("bad value: " + tok);
            if (head[opIdx] == '-') step = -step;
            var curF = start;
            for (var k = 0; k <= n; k++)
            {
                res.Add(new Value(curF));
                curF += step;
            }
        }
        return res;
    }

    private static bool TryNumber(string s, out double v)
    {
        var t = s;
        var neg = false;
        if (t.StartsWith('-')) { neg = true; t = t[1..]; }
        else if (t.StartsWith('+')) t = t[1..];
        if (t.Equals("Inf", StringComparison.OrdinalIgnoreCase)) { v = neg ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (t.Equals("NaN", StringComparison.OrdinalIgnoreCase)) { v = double.NaN; return true; }
        if (t.Length > 0 && (char.IsAsciiDigit(t[0]) || t[0] == '.') && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v)) { if (neg) v = -v; return true; }
        v = 0;
        return false;
    }

    // ---- eval ---------------------------------------------------------------------------------

    [GeneratedRegex(@"^eval(_fail|_ordered|_warn|_info)?\s+instant\s+at\s+(\S+)\s+(.+)$")]
    private static partial Regex InstantRe();

    [GeneratedRegex(@"^eval(_fail|_ordered|_warn|_info)?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$")]
    private static partial Regex RangeRe();

    private static long ParseTime(string s)
    {
        var neg = s.StartsWith('-');
        var ms = Parser.ParseDuration(neg ? s[1..] : s);
        return neg ? -ms : ms;
    }

    private static EvalCmd ParseEval(string line, List<string> body, int lineNo)
    {
        var cmd = new EvalCmd { Line = lineNo };
        string? modifier;
        var m = InstantRe().Match(line);
        if (m.Success)
        {
            modifier = m.Groups[1].Value;
            cmd.Start = cmd.End = ParseTime(m.Groups[2].Value);
            cmd.Expr = m.Groups[3].Value;
        }
        else
        {
            m = RangeRe().Match(line);
            if (!m.Success) throw new FormatException("unrecognised eval: " + line);
            modifier = m.Groups[1].Value;
            cmd.Range = true;
            cmd.Start = ParseTime(m.Groups[2].Value);
            cmd.End = ParseTime(m.Groups[3].Value);
            cmd.Step = ParseTime(m.Groups[4].Value);
            cmd.Expr = m.Groups[5].Value;
        }
        switch (modifier)
        {
            case "_fail": cmd.Fail = true; break;
            case "_ordered": cmd.Ordered = true; break;
            case "_warn": cmd.Warn = true; break;
            case "_info": cmd.Info = true; break;
        }
        foreach (var b in body)
        {
            if (b.StartsWith("expect ", StringComparison.Ordinal))
            {
                ParseExpect(cmd, b[7..].Trim());
                continue;
            }
            if (b.Contains("{{", StringComparison.Ordinal)) cmd.ExpectedHasHistogram = true;
            if (TryNumber(b, out var sv) && !b.Contains(' ', StringComparison.Ordinal)) { cmd.ExpectScalar = sv; continue; }
            var (labels, rest) = SplitSeries(b);
            var vals = ExpandValues(rest, out _);
            cmd.Expected.Add((labels, vals.ToArray()));
        }
        return cmd;
    }

    private static void ParseExpect(EvalCmd cmd, string s)
    {
        var word = s.Split(' ', 2)[0];
        var rest = s.Length > word.Length ? s[word.Length..].Trim() : "";
        (string? Msg, string? Regex) MsgOf(string r)
        {
            if (r.StartsWith("msg:", StringComparison.Ordinal)) return (r[4..].Trim(), null);
            if (r.StartsWith("regex:", StringComparison.Ordinal)) return (null, r[6..].Trim());
            return (null, null);
        }
        switch (word)
        {
            case "fail": cmd.Fail = true; (cmd.FailMsg, cmd.FailRegex) = MsgOf(rest); break;
            case "warn": cmd.Warn = true; cmd.WarnExpect.Add(MsgOf(rest)); break;
            case "info": cmd.Info = true; cmd.InfoExpect.Add(MsgOf(rest)); break;
            case "no_warn": cmd.NoWarn = true; break;
            case "no_info": cmd.NoInfo = true; break;
            case "ordered": cmd.Ordered = true; break;
            case "string":
                {
                    var q = rest.Trim();
                    cmd.ExpectString = q.Length >= 2 ? ((StringLiteral)Parser.Parse(q)).Value : q;
                    break;
                }
            case "range":
                {
                    var mm = Regex.Match(rest, @"^vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$");
                    if (!mm.Success) throw new FormatException("bad expect range: " + rest);
                    cmd.ExpectRange = (ParseTime(mm.Groups[1].Value), ParseTime(mm.Groups[2].Value), ParseTime(mm.Groups[3].Value));
                    break;
                }
            default: throw new FormatException("unknown expect: " + s);
        }
    }

    /// <summary>Runs one eval (and, for instant evals, its @-pinned twin). Returns null on success or the reason it failed.</summary>
    private static string? Execute(Engine engine, MemorySeriesStore store, EvalCmd cmd)
    {
        Expr expr;
        try { expr = Parser.Parse(cmd.Expr); }
        catch (ParseException ex)
        {
            return cmd.Fail ? CheckFailMessage(cmd, ex.Message) : "unexpected parse error: " + ex.Message;
        }
        QueryResult result;
        try
        {
            result = cmd.Range ? engine.Range(store, expr, cmd.Start, cmd.End, cmd.Step) : engine.Instant(store, expr, cmd.Start);
        }
        catch (QueryException ex)
        {
            return cmd.Fail ? CheckFailMessage(cmd, ex.Message) : "unexpected error: " + ex.Message;
        }
        if (cmd.Fail) return "expected failure but query succeeded";
        var reason = CheckAnnotations(cmd, result) ?? Compare(cmd, result.Value);
        if (reason is not null || cmd.Range) return reason;

        // Re-run with "@ <eval time>" on every selector and subquery (not inside pinned subqueries).
        var pinned = Parser.Parse(cmd.Expr);
        PinAt(pinned, cmd.Start);
        try { result = engine.Instant(store, pinned, cmd.Start); }
        catch (QueryException ex) { return "with @ added: unexpected error: " + ex.Message; }
        var r2 = Compare(cmd, result.Value);
        if (r2 is not null) return "with @ added (" + pinned + "): " + r2;
        return RangeCheck ? CheckRangeMode(engine, store, cmd, expr) : null;
    }

    /// <summary>Diagnostic (off by default): also run instant evals as a range query around the eval time, as promqltest does.</summary>
    public static bool RangeCheck { get; set; }

    private static string? CheckRangeMode(Engine engine, MemorySeriesStore store, EvalCmd cmd, Expr expr)
    {
        if (cmd.Ordered || expr.Type is not (ValueKind.Scalar or ValueKind.Vector) || cmd.ExpectString is not null) return null;
        QueryResult r;
        try { r = engine.Range(store, expr, cmd.Start - 60_000, cmd.Start + 60_000, 60_000); }
        catch (QueryException ex) { return "range mode: unexpected error: " + ex.Message; }
        var mr = (MatrixResult)r.Value;
        var samples = new List<VectorSample>();
        foreach (var series in mr.Series)
            foreach (var p in series.Floats)
                if (p.T == cmd.Start) samples.Add(new VectorSample(series.Labels, p.T, p.V));
        QueryValue v = cmd.ExpectScalar is not null && samples.Count > 0 ? new ScalarResult(cmd.Start, samples[0].V) : new VectorResult(samples);
        var res = Compare(cmd, v);
        return res is null ? null : "range mode: " + res;
    }

    private static void PinAt(Expr e, long t)
    {
        ExprWalker.Walk(e, n =>
        {
            switch (n)
            {
                case VectorSelector vs:
                    if (!vs.At.IsSet) vs.At = new AtModifier(AtKind.Timestamp, t);
                    return true;
                case SubqueryExpr sq:
                    if (!sq.At.IsSet) sq.At = new AtModifier(AtKind.Timestamp, t);
                    return false;
                default:
                    return true;
            }
        });
    }

    private static string? CheckFailMessage(EvalCmd cmd, string msg)
    {
        if (cmd.FailMsg is not null && msg != cmd.FailMsg) return $"error message mismatch: got \"{msg}\", want \"{cmd.FailMsg}\"";
        if (cmd.FailRegex is not null && !Regex.IsMatch(msg, cmd.FailRegex)) return $"error message \"{msg}\" does not match /{cmd.FailRegex}/";
        return null;
    }

    /// <summary>
    /// Every expect line must match at least one annotation of its kind; when any expect line of a kind is present,
    /// every annotation of that kind must match one of them (a bare "expect warn" matches all).
    /// </summary>
    private static string? CheckAnnotations(EvalCmd cmd, QueryResult r)
    {
        static bool Matches((string? Msg, string? Regex) e, string a) =>
            e.Msg is not null ? a == e.Msg : e.Regex is null || Regex.IsMatch(a, e.Regex);

        static string? One(bool expect, List<(string? Msg, string? Regex)> exps, bool expectNone, IReadOnlyList<string> got, string kind)
        {
            if (expect && exps.Count == 0) exps = [(null, null)];
            foreach (var e in exps)
            {
                if (!got.Any(g => Matches(e, g)))
                    return $"expected {kind} {(e.Msg ?? e.Regex ?? "annotation")}, got [{string.Join("; ", got)}]";
            }
            if (exps.Count > 0)
            {
                foreach (var g in got)
                    if (!exps.Any(e => Matches(e, g))) return $"unexpected {kind}: {g}";
            }
            if (expectNone && got.Count > 0) return $"expected no {kind}, got [{string.Join("; ", got)}]";
            return null;
        }
        return One(cmd.Warn, cmd.WarnExpect, cmd.NoWarn, r.Warnings, "warn")
            ?? One(cmd.Info, cmd.InfoExpect, cmd.NoInfo, r.Infos, "info");
    }

    private static bool AlmostEqual(double a, double b)
    {
        if (StaleNaN.Is(a) || StaleNaN.Is(b)) return StaleNaN.Is(a) && StaleNaN.Is(b);
        if (double.IsNaN(a) && double.IsNaN(b)) return true;
        if (a == b) return true;
        const double minNormal = 2.2250738585072014e-308;
        var diff = Math.Abs(a - b);
        var absSum = Math.Abs(a) + Math.Abs(b);
        if (a == 0 || b == 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
        return diff / Math.Min(absSum, double.MaxValue) < 1e-6;
    }

    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string? Compare(EvalCmd cmd, QueryValue value)
    {
        if (cmd.ExpectString is not null)
            return value is StringResult s ? (s.V == cmd.ExpectString ? null : $"string {s.V} != {cmd.ExpectString}") : "expected string, got " + value.Kind;
        if (cmd.ExpectScalar is { } wantScalar)
        {
            if (value is not ScalarResult sr) return "expected scalar, got " + value.Kind;
            return AlmostEqual(sr.V, wantScalar) ? null : $"scalar {F(sr.V)} != {F(wantScalar)}";
        }
        switch (value)
        {
            case ScalarResult sr:
                return cmd.Expected.Count == 0 ? $"expected vector, got scalar {F(sr.V)}" : $"expected vector, got scalar {F(sr.V)}";
            case StringResult:
                return "expected vector, got string";
            case VectorResult vr:
                {
                    if (cmd.Range) return "range query returned vector";
                    if (cmd.ExpectRange is not null) return "expected range vector, got instant vector";
                    if (vr.Samples.Count != cmd.Expected.Count)
                        return $"expected {cmd.Expected.Count} samples, got {vr.Samples.Count}: {Describe(vr)}";
                    for (var k = 0; k < cmd.Expected.Count; k++)
                    {
                        var (labels, vals) = cmd.Expected[k];
                        if (vals.Length != 1 || vals[0] is not { } ev) return "bad expectation for " + labels;
                        var idx = -1;
                        for (var j = 0; j < vr.Samples.Count; j++) if (vr.Samples[j].Labels == labels) { idx = j; break; }
                        if (idx < 0) return $"expected series {labels} not found in {Describe(vr)}";
                        if (cmd.Ordered && idx != k) return $"expected {labels} at position {k}, got {idx}: {Describe(vr)}";
                        if (CompareValue(vr.Samples[idx].V, vr.Samples[idx].H, ev) is { } diff) return $"{labels}: {diff}";
                    }
                    return null;
                }
            case MatrixResult mr:
                {
                    long start, step;
                    if (cmd.Range) { start = cmd.Start; step = cmd.Step; }
                    else if (cmd.ExpectRange is { } er) { start = er.Start; step = er.Step; }
                    else return "got range vector, expected instant vector";
                    var nonEmpty = mr.Series.Where(s => s.Floats.Count + s.Histograms.Count > 0).ToList();
                    if (nonEmpty.Count != cmd.Expected.Count) return $"expected {cmd.Expected.Count} series, got {nonEmpty.Count}: {string.Join(", ", nonEmpty.Select(s => s.Labels.ToString()))}";
                    foreach (var (labels, vals) in cmd.Expected)
                    {
                        var s = nonEmpty.FirstOrDefault(x => x.Labels == labels);
                        if (s is null) return $"expected series {labels} not found";
                        // Merge the series' float and histogram points in time order and compare with the expectation.
                        var got = s.Floats.Select(p => (p.T, p.V, (FloatHistogram?)null))
                            .Concat(s.Histograms.Select(p => (p.T, 0.0, (FloatHistogram?)p.H))).OrderBy(p => p.T).ToList();
                        var want = new List<(long T, Value V)>();
                        for (var k = 0; k < vals.Length; k++) if (vals[k] is { } v) want.Add((start + k * step, v));
                        if (want.Count != got.Count)
                            return $"{labels}: expected {want.Count} points, got {got.Count}: [{string.Join(" ", got.Select(p => $"{(p.Item3?.ToString() ?? F(p.Item2))}@{p.T / 1000.0}"))}]";
                        for (var k = 0; k < want.Count; k++)
                        {
                            if (want[k].T != got[k].T) return $"{labels}: point {k} at {got[k].T / 1000.0}, want {want[k].T / 1000.0}";
                            if (CompareValue(got[k].Item2, got[k].Item3, want[k].V) is { } diff) return $"{labels}: point {k}: {diff}";
                        }
                    }
                    return null;
                }
        }
        return "unexpected result type";
    }

    /// <summary>Null when equal; custom-bucket histograms are compared field by field, exponential ones only by count and sum.</summary>
    private static string? CompareValue(double f, FloatHistogram? h, Value want)
    {
        if (want.H is null)
        {
            if (h is not null) return $"got histogram {h}, want {F(want.F)}";
            return AlmostEqual(f, want.F) ? null : $"got {F(f)}, want {F(want.F)}";
        }
        if (h is null) return $"got {F(f)}, want histogram {want.H}";
        var w = want.H;
        if (!w.UsesCustomBuckets) return "exponential histogram expectations are not compared";
        if (!h.UsesCustomBuckets || !AlmostEqual(h.Count, w.Count) || !AlmostEqual(h.Sum, w.Sum) || !h.Bounds.SequenceEqual(w.Bounds))
            return $"got histogram {h}, want {w}";
        for (var i = 0; i < Math.Max(h.Counts.Length, w.Counts.Length); i++)
        {
            var a = i < h.Counts.Length ? h.Counts[i] : 0;
            var b = i < w.Counts.Length ? w.Counts[i] : 0;
            if (!AlmostEqual(a, b)) return $"got histogram {h}, want {w}";
        }
        return null;
    }

    private static string Describe(VectorResult vr) =>
        "[" + string.Join(", ", vr.Samples.Take(6).Select(s => s.Labels + " " + F(s.V))) + (vr.Samples.Count > 6 ? ", ..." : "") + "]";
}
