using System.Collections.Concurrent;
using Watchkeeper.Alerting.Templates;
using Watchkeeper.Metrics.Templates;

namespace Watchkeeper.Alerting.Notify;

/// <summary>
/// Notification templates on the one Go template engine (Watchkeeper.Metrics/Templates) with Alertmanager's functions
/// and data names: the default templates (default.tmpl) and then each <c>templates:</c> file, which may redefine any
/// default. Each distinct field text is parsed once (bounded cache).
/// </summary>
public sealed class GoNotificationTemplates : INotificationTemplates
{
    private const int MaxCached = 2_000;
    private readonly TemplateSet _base;
    private readonly ConcurrentDictionary<string, TemplateSet> _byText = new(StringComparer.Ordinal);

    /// <summary>Parses the defaults and <paramref name="files"/>; throws <see cref="NotificationTemplateException"/> naming the file on a parse error.</summary>
    public GoNotificationTemplates(IEnumerable<string>? files = null)
    {
        _base = new TemplateSet(AlertmanagerFunctions.Functions);
        Parse("default.tmpl", DefaultText);
        foreach (var f in files ?? [])
        {
            string text;
            try
            {
                text = File.ReadAllText(f);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new NotificationTemplateException($"{f}: {ex.Message}", ex);
            }
            Parse(f, text);
        }
    }

    private void Parse(string name, string text)
    {
        try
        {
            _base.Parse(name, text);
        }
        catch (TemplateException ex)
        {
            throw new NotificationTemplateException($"{name}: {ex.Message}", ex);
        }
    }

    /// <summary>Watchkeeper's default notification templates (Go template syntax).</summary>
    public static string DefaultText { get; } = ReadDefault();

    private static string ReadDefault()
    {
        using var s = typeof(GoNotificationTemplates).Assembly.GetManifestResourceStream("Watchkeeper.Alerting.Notify.default.tmpl")
                      ?? throw new InvalidOperationException("default.tmpl is not embedded");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public string Expand(string text, TemplateData data)
    {
        if (!text.Contains("{{", StringComparison.Ordinal)) return text;
        if (!_byText.TryGetValue(text, out var set))
        {
            set = _base.Clone();
            try
            {
                set.Parse("__field", text);
            }
            catch (TemplateException ex)
            {
                throw new NotificationTemplateException(ex.Message, ex);
            }
            if (_byText.Count >= MaxCached) _byText.Clear();
            _byText[text] = set;
        }
        try
        {
            return set.Execute("__field", new NotificationTemplateData(data));
        }
        catch (TemplateException ex)
        {
            throw new NotificationTemplateException(ex.Message, ex);
        }
    }
}
