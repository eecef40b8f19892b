using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Watchkeeper.Server.Incidents;

namespace Watchkeeper.Server.StatusPage;

/// <summary>
/// A pre-rendered response: bytes, content type and a strong ETag, and its gzip and Brotli encodings (each compressed
/// once, on the first request that accepts it, with an ETag of its own as RFC 9110 asks of strong validators).
/// </summary>
public sealed record StatusBody(byte[] Bytes, string ContentType)
{
    public string ETag { get; } = "\"" + Convert.ToHexStringLower(SHA256.HashData(Bytes))[..20] + "\"";

    private Encoded? _gzip, _brotli;

    /// <summary>A content encoding of the body and its ETag.</summary>
    public sealed record Encoded(byte[] Bytes, string ETag, string Encoding);

    public Encoded Gzip => Volatile.Read(ref _gzip) ?? Interlocked.CompareExchange(ref _gzip, Compress("gzip"), null) ?? _gzip!;

    public Encoded Brotli => Volatile.Read(ref _brotli) ?? Interlocked.CompareExchange(ref _brotli, Compress("br"), null) ?? _brotli!;

    private Encoded Compress(string encoding)
    {
        using var ms = new MemoryStream();
        using (Stream z = encoding == "br" ? new System.IO.Compression.BrotliStream(ms, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)
                   : new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            z.Write(Bytes);
        return new Encoded(ms.ToArray(), ETag[..^1] + "-" + encoding + "\"", encoding);
    }

    public static StatusBody Of(string text, string contentType) => new(Encoding.UTF8.GetBytes(text), contentType);
}

/// <summary>
/// The machine-readable documents of the page, shaped like Atlassian Statuspage's public v2 API (summary, status,
/// components, incidents), the in-app notice, the Atom feed and the SVG badges. All are rendered once per snapshot.
/// </summary>
public static class StatusDocuments
{
    public const string PageId = "watchkeeper";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    private static string? Time(DateTimeOffset? t) => t is { } v ? Time(v) : null;

    private static object Page(StatusData d) => new { id = PageId, name = d.Title, url = d.PageUrl, time_zone = "Etc/UTC", updated_at = Time(d.UpdatedAt) };

    private static object Status(StatusData d) => new { indicator = d.Indicator, description = d.IndicatorTitle };

    /// <summary>Groups and components in one list, as Statuspage lists them: a group has <c>group: true</c> and its members' ids.</summary>
    private static IEnumerable<object> Components(StatusData d)
    {
        foreach (var g in d.Groups)
        {
            yield return new
            {
                id = g.Id, name = g.Name, status = g.Level, description = NullIfEmpty(g.Description), position = g.Position,
                group = true, group_id = (string?)null, page_id = PageId, only_show_if_degraded = false, showcase = true,
                components = g.Components.Select(x => x.Id), updated_at = Time(g.Components.Max(x => x.UpdatedAt)),
            };
        }
        foreach (var x in d.Components)
        {
            yield return new
            {
                id = x.Id, name = x.Name, status = x.Level, description = NullIfEmpty(x.Description), position = x.Position,
                group = false, group_id = x.GroupId, page_id = PageId, only_show_if_degraded = false, showcase = true,
                components = (IEnumerable<string>?)null, updated_at = Time(x.UpdatedAt),
            };
        }
    }

    private static object Incident(StatusData d, PublicIncident i) => new
    {
        id = Id(i.Id), name = i.Name, status = i.Status, impact = i.Impact,
        created_at = Time(i.CreatedAt), updated_at = Time(i.UpdatedAt), started_at = Time(i.CreatedAt),
        monitoring_at = Time(i.MonitoringAt), resolved_at = Time(i.ResolvedAt),
        shortlink = d.PageUrl + "#incident-" + Id(i.Id), page_id = PageId,
        components = i.ComponentIds.Select(id => d.Components.First(x => x.Id == id)).Select(x => new { id = x.Id, name = x.Name, status = x.Level }),
        incident_updates = i.Updates.OrderByDescending(u => u.At).ThenByDescending(u => u.Id).Select(u => new
        {
            id = Id(u.Id), status = u.Status, body = u.Body, incident_id = Id(i.Id),
            created_at = Time(u.At), updated_at = Time(u.At), display_at = Time(u.At),
        }),
    };

    public static StatusBody SummaryJson(StatusData d) => JsonBody(new
    {
        page = Page(d),
        components = Components(d),
        incidents = d.Incidents.Where(i => i.Open).Select(i => Incident(d, i)),
        scheduled_maintenances = d.Maintenances.Select(m => new
        {
            id = Id(m.Id), name = m.Name, status = m.InProgress ? "in_progress" : m.Status is "scheduled" or "preparing" ? "scheduled" : m.Status,
            impact = "maintenance", scheduled_for = Time(m.ScheduledFor), scheduled_until = Time(m.ScheduledUntil), updated_at = Time(m.UpdatedAt),
            shortlink = d.PageUrl + "#maintenance-" + Id(m.Id), body = m.Body,
            components = d.Components.Where(x => m.ComponentIds.Contains(x.Id)).Select(x => new { id = x.Id, name = x.Name }),
        }),
        status = Status(d),
    });

    public static StatusBody StatusJson(StatusData d) => JsonBody(new { page = Page(d), status = Status(d) });

    public static StatusBody ComponentsJson(StatusData d) => JsonBody(new { page = Page(d), components = Components(d) });

    /// <summary>The 50 most recent public incidents (open and resolved within <c>status_page.history</c>).</summary>
    public static StatusBody IncidentsJson(StatusData d) => JsonBody(new { page = Page(d), incidents = d.Incidents.Take(50).Select(i => Incident(d, i)) });

    /// <summary>
    /// The in-app notice (seed 2.3 users.in_app): active when a component is not operational or a public incident is open,
    /// with the latest public update of the most severe open incident as its message.
    /// </summary>
    public static StatusBody NoticeJson(StatusData d)
    {
        var incident = d.Incidents.Where(i => i.Open).OrderByDescending(i => StatusLevel.ImpactRank(i.Impact)).ThenByDescending(i => i.UpdatedAt).FirstOrDefault();
        var latest = incident?.Updates.OrderBy(u => u.At).ThenBy(u => u.Id).LastOrDefault();
        var active = d.Indicator != "none" || incident is not null;
        var id = latest is not null ? "update-" + Id(latest.Id) : active ? "status-" + d.Indicator + "-" + Time(d.UpdatedAt) : null;
        return JsonBody(new
        {
            active,
            id,
            indicator = d.Indicator,
            title = active ? (incident?.Name ?? d.IndicatorTitle) : d.IndicatorTitle,
            message = latest?.Body ?? (active ? d.IndicatorTitle + ": " + string.Join(", ", d.Components.Where(x => x.Level != StatusLevel.Operational).Select(x => $"{x.Name} ({StatusLevel.Title(x.Level).ToLowerInvariant()})")) : null),
            status = incident?.Status,
            url = incident is null ? d.PageUrl : d.PageUrl + "#incident-" + Id(incident.Id),
            updated_at = Time(latest?.At ?? d.UpdatedAt),
        });
    }

    private static StatusBody JsonBody(object o) => new(JsonSerializer.SerializeToUtf8Bytes(o, Json), "application/json; charset=utf-8");

    private static readonly XNamespace Atom = "http://www.w3.org/2005/Atom";

    /// <summary>Atom 1.0 (RFC 4287): one entry per public status update, newest first (at most 50).</summary>
    public static StatusBody Feed(StatusData d)
    {
        var updates = d.Incidents.SelectMany(i => i.Updates.Select(u => (Incident: i, Update: u)))
            .OrderByDescending(x => x.Update.At).ThenByDescending(x => x.Update.Id).Take(50).ToList();
        var updated = updates.Count > 0 ? updates[0].Update.At : d.UpdatedAt;
        var feed = new XElement(Atom + "feed",
            new XElement(Atom + "id", "urn:watchkeeper:status:" + PageId),
            new XElement(Atom + "title", d.Title),
            new XElement(Atom + "subtitle", string.IsNullOrEmpty(d.Description) ? "Public status updates" : d.Description),
            new XElement(Atom + "updated", Time(updated)),
            new XElement(Atom + "link", new XAttribute("rel", "alternate"), new XAttribute("type", "text/html"), new XAttribute("href", d.PageUrl)),
            new XElement(Atom + "link", new XAttribute("rel", "self"), new XAttribute("type", "application/atom+xml"), new XAttribute("href", d.PageUrl + "/feed.atom")),
            new XElement(Atom + "author", new XElement(Atom + "name", d.Title)),
            new XElement(Atom + "generator", "Watchkeeper"),
            updates.Select(x => new XElement(Atom + "entry",
                new XElement(Atom + "id", $"urn:watchkeeper:status:incident:{Id(x.Incident.Id)}:update:{Id(x.Update.Id)}"),
                new XElement(Atom + "title", $"{x.Incident.Name}: {IncidentStatus.Title(x.Update.Status)}"),
                new XElement(Atom + "updated", Time(x.Update.At)),
                new XElement(Atom + "published", Time(x.Update.At)),
                new XElement(Atom + "link", new XAttribute("rel", "alternate"), new XAttribute("type", "text/html"), new XAttribute("href", d.PageUrl + "#incident-" + Id(x.Incident.Id))),
                new XElement(Atom + "category", new XAttribute("term", x.Update.Status)),
                new XElement(Atom + "content", new XAttribute("type", "text"), Clean(x.Update.Body)))));
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, new XmlWriterSettings { OmitXmlDeclaration = true, Indent = false }))
            feed.WriteTo(w);
        return StatusBody.Of("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + sb, "application/atom+xml; charset=utf-8");
    }

    /// <summary>Characters XML 1.0 cannot carry are dropped (status update text already refuses them; this keeps the feed valid whatever the data).</summary>
    private static string Clean(string s) => s.Any(c => !XmlConvert.IsXmlChar(c) && !char.IsSurrogate(c)) ? new string([.. s.Where(c => XmlConvert.IsXmlChar(c) || char.IsSurrogate(c))]) : s;

    /// <summary>A flat two-part badge: the component's name and its level, coloured by level.</summary>
    public static StatusBody Badge(string label, string level)
    {
        var text = StatusLevel.Title(level).ToLowerInvariant();
        var colour = level switch
        {
            StatusLevel.Operational => "#2e7d32",
            StatusLevel.DegradedPerformance => "#b26a00",
            StatusLevel.PartialOutage => "#d84315",
            StatusLevel.MajorOutage => "#c62828",
            _ => "#1565c0",
        };
        int Width(string s) => 10 + (int)Math.Ceiling(s.Sum(c => char.IsUpper(c) || c is 'm' or 'w' ? 8.0 : c is 'i' or 'l' or 'j' or ' ' or '.' or '-' ? 3.5 : 6.5));
        var lw = Width(label);
        var rw = Width(text);
        var w = lw + rw;
        var l = Xml(label);
        var r = Xml(text);
        var svg = string.Create(CultureInfo.InvariantCulture, $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{l}: {r}"><title>{l}: {r}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" fill="{colour}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="{lw / 2.0}" y="14" text-anchor="middle">{l}</text><text x="{lw + rw / 2.0}" y="14" text-anchor="middle">{r}</text></g></svg>
            """);
        return StatusBody.Of(svg, "image/svg+xml; charset=utf-8");
    }

    private static string Xml(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    private static string? NullIfEmpty(string s) => string.IsNullOrEmpty(s) ? null : s;

    public static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
