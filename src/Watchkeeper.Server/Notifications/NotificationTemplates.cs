using Watchkeeper.Alerting.Notify;

namespace Watchkeeper.Server.Notifications;

/// <summary>The default templates and the configured template files, compiled once per configuration.</summary>
public sealed class DefaultTemplatesSource : INotificationTemplatesSource
{
    public INotificationTemplates Current { get; } = new Pending();

    private sealed class Pending : INotificationTemplates
    {
        public string Expand(string text, TemplateData data) =>
            throw new NotificationTemplateException("the Go template engine (Watchkeeper.Metrics/Templates) is not on this build yet");
    }
}
