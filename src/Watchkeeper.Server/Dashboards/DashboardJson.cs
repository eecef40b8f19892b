using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Watchkeeper.Server.Dashboards;

/// <summary>An import refused: the JSON path of the field at fault (<c>panels[3].gridPos.w</c>) and why.</summary>
public sealed class DashboardJsonException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
    public string Problem { get; } = message;
}

/// <summary>Limits on one dashboard (config <c>dashboards.limits</c>).</summary>
public sealed record DashboardLimits(int MaxJsonBytes = 2 * 1024 * 1024, int MaxPanels = 500, int MaxTargetsPerPanel = 26,
    int MaxVariables = 50, int MaxExprLength = 16 * 1024, int MaxVariableOptions = 1000);

/// <summary>
/// Reads Grafana dashboard JSON (the model Grafana exports, or its import envelope <c>{"dashboard": {...}}</c>) into
/// <see cref="Dashboard"/>, checking types and limits; an error names the field. Also the older models Grafana still
/// imports: <c>rows[].panels</c> with <c>span</c>, the <c>graph</c>/<c>singlestat</c> panels' <c>yaxes</c>/<c>format</c>.
/// </summary>
public static class DashboardJson
{
    public const int GridColumns = 24;
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Parses the text and returns the dashboard object (the envelope removed) with what it renders.</summary>
    public static (JsonObject Json, Dashboard Model) Parse(string text, DashboardLimits limits)
    {
        if (Encoding.UTF8.GetByteCount(text) > limits.MaxJsonBytes)
            throw new DashboardJsonException("dashboard", $"the JSON is larger than {limits.MaxJsonBytes} bytes (dashboards.limits.max_json_bytes)");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, NodeOptions, DocOptions);
        }
        catch (JsonException e)
        {
            throw new DashboardJsonException("dashboard", $"not valid JSON: {e.Message}");
        }
        if (root is not JsonObject obj) throw new DashboardJsonException("dashboard", "expected a JSON object (a Grafana dashboard model)");
        if (obj["dashboard"] is JsonObject inner && obj["panels"] is null) obj = (JsonObject)inner.DeepClone();
        return (obj, Read(obj, limits));
    }

    /// <summary>Reads an already parsed dashboard object.</summary>
    public static Dashboard Read(JsonObject d, DashboardLimits limits)
    {
        var title = Str(d, "title", "title").Trim();
        if (title.Length == 0) throw new DashboardJsonException("title", "required: a dashboard needs a title");
        if (title.Length > 200) throw new DashboardJsonException("title", "longer than 200 characters");
        var uid = Str(d, "uid", "uid");
        if (uid.Length > 0 && !ValidUid(uid)) throw new DashboardJsonException("uid", "use 1-40 letters, digits, '-' or '_'");
        var tags = new List<string>();
        if (d["tags"] is JsonArray ta)
            for (var i = 0; i < ta.Count; i++)
                tags.Add(ta[i] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new DashboardJsonException($"tags[{i}]", "expected a string"));
        else if (d["tags"] is not null) throw new DashboardJsonException("tags", "expected an array of strings");
        var time = d["time"] as JsonObject;
        var refresh = d["refresh"] is JsonValue rv && rv.TryGetValue<string>(out var r) ? r : "";

        var variables = new List<Variable>();
        if (d["templating"]?["list"] is JsonArray vars)
        {
            if (vars.Count > limits.MaxVariables) throw new DashboardJsonException("templating.list", $"more than {limits.MaxVariables} variables");
            for (var i = 0; i < vars.Count; i++) variables.Add(ReadVariable(vars[i] as JsonObject ?? throw new DashboardJsonException($"templating.list[{i}]", "expected an object"), $"templating.list[{i}]", limits));
        }

        var panels = new List<Panel>();
        var count = 0;
        if (d["panels"] is JsonArray pa)
        {
            for (var i = 0; i < pa.Count; i++)
                panels.Add(ReadPanel(pa[i] as JsonObject ?? throw new DashboardJsonException($"panels[{i}]", "expected an object"), $"panels[{i}]", limits, ref count, nested: false));
        }
        else if (d["panels"] is not null) throw new DashboardJsonException("panels", "expected an array of panels");
        else if (d["rows"] is JsonArray rows) panels.AddRange(ReadLegacyRows(rows, limits, ref count));
        return new Dashboard(uid, title, Str(d, "description", "description"), tags, Str(time, "from", "time.from", "now-6h"), Str(time, "to", "time.to", "now"),
            refresh, Str(d, "timezone", "timezone"), variables, panels);
    }

    /// <summary>The dashboard as stored and exported: our uid, title and version, no numeric id (it is per Grafana instance).</summary>
    public static JsonObject Normalize(JsonObject d, string uid, int version)
    {
        d.Remove("id");
        d["uid"] = uid;
        d["version"] = version;
        return d;
    }

    public static bool ValidUid(string uid) => uid.Length is > 0 and <= 40 && uid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>A new uid: 12 random URL-safe characters, as Grafana makes short ones.</summary>
    public static string NewUid()
    {
        const string chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return string.Create(12, 0, (span, _) => { for (var i = 0; i < span.Length; i++) span[i] = chars[RandomNumberGenerator.GetInt32(chars.Length)]; });
    }

    public static string ToText(JsonNode node, bool indented = true) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

    private static Variable ReadVariable(JsonObject v, string at, DashboardLimits limits)
    {
        var name = Str(v, "name", at + ".name");
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new DashboardJsonException(at + ".name", "required: letters, digits and '_'");
        var type = Str(v, "type", at + ".type", "query");
        var query = v["query"] switch
        {
            JsonValue q when q.TryGetValue<string>(out var s) => s,
            JsonObject o => o["query"] is JsonValue qq && qq.TryGetValue<string>(out var s2) ? s2 : "",
            null => "",
            _ => throw new DashboardJsonException(at + ".query", "expected a string"),
        };
        if (query.Length > limits.MaxExprLength) throw new DashboardJsonException(at + ".query", $"longer than {limits.MaxExprLength} characters");
        var current = new List<string>();
        if (v["current"] is JsonObject cur)
        {
            switch (cur["value"])
            {
                case JsonArray arr: foreach (var x in arr) if (x is JsonValue xv && xv.TryGetValue<string>(out var s)) current.Add(s); break;
                case JsonValue one when one.TryGetValue<string>(out var s): current.Add(s); break;
            }
        }
        var options = new List<string>();
        if (v["options"] is JsonArray opts)
        {
            foreach (var o in opts.Take(limits.MaxVariableOptions))
                if (o?["value"] is JsonValue ov && ov.TryGetValue<string>(out var s) && s != Variable.All) options.Add(s);
        }
        var hide = v["hide"] is JsonValue h && h.TryGetValue<int>(out var hv) ? hv : 0;
        string? allValue = v["allValue"] is JsonValue av && av.TryGetValue<string>(out var a) && a.Length > 0 ? a : null;
        return new Variable(name, Str(v, "label", at + ".label"), type, query, Str(v, "regex", at + ".regex"), Bool(v, "multi"), Bool(v, "includeAll"),
            allValue, current, options, hide == 2, Bool(v, "auto"));
    }

    private static Panel ReadPanel(JsonObject p, string at, DashboardLimits limits, ref int count, bool nested)
    {
        if (++count > limits.MaxPanels) throw new DashboardJsonException(at, $"more than {limits.MaxPanels} panels (dashboards.limits.max_panels)");
        var type = Str(p, "type", at + ".type");
        if (type.Length == 0) throw new DashboardJsonException(at + ".type", "required: the panel type (timeseries, stat, gauge, ...)");
        var id = p["id"] is JsonValue iv && iv.TryGetValue<int>(out var idv) ? idv : count;
        var pos = ReadGridPos(p["gridPos"], at + ".gridPos", type == "row");

        var targets = new List<Target>();
        if (p["targets"] is JsonArray ta)
        {
            if (ta.Count > limits.MaxTargetsPerPanel) throw new DashboardJsonException(at + ".targets", $"more than {limits.MaxTargetsPerPanel} queries in one panel");
            for (var i = 0; i < ta.Count; i++)
            {
                var t = ta[i] as JsonObject ?? throw new DashboardJsonException($"{at}.targets[{i}]", "expected an object");
                var expr = Str(t, "expr", $"{at}.targets[{i}].expr");
                if (expr.Length > limits.MaxExprLength) throw new DashboardJsonException($"{at}.targets[{i}].expr", $"longer than {limits.MaxExprLength} characters");
                targets.Add(new Target(Str(t, "refId", $"{at}.targets[{i}].refId", ((char)('A' + Math.Min(i, 25))).ToString()), expr,
                    Str(t, "legendFormat", $"{at}.targets[{i}].legendFormat"), Bool(t, "instant"), Str(t, "interval", $"{at}.targets[{i}].interval"),
                    Str(t, "format", $"{at}.targets[{i}].format"), Bool(t, "hide")));
            }
        }
        else if (p["targets"] is not null) throw new DashboardJsonException(at + ".targets", "expected an array of queries");

        var options = p["options"] as JsonObject;
        var field = ReadFieldConfig(p, at);
        var legend = ReadLegend(p, options);
        var reduce = (options?["reduceOptions"]?["calcs"] as JsonArray)?.FirstOrDefault() is JsonValue rc && rc.TryGetValue<string>(out var rcs) ? rcs
            : p["valueName"] is JsonValue vn && vn.TryGetValue<string>(out var vns) ? LegacyCalc(vns) : "lastNotNull";
        var content = options?["content"] is JsonValue cv && cv.TryGetValue<string>(out var cs) ? cs : Str(p, "content", at + ".content");
        var mode = options?["mode"] is JsonValue mv && mv.TryGetValue<string>(out var ms) ? ms : Str(p, "mode", at + ".mode", "markdown");
        if (content.Length > limits.MaxExprLength * 4) throw new DashboardJsonException(at + ".options.content", $"longer than {limits.MaxExprLength * 4} characters");
        int? maxPoints = p["maxDataPoints"] is JsonValue mp && mp.TryGetValue<double>(out var mpv) && mpv >= 1 ? (int)Math.Min(mpv, 11_000) : null;
        var orientation = options?["orientation"] is JsonValue ov && ov.TryGetValue<string>(out var os) ? os : "auto";

        var children = new List<Panel>();
        if (type == "row" && p["panels"] is JsonArray rp)
        {
            if (nested) throw new DashboardJsonException(at + ".panels", "a row inside a row");
            for (var i = 0; i < rp.Count; i++)
                children.Add(ReadPanel(rp[i] as JsonObject ?? throw new DashboardJsonException($"{at}.panels[{i}]", "expected an object"), $"{at}.panels[{i}]", limits, ref count, nested: true));
        }
        return new Panel(id, type, Str(p, "title", at + ".title"), Str(p, "description", at + ".description"), pos, targets, field, legend, reduce,
            content, mode, Str(p, "interval", at + ".interval"), maxPoints, orientation, Bool(p, "collapsed"), children);
    }

    private static GridPos ReadGridPos(JsonNode? node, string at, bool row)
    {
        if (node is null) return new GridPos(0, 0, row ? GridColumns : 12, row ? 1 : 8);
        if (node is not JsonObject g) throw new DashboardJsonException(at, "expected an object {x, y, w, h}");
        int Int(string key, int fallback)
        {
            var n = g[key];
            if (n is null) return fallback;
            if (n is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) && d >= 0 && d < 100_000) return (int)d;
            throw new DashboardJsonException($"{at}.{key}", "expected a number of grid units, 0 or more");
        }
        var w = Math.Clamp(Int("w", 12), 1, GridColumns);
        var x = Math.Clamp(Int("x", 0), 0, GridColumns - 1);
        if (x + w > GridColumns) x = GridColumns - w;
        return new GridPos(x, Int("y", 0), w, Math.Max(Int("h", 8), 1));
    }

    private static FieldConfig ReadFieldConfig(JsonObject p, string at)
    {
        var defaults = p["fieldConfig"]?["defaults"] as JsonObject;
        var unit = Str(defaults, "unit", at + ".fieldConfig.defaults.unit");
        int? decimals = Num(defaults?["decimals"]) is { } dd ? (int)Math.Clamp(dd, 0, 10) : null;
        var min = Num(defaults?["min"]);
        var max = Num(defaults?["max"]);
        var steps = new List<ThresholdStep>();
        var mode = "absolute";
        if (defaults?["thresholds"] is JsonObject th)
        {
            mode = Str(th, "mode", at + ".fieldConfig.defaults.thresholds.mode", "absolute");
            if (th["steps"] is JsonArray sa)
                foreach (var s in sa.OfType<JsonObject>())
                    steps.Add(new ThresholdStep(Num(s["value"]), Str(s, "color", at + ".fieldConfig.defaults.thresholds.steps.color", "green")));
        }
        // The old graph and singlestat panels: yaxes[0].format/min/max, format, "thresholds": "80,90" with colors.
        if (unit.Length == 0 && p["yaxes"] is JsonArray ya && ya.Count > 0 && ya[0] is JsonObject y0)
        {
            unit = Str(y0, "format", at + ".yaxes[0].format");
            min ??= Num(y0["min"]);
            max ??= Num(y0["max"]);
        }
        if (unit.Length == 0 && p["format"] is JsonValue fv && fv.TryGetValue<string>(out var f)) unit = f;
        if (steps.Count == 0 && p["thresholds"] is JsonValue tv && tv.TryGetValue<string>(out var ts) && ts.Length > 0 && p["colors"] is JsonArray colors)
        {
            var cols = colors.Select(c => c is JsonValue cv && cv.TryGetValue<string>(out var s) ? s : "green").ToList();
            var values = ts.Split(',', StringSplitOptions.TrimEntries);
            steps.Add(new ThresholdStep(null, cols.ElementAtOrDefault(0) ?? "green"));
            for (var i = 0; i < values.Length; i++)
                if (double.TryParse(values[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                    steps.Add(new ThresholdStep(v, cols.ElementAtOrDefault(i + 1) ?? "red"));
        }
        return new FieldConfig(unit, decimals, min, max, steps, mode);
    }

    private static LegendOptions ReadLegend(JsonObject p, JsonObject? options)
    {
        if (options?["legend"] is JsonObject l)
        {
            var mode = l["showLegend"] is JsonValue sl && sl.TryGetValue<bool>(out var show) && !show ? "hidden"
                : l["displayMode"] is JsonValue dm && dm.TryGetValue<string>(out var m) ? m : "list";
            var calcs = (l["calcs"] as JsonArray)?.Select(c => c is JsonValue cv && cv.TryGetValue<string>(out var s) ? s : "").Where(s => s.Length > 0).ToList() ?? [];
            return new LegendOptions(mode, calcs);
        }
        if (p["legend"] is JsonObject old)
        {
            if (old["show"] is JsonValue sv && sv.TryGetValue<bool>(out var s) && !s) return new LegendOptions("hidden", []);
            var calcs = new List<string>();
            if (Bool(old, "current")) calcs.Add("lastNotNull");
            if (Bool(old, "min")) calcs.Add("min");
            if (Bool(old, "max")) calcs.Add("max");
            if (Bool(old, "avg")) calcs.Add("mean");
            return new LegendOptions(Bool(old, "alignAsTable") ? "table" : "list", calcs);
        }
        return LegendOptions.Default;
    }

    /// <summary>Grafana 4-6 dashboards: <c>rows[]</c> each with <c>panels[]</c> sized by <c>span</c> (12 is the full width) and a pixel height.</summary>
    private static List<Panel> ReadLegacyRows(JsonArray rows, DashboardLimits limits, ref int count)
    {
        var result = new List<Panel>();
        var y = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r] is not JsonObject row) throw new DashboardJsonException($"rows[{r}]", "expected an object");
            var heightPx = row["height"] is JsonValue hv ? (hv.TryGetValue<double>(out var hd) ? hd : double.TryParse(hv.ToString().Replace("px", "", StringComparison.Ordinal), CultureInfo.InvariantCulture, out var hp) ? hp : 250) : 250;
            var h = Math.Max((int)Math.Round(heightPx / 30), 3);
            var x = 0;
            if (row["panels"] is not JsonArray pa) continue;
            for (var i = 0; i < pa.Count; i++)
            {
                if (pa[i] is not JsonObject po) throw new DashboardJsonException($"rows[{r}].panels[{i}]", "expected an object");
                var span = Num(po["span"]) ?? 12;
                var w = Math.Clamp((int)Math.Round(span * 2), 1, GridColumns);
                if (x + w > GridColumns) { x = 0; y += h; }
                var copy = (JsonObject)po.DeepClone();
                copy["gridPos"] = new JsonObject { ["x"] = x, ["y"] = y, ["w"] = w, ["h"] = h };
                result.Add(ReadPanel(copy, $"rows[{r}].panels[{i}]", limits, ref count, nested: false));
                x += w;
            }
            y += h;
        }
        return result;
    }

    private static string LegacyCalc(string valueName) => valueName switch
    {
        "current" => "lastNotNull",
        "avg" => "mean",
        "total" => "sum",
        var v => v,
    };

    private static string Str(JsonObject? o, string key, string at, string fallback = "")
    {
        var n = o?[key];
        if (n is null) return fallback;
        if (n is JsonValue v)
        {
            if (v.TryGetValue<string>(out var s)) return s;
            if (v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) return v.ToJsonString();
        }
        throw new DashboardJsonException(at, "expected a string");
    }

    private static bool Bool(JsonObject? o, string key) => o?[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static double? Num(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) && double.IsFinite(d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d2) && double.IsFinite(d2) => d2,
        _ => null,
    };
}
