using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// Scripts and styles of the monitoring pages, embedded in the assembly: this folder's own files and
/// uPlot, which the build installs from npm (ClientApp/package-lock.json) and embeds. They are public
/// libraries and page code, not data, so they are served without a login under <see cref="BasePath"/>.
/// </summary>
public static class MonitoringAssets
{
    public const string BasePath = "/assets/monitoring";
    private const string ResourcePrefix = "Watchkeeper.Monitoring.Ui.";

    public sealed record Asset(string Name, byte[] Content, string ContentType, string Version);

    private static readonly FrozenDictionary<string, Asset> All = Load();

    private static FrozenDictionary<string, Asset> Load()
    {
        var asm = typeof(MonitoringAssets).Assembly;
        var d = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var res in asm.GetManifestResourceNames())
        {
            if (!res.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            var name = res[ResourcePrefix.Length..];
            using var s = asm.GetManifestResourceStream(res)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var bytes = ms.ToArray();
            var type = name.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript; charset=utf-8"
                : name.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "application/octet-stream";
            d[name] = new Asset(name, bytes, type, Convert.ToHexStringLower(SHA256.HashData(bytes))[..12]);
        }
        return d.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Whether the build embedded uPlot (it cannot when npm was missing).</summary>
    public static bool HasUplot => All.ContainsKey("uplot.min.js");

    public static Asset? Get(string name) => All.GetValueOrDefault(name);

    /// <summary>The versioned URL of an asset (cached for a year by browsers), or null when it is not embedded.</summary>
    public static string? Url(string name) => All.TryGetValue(name, out var a) ? $"{BasePath}/{name}?v={a.Version}" : null;

    /// <summary><c>&lt;link&gt;</c> and <c>&lt;script defer&gt;</c> tags for the named assets that exist.</summary>
    public static string Tags(params string[] names)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var n in names)
        {
            if (Url(n) is not { } u) continue;
            sb.Append(n.EndsWith(".css", StringComparison.Ordinal)
                ? $"""<link rel="stylesheet" href="{Html.Encode(u)}">"""
                : $"""<script defer src="{Html.Encode(u)}"></script>""");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static void MapMonitoringAssets(this IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath + "/{name}", (HttpContext http, string name, string? v) =>
        {
            if (Get(name) is not { } a) return Results.NotFound();
            var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{a.Version}\"");
            http.Response.Headers.CacheControl = v == a.Version ? "public, max-age=31536000, immutable" : "no-cache";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(a.Content, a.ContentType, entityTag: etag);
        }).AllowAnonymous().ExcludeFromDescription();
    }
}
