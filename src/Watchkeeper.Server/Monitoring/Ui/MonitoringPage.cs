using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// The page shell of the monitoring pages (head, navigation, base styles). It is the only place
/// that knows about the surrounding layout: swap its body for the shared layout when there is one.
/// The pages put their own stylesheet and script tags at the start of the body, so any layout that
/// takes a title and a body can host them.
/// </summary>
public static class MonitoringPage
{
    private static readonly (string Href, string Label)[] Nav = [("/incidents", "Incidents"), ("/targets", "Targets"), ("/query", "Query")];

    /// <summary>A complete HTML document. <paramref name="bodyHtml"/> must already be encoded.</summary>
    public static IResult Render(HttpContext http, string title, string bodyHtml)
    {
        var path = http.Request.Path.Value ?? "";
        var user = http.User.FindFirstValue(ClaimTypes.Name) ?? http.User.Identity?.Name;
        var af = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        var nav = string.Concat(Nav.Select(n =>
            $"""<a href="{n.Href}"{(path.StartsWith(n.Href, StringComparison.Ordinal) ? " aria-current=\"page\"" : "")}>{n.Label}</a>"""));
        var account = user is null ? "" : $"""
            <form class="wk-logout" method="post" action="/logout"><input type="hidden" name="{Html.Encode(af.FormFieldName)}" value="{Html.Encode(af.RequestToken ?? "")}"><span>{Html.Encode(user)}</span> <button type="submit">Log out</button></form>
            """;
        var html = $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Html.Encode(title)} · Watchkeeper</title>
            <style>{ShellCss}</style>
            </head>
            <body>
            <header class="wk-top"><a class="wk-brand" href="/">Watchkeeper</a><nav aria-label="Main">{nav}</nav>{account}</header>
            <main>
            {bodyHtml}
            </main>
            </body>
            </html>
            """;
        http.Response.Headers.CacheControl = "no-store";
        // As the other UI pages: no framing, scripts only from the app itself.
        http.Response.Headers.ContentSecurityPolicy =
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
        http.Response.Headers.XFrameOptions = "DENY";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "same-origin";
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private const string ShellCss = """
        :root{--fg:#1d2329;--muted:#5d6875;--line:#d9dee4;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf;--ok:#1b7f3b;--bad:#b42318;--warn:#9a6700;color-scheme:light dark}
        @media (prefers-color-scheme: dark){:root{--fg:#e6e8eb;--muted:#9aa3af;--line:#2e343d;--bg:#111418;--card:#1a1e24;--accent:#6ea8ff;--ok:#3ccf6e;--bad:#ff5a5f;--warn:#e8a23d}}
        *{box-sizing:border-box}
        body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        .wk-top{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.25rem;background:#16202c;color:#fff}
        .wk-top a{color:#d6e2f0;text-decoration:none}
        .wk-top a[aria-current=page]{color:#fff;font-weight:600;border-bottom:2px solid #7fb2ff}
        .wk-brand{font-weight:700;color:#fff!important}
        .wk-top nav{display:flex;gap:1rem;flex:1}
        .wk-logout{display:flex;gap:.5rem;align-items:center;margin:0;color:#d6e2f0}
        main{padding:1rem 1.25rem;max-width:1400px}
        h1{font-size:1.4rem;margin:.2rem 0 1rem}
        a{color:var(--accent)}
        table{border-collapse:collapse;width:100%;background:var(--card)}
        th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-weight:600;color:var(--muted);background:color-mix(in srgb,var(--card) 92%,var(--fg))}
        code,pre,textarea,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
        """;
}

/// <summary>HTML encoding for everything that is not markup we wrote.</summary>
public static class Html
{
    public static string Encode(string? s) => s is null ? "" : HtmlEncoder.Default.Encode(s);

    /// <summary>Encodes a URL query value.</summary>
    public static string Url(string? s) => s is null ? "" : Uri.EscapeDataString(s);
}
