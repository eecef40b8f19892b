using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Watchkeeper.Server.Web;

/// <summary>
/// The browser assets under <c>wwwroot/</c> (the product's CSS and JS, the favicon, and npm packages the
/// build copies to <c>wwwroot/lib/</c>). Pages link them with <see cref="Url"/>, which adds the first 12 hex
/// digits of the file's SHA-256 as <c>?v=</c>: a response to that URL may be cached for a year (the URL
/// changes when the file does); any other request is revalidated with its ETag.
/// </summary>
public sealed class StaticAssets(IWebHostEnvironment env)
{
    private readonly IFileProvider _files = env.WebRootFileProvider;
    private readonly ConcurrentDictionary<string, string?> _versions = new(StringComparer.Ordinal);

    /// <summary>The fingerprint of a file under wwwroot, or null when it is missing.</summary>
    public string? Version(string path) => _versions.GetOrAdd(path.TrimStart('/'), p =>
    {
        var f = _files.GetFileInfo(p);
        if (!f.Exists || f.IsDirectory) return null;
        using var s = f.CreateReadStream();
        return Convert.ToHexStringLower(SHA256.HashData(s))[..12];
    });

    public bool Exists(string path) => Version(path) is not null;

    /// <summary>The fingerprinted URL of a file under wwwroot (without a version when the file is missing).</summary>
    public string Url(string path)
    {
        var p = "/" + path.TrimStart('/');
        return Version(path) is { } v ? $"{p}?v={v}" : p;
    }

    internal void OnPrepareResponse(StaticFileResponseContext ctx)
    {
        var h = ctx.Context.Response.Headers;
        var path = ctx.Context.Request.Path.Value ?? "";
        var v = ctx.Context.Request.Query["v"].ToString();
        h.CacheControl = v.Length > 0 && v == Version(path) ? "public, max-age=31536000, immutable" : "public, no-cache";
        h.XContentTypeOptions = "nosniff";
    }
}

public static class StaticAssetsExtensions
{
    /// <summary>
    /// Serves wwwroot without a login (library code, styles and icons; no data), before authentication so
    /// the fallback authorization policy does not apply. <c>/favicon.ico</c> is a real icon file there too.
    /// </summary>
    public static void UseWebAssets(this WebApplication app)
    {
        var assets = app.Services.GetRequiredService<StaticAssets>();
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".js"] = "text/javascript";
        app.UseStaticFiles(new StaticFileOptions
        {
            ContentTypeProvider = types,
            OnPrepareResponse = assets.OnPrepareResponse,
        });
        // A missing asset is a 404, not a login page.
        app.Use((ctx, next) =>
        {
            var p = ctx.Request.Path;
            if (p.StartsWithSegments("/css") || p.StartsWithSegments("/js") || p.StartsWithSegments("/lib"))
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return next(ctx);
        });
    }
}
