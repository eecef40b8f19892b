using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Relabel;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// Reads Prometheus rule files and validates them as promtool does: the YAML shape (unknown fields, durations), then
/// every group and rule (group names present and unique, one of <c>alert</c>/<c>record</c>, expressions parse, valid
/// recording rule and label names, no <c>for</c>/<c>annotations</c> on recording rules, templates parse). All
/// validation problems are reported at once, each naming file, line and rule in promtool's words.
/// </summary>
public static class RuleFileParser
{
    private static readonly string[] FileKeys = ["groups"];
    private static readonly string[] GroupKeys = ["name", "interval", "query_offset", "limit", "labels", "rules"];
    private static readonly string[] RuleKeys = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];

    /// <summary>Reads and parses one file; throws <see cref="RuleFileException"/> listing its problems.</summary>
    public static RuleFileDef ParseFile(string path, IRuleTemplateEngine? templates = null, RuleFileLimits? limits = null)
    {
        limits ??= RuleFileLimits.Default;
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw Fail(path, "no such file or directory");
            if (info.Length > limits.MaxFileBytes) throw Fail(path, $"file is larger than the limit of {limits.MaxFileBytes} bytes");
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Fail(path, ex.Message);
        }
        return Parse(text, path, templates, limits);
    }

    public static RuleFileDef Parse(string text, string file, IRuleTemplateEngine? templates = null, RuleFileLimits? limits = null)
    {
        limits ??= RuleFileLimits.Default;
        if (text.Length > limits.MaxFileBytes) throw Fail(file, $"file is larger than the limit of {limits.MaxFileBytes} bytes");
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
        }
        catch (YamlException ex)
        {
            var msg = ex.InnerException?.Message ?? ex.Message;
            var cut = msg.LastIndexOf("): ", StringComparison.Ordinal);
            throw Fail(file, $"yaml: line {ex.Start.Line}: {(cut >= 0 ? msg[(cut + 3)..] : msg)}");
        }
        if (root is null || IsNull(root)) return new RuleFileDef(file, []);

        // Stage 1: the shape, as Go's strict YAML unmarshal checks it (unknown fields are listed together).
        var shape = new List<string>();
        if (root is not YamlMappingNode rootMap) throw Fail(file, $"yaml: unmarshal errors:\n  line {root.Start.Line}: cannot unmarshal {Tag(root)} into rulefmt.RuleGroups");
        YamlSequenceNode? groupsNode = null;
        foreach (var (k, v) in rootMap.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (key == "groups")
            {
                if (IsNull(v)) continue;
                if (v is not YamlSequenceNode s) { shape.Add($"line {v.Start.Line}: cannot unmarshal {Tag(v)} into []rulefmt.RuleGroup"); continue; }
                groupsNode = s;
            }
            else if (Array.IndexOf(FileKeys, key) < 0) shape.Add($"line {k.Start.Line}: field {key} not found in type rulefmt.RuleGroups");
        }
        var raw = new List<RawGroup>();
        if (groupsNode is not null)
        {
            if (groupsNode.Children.Count > limits.MaxGroupsPerFile) throw Fail(file, $"more than {limits.MaxGroupsPerFile} groups");
            foreach (var g in groupsNode.Children) raw.Add(ReadGroup(g, file, shape, limits));
        }
        if (shape.Count > 0) throw Fail(file, "yaml: unmarshal errors:\n  " + string.Join("\n  ", shape));

        // Stage 2: validation, every problem reported.
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<RuleGroupDef>();
        foreach (var g in raw)
        {
            if (g.Name.Value.Length == 0) errors.Add($"{Pos(g.Name.Node)}: Groupname must not be empty");
            else if (!names.Add(g.Name.Value)) errors.Add($"{Pos(g.Name.Node)}: groupname: \"{g.Name.Value}\" is repeated in the same file");
            var rules = new List<RuleDef>();
            for (var i = 0; i < g.Rules.Count; i++)
            {
                var r = g.Rules[i];
                var def = ValidateRule(r, g.Name.Value, i + 1, templates, errors);
                if (def is not null) rules.Add(def);
            }
            groups.Add(new RuleGroupDef(g.Name.Value, file, g.Interval, g.Limit, g.QueryOffset, g.Labels, rules, g.Line));
        }
        if (errors.Count > 0) throw new RuleFileException([.. errors.Select(e => new RuleFileError(file, e))]);
        return new RuleFileDef(file, groups);
    }

    private static RuleDef? ValidateRule(RawRule r, string group, int index, IRuleTemplateEngine? templates, List<string> errors)
    {
        var name = r.Alert.Value.Length > 0 ? r.Alert.Value : r.Record.Value;
        void Add(string? at, string problem) =>
            errors.Add((at is null ? "" : at + ": ") + $"group \"{group}\", rule {index}, \"{name}\": {problem}");
        var before = errors.Count;
        if (r.Record.Value.Length > 0 && r.Alert.Value.Length > 0)
            Add($"{Pos(r.Record.Node)}: {Pos(r.Alert.Node)}", "only one of 'record' and 'alert' must be set");
        if (r.Record.Value.Length == 0 && r.Alert.Value.Length == 0)
            Add(Pos(r.Record.Node), "one of 'record' or 'alert' must be set");
        Expr? parsed = null;
        if (r.Expr.Value.Length == 0) Add(Pos(r.Expr.Node), "field 'expr' must be set in rule");
        else
        {
            try
            {
                parsed = PromQL.Parser.Parse(r.Expr.Value);
            }
            catch (ParseException ex)
            {
                Add(Pos(r.Expr.Node), "could not parse expression: " + ParseMessage(r.Expr.Value, ex));
            }
        }
        if (r.Record.Value.Length > 0)
        {
            if (r.Annotations.Count > 0) Add(Pos(r.Record.Node), "invalid field 'annotations' in recording rule");
            if (r.For != TimeSpan.Zero) Add(Pos(r.Record.Node), "invalid field 'for' in recording rule");
            if (r.KeepFiringFor != TimeSpan.Zero) Add(Pos(r.Record.Node), "invalid field 'keep_firing_for' in recording rule");
            if (!LabelNames.IsValidMetricName(r.Record.Value)) Add(Pos(r.Record.Node), "invalid recording rule name: " + r.Record.Value);
        }
        foreach (var (k, _) in r.Labels)
            if (!LabelNames.IsValid(k) || k == Labels.MetricName) Add(null, "invalid label name: " + k);
        foreach (var (k, _) in r.Annotations)
            if (!LabelNames.IsValid(k)) Add(null, "invalid annotation name: " + k);
        if (r.Alert.Value.Length > 0 && templates is not null)
        {
            foreach (var (k, v) in r.Labels)
                if (RuleTemplating.Check(templates, r.Alert.Value, v) is { } e) Add(null, $"label \"{k}\": {e}");
            foreach (var (k, v) in r.Annotations)
                if (RuleTemplating.Check(templates, r.Alert.Value, v) is { } e) Add(null, $"annotation \"{k}\": {e}");
        }
        if (errors.Count > before || parsed is null) return null;
        return new RuleDef(r.Alert.Value.Length > 0 ? r.Alert.Value : null, r.Record.Value.Length > 0 ? r.Record.Value : null,
            r.Expr.Value, parsed, r.For, r.KeepFiringFor, r.Labels, r.Annotations, r.Line);
    }

    /// <summary>A PromQL parse error as Prometheus prints it: <c>LINE:COL: parse error: DETAIL</c>.</summary>
    public static string ParseMessage(string query, ParseException ex)
    {
        var pos = Math.Clamp(ex.Position, 0, query.Length);
        int line = 1, lastBreak = -1;
        for (var i = 0; i < pos; i++)
        {
            if (query[i] == '\n')
            {
                line++;
                lastBreak = i;
            }
        }
        return $"{line}:{pos - lastBreak}: parse error: {ex.Detail}";
    }

    private sealed record Str(string Value, YamlNode? Node);

    private sealed record RawGroup(Str Name, TimeSpan? Interval, TimeSpan? QueryOffset, int Limit, IReadOnlyList<KeyValuePair<string, string>> Labels,
        List<RawRule> Rules, int Line);

    private sealed record RawRule(Str Record, Str Alert, Str Expr, TimeSpan For, TimeSpan KeepFiringFor,
        IReadOnlyList<KeyValuePair<string, string>> Labels, IReadOnlyList<KeyValuePair<string, string>> Annotations, int Line);

    private static RawGroup ReadGroup(YamlNode node, string file, List<string> shape, RuleFileLimits limits)
    {
        var name = new Str("", node);
        TimeSpan? interval = null, offset = null;
        var limit = 0;
        IReadOnlyList<KeyValuePair<string, string>> labels = [];
        var rules = new List<RawRule>();
        if (node is not YamlMappingNode map)
        {
            shape.Add($"line {node.Start.Line}: cannot unmarshal {Tag(node)} into rulefmt.RuleGroup");
            return new RawGroup(name, null, null, 0, labels, rules, (int)node.Start.Line);
        }
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "name": name = new Str(Scalar(v, "string", shape) ?? "", map); break;
                case "interval": interval = Duration(v, file); break;
                case "query_offset": offset = Duration(v, file); break;
                case "limit":
                    var s = Scalar(v, "int", shape);
                    if (s is not null && !int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
                        shape.Add($"line {v.Start.Line}: cannot unmarshal !!str `{s}` into int");
                    break;
                case "labels": labels = StringMap(v, shape); break;
                case "rules":
                    if (IsNull(v)) break;
                    if (v is not YamlSequenceNode seq) { shape.Add($"line {v.Start.Line}: cannot unmarshal {Tag(v)} into []rulefmt.RuleNode"); break; }
                    if (seq.Children.Count > limits.MaxRulesPerGroup) throw Fail(file, $"group at line {node.Start.Line} has more than {limits.MaxRulesPerGroup} rules");
                    foreach (var r in seq.Children) rules.Add(ReadRule(r, file, shape));
                    break;
                default:
                    shape.Add($"line {k.Start.Line}: field {key} not found in type rulefmt.RuleGroup");
                    break;
            }
        }
        return new RawGroup(name, interval, offset, limit, labels, rules, (int)node.Start.Line);
    }

    private static RawRule ReadRule(YamlNode node, string file, List<string> shape)
    {
        Str record = new("", null), alert = new("", null), expr = new("", null);
        TimeSpan forD = TimeSpan.Zero, keep = TimeSpan.Zero;
        IReadOnlyList<KeyValuePair<string, string>> labels = [], annotations = [];
        if (node is not YamlMappingNode map)
        {
            shape.Add($"line {node.Start.Line}: cannot unmarshal {Tag(node)} into rulefmt.RuleNode");
            return new RawRule(record, alert, expr, forD, keep, labels, annotations, (int)node.Start.Line);
        }
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "record": record = new Str(Scalar(v, "string", shape) ?? "", v); break;
                case "alert": alert = new Str(Scalar(v, "string", shape) ?? "", v); break;
                case "expr": expr = new Str(Scalar(v, "string", shape) ?? "", v); break;
                case "for": forD = Duration(v, file) ?? TimeSpan.Zero; break;
                case "keep_firing_for": keep = Duration(v, file) ?? TimeSpan.Zero; break;
                case "labels": labels = StringMap(v, shape); break;
                case "annotations": annotations = StringMap(v, shape); break;
                default:
                    shape.Add($"line {k.Start.Line}: field {key} not found in type rulefmt.RuleNode");
                    break;
            }
        }
        return new RawRule(record, alert, expr, forD, keep, labels, annotations, (int)node.Start.Line);
    }

    private static TimeSpan? Duration(YamlNode v, string file)
    {
        if (IsNull(v)) return null;
        var s = (v as YamlScalarNode)?.Value ?? "";
        return PromDuration.TryParse(s, out var d, out _) ? d : throw Fail(file, $"not a valid duration string: \"{s}\"");
    }

    private static string? Scalar(YamlNode v, string type, List<string> shape)
    {
        if (IsNull(v)) return null;
        if (v is YamlScalarNode s) return s.Value ?? "";
        shape.Add($"line {v.Start.Line}: cannot unmarshal {Tag(v)} into {type}");
        return null;
    }

    private static List<KeyValuePair<string, string>> StringMap(YamlNode v, List<string> shape)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (IsNull(v)) return list;
        if (v is not YamlMappingNode m)
        {
            shape.Add($"line {v.Start.Line}: cannot unmarshal {Tag(v)} into map[string]string");
            return list;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, val) in m.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!seen.Add(key))
            {
                shape.Add($"line {k.Start.Line}: mapping key \"{key}\" already defined");
                continue;
            }
            list.Add(new(key, Scalar(val, "string", shape) ?? ""));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    private static string Pos(YamlNode? n) => n is null ? "0:0" : $"{n.Start.Line}:{n.Start.Column}";

    private static string Tag(YamlNode n) => n switch
    {
        YamlMappingNode => "!!map",
        YamlSequenceNode => "!!seq",
        YamlScalarNode s => $"!!str `{s.Value}`",
        _ => "value",
    };

    private static bool IsNull(YamlNode n) =>
        n is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static RuleFileException Fail(string file, string message) => new([new RuleFileError(file, message)]);
}
