using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Dashboards.Ui;

/// <summary>
/// Server-side drawing of panels, so a dashboard is readable without JavaScript: an SVG line chart per time-series
/// panel (the browser replaces it with an interactive uPlot chart), gauge arcs and heatmap cells; Grafana's colour
/// names; the panel data handed to the page's script; Markdown of text panels (the pages' one renderer, Web.Markdown: raw HTML off, unsafe link schemes dropped).
/// </summary>
public static partial class Charts
{
    public const int Width = 800;
    public static readonly string[] Palette = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
        "#508642", "#cca300", "#447ebc", "#c15c17", "#890f02", "#0a437c", "#6d1f62", "#584477"];

    private static readonly Dictionary<string, string> Named = new(StringComparer.OrdinalIgnoreCase)
    {
        ["green"] = "#73bf69", ["semi-dark-green"] = "#56a64b", ["dark-green"] = "#37872d", ["light-green"] = "#96d98d",
        ["red"] = "#f2495c", ["semi-dark-red"] = "#e02f44", ["dark-red"] = "#c4162a", ["light-red"] = "#ff7383",
        ["yellow"] = "#fade2a", ["semi-dark-yellow"] = "#f2cc0c", ["dark-yellow"] = "#e0b400", ["light-yellow"] = "#ffee52",
        ["orange"] = "#ff9830", ["semi-dark-orange"] = "#fa6400", ["dark-orange"] = "#e55400", ["light-orange"] = "#ffb357",
        ["blue"] = "#5794f2", ["semi-dark-blue"] = "#3274d9", ["dark-blue"] = "#1f60c4", ["light-blue"] = "#8ab8ff",
        ["purple"] = "#b877d9", ["semi-dark-purple"] = "#a352cc", ["dark-purple"] = "#8f3bb8", ["light-purple"] = "#ca95e5",
        ["text"] = "currentColor", ["transparent"] = "transparent",
    };

    [GeneratedRegex(@"^(#[0-9a-fA-F]{3,8}|rgba?\(\s*[0-9.]+\s*,\s*[0-9.]+\s*,\s*[0-9.]+\s*(,\s*[0-9.]+\s*)?\))$")]
    private static partial Regex CssColor();


    /// <summary>A Grafana colour (name, hex or rgb[a]) as CSS, or the fallback for anything else (never raw input).</summary>
    public static string Color(string? c, string fallback = "#73bf69")
    {
        if (string.IsNullOrEmpty(c)) return fallback;
        if (Named.TryGetValue(c, out var hex)) return hex;
        return CssColor().IsMatch(c) ? c : fallback;
    }

    public static string SeriesColor(int i) => Palette[i % Palette.Length];

    /// <summary>A text panel's Markdown as HTML: raw HTML is shown as text, javascript:/data: links lose their target, images become links.</summary>
    public static string MarkdownHtml(string markdown) => Web.Markdown.ToHtml(markdown);

    public static string Encode(string s) => WebUtility.HtmlEncode(s);

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>The y range: the field's min/max when set, else the data's, widened to include 0 for non-negative data and padded.</summary>
    public static (double Min, double Max) YRange(PanelResult r)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var s in r.Series)
            foreach (var v in s.Values)
                if (double.IsFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
        if (double.IsInfinity(min)) { min = 0; max = 1; }
        if (min >= 0 && min < max) min = 0;
        if (r.Panel.Field.Min is { } fmin) min = fmin;
        if (r.Panel.Field.Max is { } fmax) max = fmax;
        if (max <= min) max = min + 1;
        return (min, max);
    }

    /// <summary>A line chart of every series on the panel's grid, with y ticks in the panel's unit and UTC x ticks (24-hour).</summary>
    public static string LineSvg(PanelResult r, int height)
    {
        const int left = 70, right = 10, top = 8, bottom = 22;
        var w = Width - left - right;
        var h = Math.Max(height - top - bottom, 20);
        var (min, max) = YRange(r);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"wk-svg\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"{Encode(r.Title)} chart\" preserveAspectRatio=\"none\">");
        for (var t = 0; t <= 4; t++)
        {
            var v = min + (max - min) * t / 4;
            var y = top + h - h * t / 4.0;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{Width - right}\" y1=\"{F(y)}\" y2=\"{F(y)}\" class=\"wk-grid\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{F(y + 4)}\" text-anchor=\"end\" class=\"wk-tick\">{Encode(Units.Format(v, r.Panel.Field.Unit, r.Panel.Field.Decimals))}</text>");
        }
        var span = Math.Max(r.Points - 1, 1);
        var ticks = TimeTicks(r.StartMs, r.TimeAt(r.Points - 1), 6);
        foreach (var t in ticks)
        {
            var x = left + w * (t - r.StartMs) / (double)Math.Max(r.TimeAt(r.Points - 1) - r.StartMs, 1);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{height - 6}\" text-anchor=\"middle\" class=\"wk-tick\">{TickLabel(t, r.TimeAt(r.Points - 1) - r.StartMs)}</text>");
        }
        for (var si = 0; si < r.Series.Count && si < 50; si++)
        {
            var s = r.Series[si];
            var path = new StringBuilder();
            var pen = false;
            for (var i = 0; i < s.Values.Length; i++)
            {
                var v = s.Values[i];
                if (!double.IsFinite(v)) { pen = false; continue; }
                var x = left + w * i / (double)span;
                var y = top + h - h * (Math.Clamp(v, min, max) - min) / (max - min);
                path.Append(pen ? 'L' : 'M').Append(F(x)).Append(',').Append(F(y));
                pen = true;
            }
            if (path.Length > 0)
                sb.Append(CultureInfo.InvariantCulture, $"<path d=\"{path}\" fill=\"none\" stroke=\"{SeriesColor(si)}\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"><title>{Encode(s.Name)}</title></path>");
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Tick times at a round step (1m ... 1d) so that about <paramref name="count"/> fit the range.</summary>
    public static List<long> TimeTicks(long start, long end, int count)
    {
        long[] steps = [60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000];
        var step = steps.FirstOrDefault(s => (end - start) / s <= count, 2_592_000_000);
        var list = new List<long>();
        for (var t = (start + step - 1) / step * step; t <= end && list.Count < 50; t += step) list.Add(t);
        return list;
    }

    /// <summary>24-hour UTC: <c>14:05</c>, with the date (<c>11-02 14:05</c>) when the range is longer than a day.</summary>
    public static string TickLabel(long ms, long rangeMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString(rangeMs > 86_400_000 ? "MM-dd HH:mm" : "HH:mm", CultureInfo.InvariantCulture);

    /// <summary>A gauge: a 240° arc from min to max, coloured by thresholds, with the value in the middle.</summary>
    public static string GaugeSvg(double value, Panel p, string text)
    {
        var min = p.Field.Min ?? 0;
        var max = p.Field.Max ?? Units.DefaultMax(p.Field.Unit);
        var frac = max > min && double.IsFinite(value) ? Math.Clamp((value - min) / (max - min), 0, 1) : 0;
        var color = Color(p.Field.ColorFor(value));
        static string Arc(double from, double to)
        {
            double A(double f) => (150 + 240 * f) * Math.PI / 180;
            var (x1, y1) = (100 + 80 * Math.Cos(A(from)), 100 + 80 * Math.Sin(A(from)));
            var (x2, y2) = (100 + 80 * Math.Cos(A(to)), 100 + 80 * Math.Sin(A(to)));
            var large = (to - from) * 240 > 180 ? 1 : 0;
            return $"M{F(x1)},{F(y1)} A80,80 0 {large} 1 {F(x2)},{F(y2)}";
        }
        var sb = new StringBuilder("<svg class=\"wk-gauge\" viewBox=\"0 0 200 170\" role=\"img\" aria-label=\"gauge\">");
        sb.Append(CultureInfo.InvariantCulture, $"<path d=\"{Arc(0, 1)}\" class=\"wk-gauge-bg\" fill=\"none\" stroke-width=\"16\"/>");
        if (frac > 0.001) sb.Append(CultureInfo.InvariantCulture, $"<path d=\"{Arc(0, frac)}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"16\"/>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"100\" y=\"112\" text-anchor=\"middle\" class=\"wk-gauge-value\" fill=\"{color}\">{Encode(text)}</text>");
        return sb.Append("</svg>").ToString();
    }

    /// <summary>A histogram heatmap: one column per time step, one row per bucket, darker for more observations.</summary>
    public static string HeatmapSvg(PanelResult r, HeatmapData hm, int height)
    {
        const int left = 70, top = 4, bottom = 22;
        var w = Width - left - 10;
        var h = Math.Max(height - top - bottom, 20);
        var cols = hm.Counts.Length;
        var rows = hm.Buckets.Count;
        var cw = w / (double)Math.Max(cols, 1);
        var ch = h / (double)Math.Max(rows, 1);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"wk-svg\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"{Encode(r.Title)} heatmap\" preserveAspectRatio=\"none\">");
        for (var b = 0; b < rows; b++)
        {
            if (rows <= 12 || b % (rows / 8 + 1) == 0)
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{F(top + h - ch * b - ch / 2 + 4)}\" text-anchor=\"end\" class=\"wk-tick\">{Encode(BucketLabel(hm.Buckets[b], r.Panel.Field.Unit))}</text>");
        }
        for (var i = 0; i < cols; i++)
            for (var b = 0; b < rows; b++)
            {
                var c = hm.Counts[i][b];
                if (!(c > 0)) continue;
                var o = 0.12 + 0.88 * Math.Sqrt(c / hm.MaxCount);
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(left + i * cw)}\" y=\"{F(top + h - ch * (b + 1))}\" width=\"{F(cw + 0.5)}\" height=\"{F(ch)}\" fill=\"#ef843c\" fill-opacity=\"{F(o)}\"/>");
            }
        var end = r.TimeAt(r.Points - 1);
        foreach (var t in TimeTicks(r.StartMs, end, 6))
        {
            var x = left + w * (t - r.StartMs) / (double)Math.Max(end - r.StartMs, 1);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{height - 6}\" text-anchor=\"middle\" class=\"wk-tick\">{TickLabel(t, end - r.StartMs)}</text>");
        }
        return sb.Append("</svg>").ToString();
    }

    private static string BucketLabel(string le, string unit) =>
        le == "+Inf" ? "+Inf" : double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? Units.Format(d, unit.Length == 0 ? "s" : unit) : le;

    /// <summary>The data of a time-series panel for the page's script (uPlot): times in seconds, values with null for gaps.</summary>
    public static string ChartJson(PanelResult r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("unit", r.Panel.Field.Unit);
            if (r.Panel.Field.Decimals is { } d) w.WriteNumber("decimals", d);
            if (r.Panel.Field.Min is { } min) w.WriteNumber("min", min);
            if (r.Panel.Field.Max is { } max) w.WriteNumber("max", max);
            w.WriteStartArray("thresholds");
            foreach (var t in r.Panel.Field.Thresholds)
            {
                w.WriteStartObject();
                if (t.Value is { } tv) w.WriteNumber("value", tv); else w.WriteNull("value");
                w.WriteString("color", Color(t.Color));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("times");
            for (var i = 0; i < r.Points; i++) w.WriteNumberValue(r.TimeAt(i) / 1000.0);
            w.WriteEndArray();
            w.WriteStartArray("series");
            for (var si = 0; si < r.Series.Count; si++)
            {
                var s = r.Series[si];
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("color", SeriesColor(si));
                w.WriteStartArray("values");
                foreach (var v in s.Values)
                {
                    if (double.IsFinite(v)) w.WriteNumberValue(v); else w.WriteNullValue();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
