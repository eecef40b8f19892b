using System.Text;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Web;

/// <summary>
/// Renders the small Markdown subset Watchkeeper itself writes (status updates, postmortems):
/// headings, bullet lists with optional task boxes, paragraphs and <c>**bold**</c>. The text is
/// HTML-encoded before any markup is added, so user content can never inject HTML.
/// </summary>
public static partial class Markdown
{
    [GeneratedRegex(@"\*\*(.+?)\*\*")]
    private static partial Regex Bold();

    public static string ToHtml(string markdown)
    {
        var sb = new StringBuilder(markdown.Length * 2);
        var inList = false;
        var para = new List<string>();

        void FlushPara()
        {
            if (para.Count == 0) return;
            sb.Append("<p>").Append(string.Join("<br>", para)).Append("</p>");
            para.Clear();
        }

        void CloseList()
        {
            if (!inList) return;
            sb.Append("</ul>");
            inList = false;
        }

        foreach (var raw in markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0)
            {
                FlushPara();
                CloseList();
                continue;
            }
            var level = 0;
            while (level < line.Length && level < 6 && line[level] == '#') level++;
            if (level > 0 && level < line.Length && line[level] == ' ')
            {
                FlushPara();
                CloseList();
                var h = Math.Min(level + 1, 6); // the page owns h1
                sb.Append($"<h{h}>").Append(Inline(line[(level + 1)..])).Append($"</h{h}>");
                continue;
            }
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("- ", StringComparison.Ordinal) || trimmed.StartsWith("* ", StringComparison.Ordinal))
            {
                FlushPara();
                if (!inList) { sb.Append("<ul>"); inList = true; }
                var item = trimmed[2..];
                if (item.StartsWith("[ ] ", StringComparison.Ordinal)) sb.Append("<li>☐ ").Append(Inline(item[4..])).Append("</li>");
                else if (item.StartsWith("[x] ", StringComparison.OrdinalIgnoreCase)) sb.Append("<li>☑ ").Append(Inline(item[4..])).Append("</li>");
                else sb.Append("<li>").Append(Inline(item)).Append("</li>");
                continue;
            }
            CloseList();
            para.Add(Inline(line));
        }
        FlushPara();
        CloseList();
        return sb.ToString();
    }

    private static string Inline(string text) => Bold().Replace(System.Net.WebUtility.HtmlEncode(text), "<strong>$1</strong>");
}
