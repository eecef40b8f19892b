using System.Globalization;
using System.Text;

namespace Watchkeeper.Server.Dashboards.Ui;

/// <summary>Links that keep a dashboard view's state (time range, zone, refresh, variables, opened rows) in the URL.</summary>
public static class DashboardLinks
{
    public static string Query(DashboardViewModel m, int? toggleRow = null)
    {
        var sb = new StringBuilder();
        void Add(string k, string v)
        {
            sb.Append(sb.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
        }
        Add("from", m.Range.FromText);
        Add("to", m.Range.ToText);
        Add("tz", m.Tz);
        if (m.Refresh.Length > 0) Add("refresh", m.Refresh);
        foreach (var v in m.Variables)
            foreach (var s in v.Selected)
                Add("var-" + v.Def.Name, s);
        var open = m.OpenRows.ToList();
        if (toggleRow is { } r)
        {
            if (!open.Remove(r)) open.Add(r);
        }
        foreach (var o in open) Add("open", o.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>The range as text: <c>2026-11-02 08:00:00 to 09:00:00 UTC</c>.</summary>
    public static string RangeText(TimeRange r)
    {
        var f = DateTimeOffset.FromUnixTimeMilliseconds(r.FromMs).UtcDateTime;
        var t = DateTimeOffset.FromUnixTimeMilliseconds(r.ToMs).UtcDateTime;
        return f.Date == t.Date
            ? $"{f.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} to {t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC"
            : $"{f.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} to {t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC";
    }

    /// <summary>An absolute time for the picker's inputs: <c>2026-11-02T08:00:00Z</c> (RFC 3339, UTC).</summary>
    public static string Absolute(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
