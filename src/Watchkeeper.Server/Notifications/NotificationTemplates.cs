using Watchkeeper.Alerting.Notify;

namespace Watchkeeper.Server.Notifications;

/// <summary>
/// The notification templates in use: Watchkeeper's defaults on the Go template engine, then the configured
/// <c>templates:</c> files (<see cref="TemplateFiles"/>), parsed once.
/// </summary>
public sealed class DefaultTemplatesSource(TemplateFiles files) : INotificationTemplatesSource
{
    private readonly Lazy<INotificationTemplates> _current = new(() => new GoNotificationTemplates(files.Paths));

    public INotificationTemplates Current => _current.Value;
}

/// <summary>The <c>templates:</c> files (absolute paths) of the Alertmanager configuration; none by default.</summary>
public sealed record TemplateFiles(IReadOnlyList<string> Paths);
