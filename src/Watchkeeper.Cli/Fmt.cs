using System.Globalization;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Watchkeeper.Cli;

/// <summary>How values look in tables: UTC times, short durations, escaped text.</summary>
public static class Fmt
{
    public const string None = "–";

    public static string Time(DateTimeOffset? t) =>
        t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : None;

    /// <summary>"12m ago", "in 3h".</summary>
    public static string Relative(DateTimeOffset t, DateTimeOffset now) =>
        t <= now ? Duration(now - t) + " ago" : "in " + Duration(t - now);

    public static string Duration(double? seconds) => seconds is { } s ? Duration(TimeSpan.FromSeconds(s)) : None;

    /// <summary>At most two units: 45s, 5m, 1h30m, 3d4h, 2w1d.</summary>
    public static string Duration(TimeSpan t)
    {
        var neg = t < TimeSpan.Zero;
        if (neg) t = -t;
        var total = (long)Math.Round(t.TotalSeconds);
        if (total == 0) return "0s";
        (long unit, string name)[] units = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
        var sb = new StringBuilder(neg ? "-" : "");
        var parts = 0;
        foreach (var (unit, name) in units)
        {
            if (total < unit) { if (parts > 0) break; continue; }
            sb.Append(total / unit).Append(name);
            total %= unit;
            if (++parts == 2 || total == 0) break;
        }
        return sb.ToString();
    }

    public static string Percent(double? p) => p is { } v ? v.ToString("0.#", CultureInfo.InvariantCulture) + "%" : None;

    public static string Title(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].Replace('_', ' ');

    public static string Or(string? s, string fallback = None) => string.IsNullOrWhiteSpace(s) ? fallback : s;

    public static string Esc(string? s) => Markup.Escape(s ?? "");

    public static IRenderable Text(string? s) => new Text(s ?? "");

    /// <summary>A table in the house style of kubectl and docker: no rules, a bold header, columns padded apart.</summary>
    public static Table Table(params string[] columns)
    {
        var t = new Table { Border = TableBorder.None, ShowHeaders = true };
        foreach (var c in columns) t.AddColumn(new TableColumn(new Markup("[bold]" + Esc(c) + "[/]")) { Padding = new Padding(0, 0, 3, 0) });
        return t;
    }

    /// <summary>Adds a row of plain text cells (never interpreted as markup).</summary>
    public static Table Row(this Table t, params string?[] cells)
    {
        t.AddRow(cells.Select(Text).ToArray());
        return t;
    }

    /// <summary>Label/value pairs, left-aligned.</summary>
    public static Grid Pairs(IEnumerable<(string Label, IRenderable Value)> rows)
    {
        var g = new Grid();
        g.AddColumn(new GridColumn().NoWrap().PadRight(2));
        g.AddColumn();
        foreach (var (label, value) in rows) g.AddRow(new Markup("[bold]" + Esc(label) + "[/]"), value);
        return g;
    }

    /// <summary>An SLA clock in words: "met after 3m (target 5m)", "12m left of 1h", "BREACHED 7m ago (target 5m)".</summary>
    public static IRenderable Sla(SlaDto s, DateTimeOffset now)
    {
        if (s.MetAt is not null)
        {
            var text = $"met after {Duration(s.ElapsedSeconds)} (target {Duration(s.TargetSeconds)})";
            return s.Breached ? new Markup($"[red]missed[/]: {Esc(text)}") : new Markup($"[green]met[/]{Esc(text[3..])}");
        }
        if (s.Breached)
            return new Markup($"[red bold]BREACHED[/] {Esc(Duration(now - s.DueAt))} ago (target {Esc(Duration(s.TargetSeconds))}, due {Esc(Time(s.DueAt))})");
        return new Markup($"{Esc(Duration(s.RemainingSeconds))} left of {Esc(Duration(s.TargetSeconds))} (due {Esc(Time(s.DueAt))})");
    }

    /// <summary>A compact SLA cell for lists: "met 3m", "4m left", "BREACHED".</summary>
    public static string SlaShort(SlaDto s) =>
        s.MetAt is not null ? (s.Breached ? "missed " : "met ") + Duration(s.ElapsedSeconds)
        : s.Breached ? "BREACHED"
        : Duration(s.RemainingSeconds) + " left";
}
