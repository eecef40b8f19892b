using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Watchkeeper.Server.Web;

/// <summary>
/// The one Markdown renderer of the pages (timeline notes, status updates, summaries, postmortems): Markdig with raw
/// HTML disabled (any HTML in the text is shown as text), bare URLs made links, task lists and tables. Every link
/// opens with <c>rel="noopener nofollow"</c>; a link whose scheme is not http, https or mailto (javascript:, data:)
/// keeps its text and loses its target. Headings move down one level: the page owns its h1.
/// </summary>
public static class Markdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UseAutoLinks()
        .UseTaskLists()
        .UsePipeTables()
        .UseEmphasisExtras()
        .UseSoftlineBreakAsHardlineBreak()
        .Build();

    /// <summary>Markdown to safe HTML.</summary>
    public static string ToHtml(string markdown)
    {
        var doc = Markdig.Markdown.Parse(markdown ?? "", Pipeline);
        foreach (var node in doc.Descendants())
        {
            switch (node)
            {
                case HeadingBlock h:
                    h.Level = Math.Min(h.Level + 1, 6);
                    break;
                case LinkInline link:
                    if (link.IsImage)
                    {
                        // Images would load from anywhere (and leak the reader's address): shown as links instead.
                        link.IsImage = false;
                    }
                    if (!SafeUrl(link.Url)) link.Url = "";
                    link.GetAttributes().AddPropertyIfNotExist("rel", "noopener nofollow");
                    break;
                case AutolinkInline auto:
                    if (!SafeUrl(auto.Url)) auto.Url = "";
                    auto.GetAttributes().AddPropertyIfNotExist("rel", "noopener nofollow");
                    break;
            }
        }
        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.Render(doc);
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>http(s), mailto, a path on this site or a fragment; nothing that runs or embeds (javascript:, data:, vbscript:).</summary>
    public static bool SafeUrl(string? url)
    {
        if (string.IsNullOrEmpty(url)) return true;
        var u = url.Trim();
        if (u.StartsWith('#') || (u.StartsWith('/') && !u.StartsWith("//", StringComparison.Ordinal) && !u.StartsWith("/\\", StringComparison.Ordinal))) return true;
        var colon = u.IndexOf(':', StringComparison.Ordinal);
        var slash = u.IndexOfAny(['/', '?', '#']);
        if (colon < 0 || (slash >= 0 && slash < colon)) return !u.StartsWith("//", StringComparison.Ordinal); // relative
        var scheme = u[..colon].ToLowerInvariant();
        return scheme is "http" or "https" or "mailto";
    }
}
