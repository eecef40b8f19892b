using System.Globalization;
using Watchkeeper.Metrics.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Metrics.Rules;

/// <summary>promtool's rule unit-test file: <c>rule_files</c>, <c>evaluation_interval</c>, <c>group_eval_order</c>, <c>tests</c>.</summary>
public sealed record RuleTestFile(IReadOnlyList<string> RuleFiles, TimeSpan EvaluationInterval, IReadOnlyList<string> GroupEvalOrder, IReadOnlyList<RuleTestGroup> Tests);

public sealed record RuleTestGroup(string Name, TimeSpan Interval, IReadOnlyList<(string Series, string Values)> InputSeries,
    IReadOnlyList<AlertTestCase> AlertRuleTests, IReadOnlyList<ExprTestCase> PromqlExprTests, Labels ExternalLabels, string ExternalUrl);

public sealed record AlertTestCase(TimeSpan EvalTime, string Alertname, IReadOnlyList<(Labels Labels, Labels Annotations)> ExpAlerts);

public sealed record ExprTestCase(string Expr, TimeSpan EvalTime, IReadOnlyList<(string Labels, double Value)> ExpSamples);

/// <summary>Reads unit-test files strictly (unknown fields are errors, as promtool's strict YAML).</summary>
public static class RuleTestFileParser
{
    public static RuleTestFile Parse(string text)
    {
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
        }
        catch (YamlException ex)
        {
            throw new FormatException($"yaml: line {ex.Start.Line}: {ex.InnerException?.Message ?? ex.Message}");
        }
        var errors = new List<string>();
        List<string> files = [], order = [];
        var interval = TimeSpan.Zero;
        var tests = new List<RuleTestGroup>();
        foreach (var (k, v) in Map(root, "main.unitTestFile", errors))
        {
            switch (k.Value)
            {
                case "rule_files": files = Strings(v, errors); break;
                case "evaluation_interval": interval = Duration(v); break;
                case "group_eval_order": order = Strings(v, errors); break;
                case "tests":
                    if (v is YamlSequenceNode seq) foreach (var t in seq.Children) tests.Add(Group(t, errors));
                    break;
                default: errors.Add($"line {k.Start.Line}: field {k.Value} not found in type main.unitTestFile"); break;
            }
        }
        if (errors.Count > 0) throw new FormatException("yaml: unmarshal errors:\n  " + string.Join("\n  ", errors));
        return new RuleTestFile(files, interval, order, tests);
    }

    private static RuleTestGroup Group(YamlNode node, List<string> errors)
    {
        var name = "";
        var interval = TimeSpan.Zero;
        var input = new List<(string, string)>();
        var alerts = new List<AlertTestCase>();
        var exprs = new List<ExprTestCase>();
        var external = Labels.Empty;
        var url = "";
        foreach (var (k, v) in Map(node, "main.testGroup", errors))
        {
            switch (k.Value)
            {
                case "name": name = Str(v); break;
                case "interval": interval = Duration(v); break;
                case "external_url": url = Str(v); break;
                case "external_labels": external = Labels.From(Map(v, "labels.Labels", errors).Select(p => new Label(p.Key.Value ?? "", Str(p.Value)))); break;
                case "input_series":
                    foreach (var s in Items(v))
                    {
                        string series = "", values = "";
                        foreach (var (sk, sv) in Map(s, "main.series", errors))
                        {
                            if (sk.Value == "series") series = Str(sv);
                            else if (sk.Value == "values") values = Str(sv);
                            else errors.Add($"line {sk.Start.Line}: field {sk.Value} not found in type main.series");
                        }
                        input.Add((series, values));
                    }
                    break;
                case "alert_rule_test":
                    foreach (var a in Items(v))
                    {
                        var evalTime = TimeSpan.Zero;
                        var alertname = "";
                        var exp = new List<(Labels, Labels)>();
                        foreach (var (ak, av) in Map(a, "main.alertTestCase", errors))
                        {
                            switch (ak.Value)
                            {
                                case "eval_time": evalTime = Duration(av); break;
                                case "alertname": alertname = Str(av); break;
                                case "exp_alerts":
                                    foreach (var e in Items(av))
                                    {
                                        Labels l = Labels.Empty, ann = Labels.Empty;
                                        foreach (var (ek, ev) in Map(e, "main.alert", errors))
                                        {
                                            if (ek.Value == "exp_labels") l = StrMap(ev, errors);
                                            else if (ek.Value == "exp_annotations") ann = StrMap(ev, errors);
                                            else errors.Add($"line {ek.Start.Line}: field {ek.Value} not found in type main.alert");
                                        }
                                        exp.Add((l, ann));
                                    }
                                    break;
                                default: errors.Add($"line {ak.Start.Line}: field {ak.Value} not found in type main.alertTestCase"); break;
                            }
                        }
                        alerts.Add(new AlertTestCase(evalTime, alertname, exp));
                    }
                    break;
                case "promql_expr_test":
                    foreach (var p in Items(v))
                    {
                        string expr = "";
                        var evalTime = TimeSpan.Zero;
                        var samples = new List<(string, double)>();
                        foreach (var (pk, pv) in Map(p, "main.promqlTestCase", errors))
                        {
                            switch (pk.Value)
                            {
                                case "expr": expr = Str(pv); break;
                                case "eval_time": evalTime = Duration(pv); break;
                                case "exp_samples":
                                    foreach (var s in Items(pv))
                                    {
                                        string labels = "";
                                        double value = 0;
                                        foreach (var (sk, sv) in Map(s, "main.sample", errors))
                                        {
                                            if (sk.Value == "labels") labels = Str(sv);
                                            else if (sk.Value == "value") value = Number(Str(sv), sv);
                                            else errors.Add($"line {sk.Start.Line}: field {sk.Value} not found in type main.sample");
                                        }
                                        samples.Add((labels, value));
                                    }
                                    break;
                                default: errors.Add($"line {pk.Start.Line}: field {pk.Value} not found in type main.promqlTestCase"); break;
                            }
                        }
                        exprs.Add(new ExprTestCase(expr, evalTime, samples));
                    }
                    break;
                default: errors.Add($"line {k.Start.Line}: field {k.Value} not found in type main.testGroup"); break;
            }
        }
        return new RuleTestGroup(name, interval, input, alerts, exprs, external, url);
    }

    private static IEnumerable<(YamlScalarNode Key, YamlNode Value)> Map(YamlNode? node, string type, List<string> errors)
    {
        if (node is null || IsNull(node)) yield break;
        if (node is not YamlMappingNode m)
        {
            errors.Add($"line {node.Start.Line}: cannot unmarshal into {type}");
            yield break;
        }
        foreach (var (k, v) in m.Children) yield return ((k as YamlScalarNode) ?? new YamlScalarNode(""), v);
    }

    private static IEnumerable<YamlNode> Items(YamlNode v) => v is YamlSequenceNode s ? s.Children : [];

    private static List<string> Strings(YamlNode v, List<string> errors) => [.. Items(v).Select(Str)];

    private static Labels StrMap(YamlNode v, List<string> errors) =>
        Labels.From(Map(v, "map[string]string", errors).Select(p => new Label(p.Key.Value ?? "", Str(p.Value))));

    private static string Str(YamlNode v) => v is YamlScalarNode s && !IsNull(v) ? s.Value ?? "" : "";

    private static TimeSpan Duration(YamlNode v)
    {
        var s = Str(v);
        if (s.Length == 0) return TimeSpan.Zero;
        return PromDuration.TryParse(s, out var d, out _) ? d : throw new FormatException($"not a valid duration string: \"{s}\"");
    }

    private static double Number(string s, YamlNode node) =>
        s switch
        {
            ".inf" or ".Inf" or "+.inf" => double.PositiveInfinity,
            "-.inf" or "-.Inf" => double.NegativeInfinity,
            ".nan" or ".NaN" => double.NaN,
            _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? d
                : throw new FormatException($"yaml: unmarshal errors:\n  line {node.Start.Line}: cannot unmarshal !!str `{s}` into float64"),
        };

    private static bool IsNull(YamlNode n) =>
        n is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && s.Value is null or "" or "~" or "null";
}
