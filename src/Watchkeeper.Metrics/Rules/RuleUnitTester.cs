using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Rules;

/// <summary>The outcome of one unit-test file: the failures (empty when it passed), each formatted as promtool prints it.</summary>
public sealed record RuleTestResult(string File, IReadOnlyList<string> Errors)
{
    public bool Passed => Errors.Count == 0;
}

/// <summary>
/// Runs promtool's rule unit tests (<c>promtool test rules</c>): input series in the expanding notation are loaded from
/// time 0, every group is evaluated at each evaluation interval up to the last eval_time, firing alerts are compared
/// at each <c>alert_rule_test</c> eval_time and expressions at each <c>promql_expr_test</c> eval_time, with promtool's
/// verdicts and failure messages.
/// </summary>
public static partial class RuleUnitTester
{
    public static RuleTestResult Run(string path, IRuleTemplateEngine? templates = null, CancellationToken ct = default)
    {
        templates ??= RuleTemplateEngines.Default;
        RuleTestFile file;
        try
        {
            file = RuleTestFileParser.Parse(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return new(path, [ex.Message]);
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var ruleFiles = new List<string>();
        foreach (var f in file.RuleFiles)
        {
            var full = Path.IsPathRooted(f) ? f : Path.Combine(dir, f);
            var matched = Glob(full);
            if (matched.Count == 0 && full.IndexOfAny(['*', '?', '[']) < 0) matched = [full];
            ruleFiles.AddRange(matched);
        }
        var evalInterval = file.EvaluationInterval > TimeSpan.Zero ? file.EvaluationInterval : TimeSpan.FromMinutes(1);
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < file.GroupEvalOrder.Count; i++)
            if (!order.TryAdd(file.GroupEvalOrder[i], i)) return new(path, [$"group name repeated in evaluation order: {file.GroupEvalOrder[i]}"]);
        var errors = new List<string>();
        foreach (var t in file.Tests)
        {
            var group = t with { Interval = t.Interval > TimeSpan.Zero ? t.Interval : evalInterval };
            errors.AddRange(RunGroup(group, evalInterval, order, ruleFiles, templates, ct));
        }
        return new(path, errors);
    }

    private static List<string> RunGroup(RuleTestGroup tg, TimeSpan evalInterval, Dictionary<string, int> order, List<string> ruleFiles,
        IRuleTemplateEngine? templates, CancellationToken ct)
    {
        var store = new MemoryStore();
        try
        {
            Load(store, tg);
        }
        catch (FormatException ex)
        {
            return [ex.Message];
        }
        var defs = new List<RuleFileDef>();
        var loadErrors = new List<string>();
        foreach (var f in ruleFiles)
        {
            try
            {
                defs.Add(RuleFileParser.ParseFile(f, templates));
            }
            catch (RuleFileException ex)
            {
                loadErrors.AddRange(ex.Errors.Select(e => e.ToString()));
            }
        }
        if (loadErrors.Count > 0) return loadErrors;
        var groups = defs.SelectMany(d => d.Groups).Select((g, i) => (G: new RuleGroup(g, tg.Interval, TimeSpan.Zero), I: i))
            .OrderBy(x => order.TryGetValue(x.G.Name, out var o) ? o : 0).ThenBy(x => x.I).Select(x => x.G).ToList();
        foreach (var g in groups)
            foreach (var r in g.Rules.OfType<AlertingRule>()) r.Restored = true;
        var engine = new Engine();
        var ctx = new RuleEvalContext
        {
            Querier = new EngineRuleQuerier(engine, store),
            Storage = store,
            Templates = templates,
            ExternalLabels = tg.ExternalLabels,
            ExternalUrl = tg.ExternalUrl,
        };

        foreach (var a in tg.AlertRuleTests)
        {
            if (a.Alertname.Length == 0)
                return [$"an item under alert_rule_test misses required attribute alertname at eval_time {PromDuration.Format(a.EvalTime)}"
                        + (tg.Name.Length > 0 ? $" (in TestGroup {tg.Name})" : "")];
        }
        var alertTimes = tg.AlertRuleTests.Select(a => a.EvalTime).Distinct().Order().ToList();
        var maxT = tg.AlertRuleTests.Select(a => a.EvalTime).Concat(tg.PromqlExprTests.Select(p => p.EvalTime)).DefaultIfEmpty(TimeSpan.Zero).Max();
        var errors = new List<string>();
        var curr = 0;
        for (var ts = TimeSpan.Zero; ts <= maxT; ts += evalInterval)
        {
            ct.ThrowIfCancellationRequested();
            var at = DateTimeOffset.UnixEpoch + ts;
            var evalErrors = new List<string>();
            foreach (var g in groups)
            {
                g.EvalAsync(at, ctx, ct).GetAwaiter().GetResult();
                foreach (var r in g.Rules)
                    if (r.LastError is { } e && r.Health == RuleHealth.Bad)
                        evalErrors.Add($"    rule: {r.Name}, time: {GoDuration(ts)}, err: {e}");
            }
            errors.AddRange(evalErrors);
            if (evalErrors.Count > 0) return errors;

            while (curr < alertTimes.Count && ts <= alertTimes[curr] && alertTimes[curr] < ts + evalInterval)
            {
                var t = alertTimes[curr];
                var cases = tg.AlertRuleTests.Where(a => a.EvalTime == t).ToList();
                var names = cases.Select(c => c.Alertname).ToHashSet(StringComparer.Ordinal);
                var got = new Dictionary<string, List<(Labels, Labels)>>(StringComparer.Ordinal);
                foreach (var g in groups)
                    foreach (var r in g.Rules.OfType<AlertingRule>())
                    {
                        if (!names.Contains(r.Name)) continue;
                        if (!got.TryGetValue(r.Name, out var list)) got[r.Name] = list = [];
                        list.AddRange(r.ActiveAlerts().Where(a => a.State == AlertState.Firing).Select(a => (a.Labels, a.Annotations)));
                    }
                foreach (var c in cases)
                {
                    var gotAlerts = got.GetValueOrDefault(c.Alertname) ?? [];
                    var exp = c.ExpAlerts.Select(e => (Labels.From(e.Labels.Append(new Label(AlertingRule.AlertNameLabel, c.Alertname))), e.Annotations)).ToList();
                    Sort(gotAlerts);
                    Sort(exp);
                    if (!exp.SequenceEqual(gotAlerts))
                    {
                        var name = tg.Name.Length > 0 ? $"    name: {tg.Name},\n" : "";
                        errors.Add($"{name}    alertname: {c.Alertname}, time: {PromDuration.Format(c.EvalTime)}, \n        exp:{Indent(AlertsString(exp), "            ")}, \n        got:{Indent(AlertsString(gotAlerts), "            ")}");
                    }
                }
                curr++;
            }
        }

        foreach (var tc in tg.PromqlExprTests)
        {
            List<(Labels L, double V)> gotSamples;
            try
            {
                var v = engine.Instant(store, tc.Expr, (long)tc.EvalTime.TotalMilliseconds, ct).Value;
                gotSamples = [.. RuleResults.AsVector(v).Select(s => (s.Labels, s.V))];
            }
            catch (Exception ex) when (ex is ParseException or QueryException)
            {
                errors.Add($"    expr: {Quote(tc.Expr)}, time: {PromDuration.Format(tc.EvalTime)}, err: {ex.Message}");
                continue;
            }
            var expSamples = new List<(Labels L, double V)>();
            string? bad = null;
            foreach (var (labels, value) in tc.ExpSamples)
            {
                try
                {
                    expSamples.Add((ParseMetric(labels), value));
                }
                catch (ParseException ex)
                {
                    bad = $"    expr: {Quote(tc.Expr)}, time: {PromDuration.Format(tc.EvalTime)}, err: labels {Quote(labels)}: {ex.Message}";
                    break;
                }
            }
            if (bad is not null)
            {
                errors.Add(bad);
                continue;
            }
            expSamples.Sort((a, b) => a.L.CompareTo(b.L));
            gotSamples.Sort((a, b) => a.L.CompareTo(b.L));
            var equal = expSamples.Count == gotSamples.Count
                && expSamples.Zip(gotSamples).All(p => p.First.L == p.Second.L && p.First.V.Equals(p.Second.V) && !double.IsNaN(p.First.V));
            if (!equal)
                errors.Add($"    expr: {Quote(tc.Expr)}, time: {PromDuration.Format(tc.EvalTime)},\n        exp: {SamplesString(expSamples)}\n        got: {SamplesString(gotSamples)}");
        }
        return errors;
    }

    /// <summary>Loads the input series: values at 0, interval, 2*interval, ... in the expanding notation.</summary>
    private static void Load(MemoryStore store, RuleTestGroup tg)
    {
        var app = store.Appender();
        var step = (long)tg.Interval.TotalMilliseconds;
        foreach (var (series, values) in tg.InputSeries)
        {
            Labels labels;
            try
            {
                labels = ParseMetric(series);
            }
            catch (ParseException ex)
            {
                throw new FormatException($"load command failed: series {Quote(series)}: {ex.Message}");
            }
            long i = 0;
            foreach (var v in ExpandValues(values))
            {
                if (v is { } x) app.Append(labels, i * step, x);
                i++;
            }
        }
        app.Commit();
    }

    [GeneratedRegex(@"^(?<a>[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan))(?:(?<op>[+-])(?<b>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf))?(?:x(?<n>\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ValueToken();

    /// <summary>
    /// The expanding notation: <c>a</c>, <c>a+bxn</c> / <c>a-bxn</c> (a then n more values stepping by b), <c>axn</c>
    /// (n+1 times a), <c>_</c> (missing), <c>_xn</c> (n missing), <c>stale</c> (a stale marker). Null is a missing value.
    /// </summary>
    public static List<double?> ExpandValues(string values)
    {
        var result = new List<double?>();
        foreach (var tok in values.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (tok == "_") { result.Add(null); continue; }
            if (tok == "stale") { result.Add(StaleNaN.Value); continue; }
            if (tok.StartsWith("_x", StringComparison.Ordinal) && int.TryParse(tok[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var blanks))
            {
                for (var j = 0; j < blanks; j++) result.Add(null);
                continue;
            }
            var m = ValueToken().Match(tok);
            if (!m.Success || (m.Groups["op"].Success && !m.Groups["n"].Success))
                throw new FormatException($"load command failed: invalid value \"{tok}\" in series values \"{values}\"");
            var a = Num(m.Groups["a"].Value);
            if (!m.Groups["n"].Success)
            {
                result.Add(a);
                continue;
            }
            var n = long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
            if (n > 1_000_000) throw new FormatException($"load command failed: \"{tok}\" expands to too many values");
            var b = m.Groups["op"].Success ? Num(m.Groups["b"].Value) * (m.Groups["op"].Value == "-" ? -1 : 1) : 0;
            var k = a;
            for (var j = 0; j <= n; j++)
            {
                result.Add(k);
                k += b;
            }
        }
        return result;
    }

    private static double Num(string s) => s switch
    {
        "Inf" or "inf" or "+Inf" or "+inf" => double.PositiveInfinity,
        "-Inf" or "-inf" => double.NegativeInfinity,
        "NaN" or "nan" or "+NaN" or "-NaN" => double.NaN,
        _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>A metric in PromQL notation (<c>name{a="b"}</c>, <c>{__name__="x"}</c>, <c>{}</c>) as a label set.</summary>
    public static Labels ParseMetric(string s)
    {
        var t = s.Trim();
        if (t == "{}") return Labels.Empty;
        var sel = PromQL.Parser.ParseSelector(t);
        var pairs = new List<Label>();
        foreach (var m in sel.Matchers)
        {
            if (m.Type != MatchOp.Equal) throw new ParseException(0, "expected label matching operator \"=\" in a metric");
            pairs.Add(new Label(m.Name, m.Value));
        }
        return Labels.From(pairs);
    }

    private static void Sort(List<(Labels L, Labels A)> list) =>
        list.Sort((x, y) => x.L.CompareTo(y.L) is var c && c != 0 ? c : x.A.CompareTo(y.A));

    private static string AlertsString(List<(Labels L, Labels A)> alerts)
    {
        if (alerts.Count == 0) return "[]";
        var sb = new StringBuilder("[\n0:").Append(Indent("\n" + AlertString(alerts[0]), "  "));
        for (var i = 1; i < alerts.Count; i++) sb.Append(",\n").Append(i.ToString(CultureInfo.InvariantCulture)).Append(':').Append(Indent("\n" + AlertString(alerts[i]), "  "));
        return sb.Append("\n]").ToString();
    }

    private static string AlertString((Labels L, Labels A) a) => "Labels:" + GoLabels(a.L) + "\nAnnotations:" + GoLabels(a.A);

    private static string Indent(string lines, string indentation) => string.Join("\n" + indentation, lines.Split('\n'));

    private static string SamplesString(List<(Labels L, double V)> samples) =>
        samples.Count == 0 ? "nil" : string.Join(",\n              ", samples.Select(s => GoLabels(s.L) + " " + AlertingRule.FormatValue(s.V).ToUpperInvariant().Replace("INF", "Inf", StringComparison.Ordinal).Replace("NAN", "NaN", StringComparison.Ordinal)));

    /// <summary>Go's labels.Labels.String(): every label, the name too, inside braces.</summary>
    public static string GoLabels(Labels l) =>
        "{" + string.Join(", ", l.Select(x => x.Name + "=" + Quote(x.Value))) + "}";

    private static string Quote(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    /// <summary>Go's time.Duration.String(): <c>0s</c>, <c>1m0s</c>, <c>1h30m0s</c>, <c>1.5s</c>, <c>500ms</c>.</summary>
    public static string GoDuration(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        var neg = d < TimeSpan.Zero;
        if (neg) d = -d;
        string r;
        if (d < TimeSpan.FromSeconds(1)) r = d.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        else
        {
            var h = (long)d.TotalHours;
            var m = d.Minutes;
            var s = (d - TimeSpan.FromHours(h) - TimeSpan.FromMinutes(m)).TotalSeconds;
            var sec = s.ToString("0.#########", CultureInfo.InvariantCulture) + "s";
            r = h > 0 ? $"{h}h{m}m{sec}" : m > 0 ? $"{m}m{sec}" : sec;
        }
        return neg ? "-" + r : r;
    }

    private static List<string> Glob(string pattern)
    {
        if (pattern.IndexOfAny(['*', '?', '[']) < 0) return File.Exists(pattern) ? [pattern] : [];
        var dir = Path.GetDirectoryName(pattern) ?? ".";
        if (!Directory.Exists(dir)) return [];
        var re = new Regex("^" + Regex.Escape(Path.GetFileName(pattern)).Replace("\\*", "[^/]*", StringComparison.Ordinal).Replace("\\?", "[^/]", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return [.. Directory.EnumerateFiles(dir).Where(f => re.IsMatch(Path.GetFileName(f))).Order(StringComparer.Ordinal)];
    }
}
