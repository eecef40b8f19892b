namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// The monitoring pages in the shared UI layout (Web/Html.Page). The pages put their own stylesheet
/// and script tags at the start of the body.
/// </summary>
public static class MonitoringPage
{
    /// <summary>A complete HTML document. <paramref name="bodyHtml"/> must already be encoded.</summary>
    public static IResult Render(HttpContext http, string title, string bodyHtml)
    {
        var path = http.Request.Path.Value ?? "";
        var active = path.StartsWith("/targets", StringComparison.Ordinal) ? "targets" : "query";
        Web.WebModule.SecurityHeaders(http);
        return Web.Html.Page(new Web.PageContext(http), title, active, bodyHtml);
    }
}

/// <summary>HTML encoding for the monitoring pages: the shared UI's encoder.</summary>
public static class Html
{
    public static string Encode(string? s) => Web.Html.E(s);

    public static string Url(string? s) => Web.Html.Url(s);
}
