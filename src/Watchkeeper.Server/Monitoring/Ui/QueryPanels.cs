using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// One query panel of <c>/query</c> as the URL holds it, in Prometheus's names (<c>g0.expr</c>, <c>g0.tab</c>,
/// <c>g0.range_input</c>, <c>g0.end_input</c>, <c>g0.moment_input</c>, <c>g0.step_input</c>) plus <c>g0.unit</c>
/// (a Grafana unit id for the graph's axis and legend).
/// </summary>
public sealed record QueryPanelInput(string Expr, bool Graph, string Range, string End, string Time, string Step, string Unit)
{
    public static readonly QueryPanelInput Empty = new("", false, "", "", "", "", "");
}

/// <summary>The panels of a <c>/query</c> URL, what the form asked to change (add or remove a panel), and what was wrong with the URL.</summary>
public sealed record QueryPanelsRequest(IReadOnlyList<QueryPanelInput> Panels, bool Add, int? Remove, IReadOnlyList<string> Problems)
{
    public bool ChangesPanels => Add || Remove is not null;
}

/// <summary>Reads and writes the panel state of <c>/query</c> in the URL, so every view is a link that can be shared.</summary>
public static partial class QueryPanels
{
    /// <summary>The most panels one page shows; a link with more shows the first ones and says so.</summary>
    public const int MaxPanels = 10;

    /// <summary>
    /// The longest expression a panel evaluates, in characters; a longer one is shown with an error, not run. (The whole
    /// link is also bounded by the web server's 8 KiB request line: a longer one is refused with 414 URI Too Long.)
    /// </summary>
    public const int MaxExprLength = 4_096;

    [GeneratedRegex(@"^g(\d{1,6})\.([a-z_]+)$")]
    private static partial Regex PanelKey();

    public static QueryPanelsRequest Read(IQueryCollection q)
    {
        var problems = new List<string>();
        var byIndex = new SortedDictionary<int, Dictionary<string, string>>();
        foreach (var (key, values) in q)
        {
            var m = PanelKey().Match(key);
            if (!m.Success || !int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var i)) continue;
            if (!byIndex.TryGetValue(i, out var fields)) byIndex[i] = fields = new(StringComparer.Ordinal);
            fields[m.Groups[2].Value] = values.FirstOrDefault() ?? "";
        }
        var panels = new List<QueryPanelInput>();
        if (byIndex.Count > MaxPanels)
            problems.Add($"This link has {byIndex.Count} query panels; a page shows at most {MaxPanels}, so the panels after the {MaxPanels}th were left out.");
        foreach (var fields in byIndex.Values.Take(MaxPanels))
        {
            string F(string name) => fields.TryGetValue(name, out var v) ? v : "";
            var tab = F("tab");
            var step = F("step_input");
            if (step.Length == 0 && F("res_type") == "fixed") step = F("res_step");
            // Prometheus 2's links say tab=0 for the graph and 1 for the table; Prometheus 3's say graph and table.
            panels.Add(new QueryPanelInput(F("expr"), tab is "graph" or "0", F("range_input"), F("end_input"), F("moment_input"), step, F("unit")));
        }
        // The single-query form (expr=..&range=..&tab=..) of earlier links, incidents and dashboards is panel 0.
        if (panels.Count == 0 && (q.ContainsKey("expr") || q.ContainsKey("tab")))
        {
            string L(string name) => q[name].FirstOrDefault() ?? "";
            panels.Add(new QueryPanelInput(L("expr"), L("tab") == "graph", L("range"), L("end"), L("time"), L("step"), L("unit")));
        }
        if (panels.Count == 0) panels.Add(QueryPanelInput.Empty);

        var add = q.ContainsKey("add");
        int? remove = null;
        if (q["remove"].FirstOrDefault() is { } r)
        {
            if (int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var ri) && ri < panels.Count) remove = ri;
            else problems.Add($"There is no panel {r} to remove.");
        }
        return new QueryPanelsRequest(panels, add, remove, problems);
    }

    /// <summary>The panels after the form's add or remove (a page always keeps one panel); a new panel starts on the Table tab.</summary>
    public static IReadOnlyList<QueryPanelInput> Apply(QueryPanelsRequest req)
    {
        var list = req.Panels.ToList();
        if (req.Remove is { } r) list.RemoveAt(r);
        if (req.Add && list.Count < MaxPanels) list.Add(QueryPanelInput.Empty with { Range = list.LastOrDefault()?.Range ?? "" });
        if (list.Count == 0) list.Add(QueryPanelInput.Empty);
        return list;
    }

    /// <summary>The URL of these panels: <c>/query?g0.expr=...&amp;g0.tab=table&amp;g1.expr=...</c> (empty options left out).</summary>
    public static string Url(IReadOnlyList<QueryPanelInput> panels)
    {
        var sb = new StringBuilder("/query?");
        for (var i = 0; i < panels.Count; i++)
        {
            var p = panels[i];
            if (i > 0) sb.Append('&');
            sb.Append('g').Append(i).Append(".expr=").Append(Uri.EscapeDataString(p.Expr));
            sb.Append("&g").Append(i).Append(".tab=").Append(p.Graph ? "graph" : "table");
            Opt(sb, i, "range_input", p.Range);
            Opt(sb, i, "end_input", p.End);
            Opt(sb, i, "moment_input", p.Time);
            Opt(sb, i, "step_input", p.Step);
            Opt(sb, i, "unit", p.Unit);
        }
        return sb.ToString();
    }

    /// <summary>The URL with panel <paramref name="index"/> replaced.</summary>
    public static string Url(IReadOnlyList<QueryPanelInput> panels, int index, QueryPanelInput replacement) =>
        Url([.. panels.Select((p, i) => i == index ? replacement : p)]);

    private static void Opt(StringBuilder sb, int i, string name, string value)
    {
        if (value.Length > 0) sb.Append("&g").Append(i).Append('.').Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }
}
