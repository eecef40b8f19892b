using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Notifications;

/// <summary>
/// The notification templates in use: Watchkeeper's defaults on the Go template engine, then the configured
/// <c>templates:</c> files, parsed once per configuration (again after a reload that changes them). A template file
/// that does not parse fails each notification with its error (recorded on the attempt) until it is fixed.
/// </summary>
public sealed class DefaultTemplatesSource(ConfigHolder config) : INotificationTemplatesSource
{
    private readonly Lock _lock = new();
    private IReadOnlyList<string>? _files;
    private INotificationTemplates? _current;
    private NotificationTemplateException? _error;

    public INotificationTemplates Current
    {
        get
        {
            var files = config.Current.Alertmanager.Templates;
            lock (_lock)
            {
                if (!ReferenceEquals(files, _files))
                {
                    _files = files;
                    try
                    {
                        _current = new GoNotificationTemplates(files);
                        _error = null;
                    }
                    catch (NotificationTemplateException ex)
                    {
                        _current = null;
                        _error = ex;
                    }
                }
                return _current ?? throw new NotificationTemplateException("templates: " + _error!.Message);
            }
        }
    }
}
