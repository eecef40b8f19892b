namespace Watchkeeper.Server.Dashboards;

/// <summary>
/// The part of a Grafana dashboard JSON model that Watchkeeper renders (the JSON itself is stored and exported as it
/// came, so fields outside this subset survive an import/export round trip). Read by <see cref="DashboardJson.Parse"/>.
/// </summary>
public sealed record Dashboard(
    string Uid,
    string Title,
    string Description,
    IReadOnlyList<string> Tags,
    string TimeFrom,
    string TimeTo,
    string Refresh,
    string Timezone,
    IReadOnlyList<Variable> Variables,
    IReadOnlyList<Panel> Panels)
{
    /// <summary>Every panel, rows' collapsed children included, in layout order.</summary>
    public IEnumerable<Panel> AllPanels => Panels.SelectMany(p => p.Children.Count == 0 ? [p] : (IEnumerable<Panel>)[p, .. p.Children]);
}

/// <summary>A panel on Grafana's 24-column grid (<c>gridPos</c>; one grid row is 30 px).</summary>
public sealed record Panel(
    int Id,
    string Type,
    string Title,
    string Description,
    GridPos Pos,
    IReadOnlyList<Target> Targets,
    FieldConfig Field,
    LegendOptions Legend,
    string ReduceCalc,
    string Content,
    string ContentMode,
    string Interval,
    int? MaxDataPoints,
    string Orientation,
    bool Collapsed,
    IReadOnlyList<Panel> Children)
{
    /// <summary>The panel types drawn; any other type is kept and shown as a labelled placeholder.</summary>
    public static readonly IReadOnlySet<string> Supported = new HashSet<string>(StringComparer.Ordinal)
    {
        "timeseries", "graph", "stat", "singlestat", "gauge", "bargauge", "table", "table-old", "heatmap", "text", "row",
    };

    public bool IsSupported => Supported.Contains(Type);
    public bool IsRow => Type == "row";
    public bool IsTimeSeries => Type is "timeseries" or "graph";
    /// <summary>Panels whose value is one number per series at the end of the range (an instant query is enough when the target asks for one).</summary>
    public bool IsReduced => Type is "stat" or "singlestat" or "gauge" or "bargauge";
}

public readonly record struct GridPos(int X, int Y, int W, int H);

/// <summary>A query of a panel: <c>expr</c>, <c>legendFormat</c>, <c>instant</c>, <c>interval</c> (the minimum step).</summary>
public sealed record Target(string RefId, string Expr, string LegendFormat, bool Instant, string Interval, string Format, bool Hide);

/// <summary><c>fieldConfig.defaults</c>: unit, decimals, min/max and thresholds.</summary>
public sealed record FieldConfig(string Unit, int? Decimals, double? Min, double? Max, IReadOnlyList<ThresholdStep> Thresholds, string ThresholdsMode)
{
    public static readonly FieldConfig Default = new("", null, null, null, [], "absolute");

    /// <summary>The colour of the highest step whose value is at or below <paramref name="v"/> (the first step is the base).</summary>
    public string? ColorFor(double v)
    {
        if (Thresholds.Count == 0 || double.IsNaN(v)) return null;
        var value = v;
        if (ThresholdsMode == "percentage")
        {
            var min = Min ?? 0;
            var max = Max ?? 100;
            value = max > min ? (v - min) / (max - min) * 100 : 0;
        }
        var color = Thresholds[0].Color;
        foreach (var t in Thresholds)
            if (t.Value is null || value >= t.Value) color = t.Color;
        return color;
    }
}

/// <summary>One threshold step; the base step has no value.</summary>
public sealed record ThresholdStep(double? Value, string Color);

/// <summary>The legend: list, table or hidden, with the calculations shown per series (last, min, max, mean).</summary>
public sealed record LegendOptions(string Mode, IReadOnlyList<string> Calcs)
{
    public static readonly LegendOptions Default = new("list", []);
    public bool Hidden => Mode == "hidden";
    public bool Table => Mode == "table";
}

/// <summary>A template variable: query (<c>label_values</c>, <c>query_result</c>, <c>metrics</c>), custom, interval, constant, textbox, datasource.</summary>
public sealed record Variable(
    string Name,
    string Label,
    string Type,
    string Query,
    string Regex,
    bool Multi,
    bool IncludeAll,
    string? AllValue,
    IReadOnlyList<string> Current,
    IReadOnlyList<string> Options,
    bool Hidden,
    bool Auto)
{
    public const string All = "$__all";
}
