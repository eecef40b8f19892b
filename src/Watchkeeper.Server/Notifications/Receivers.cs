using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;

namespace Watchkeeper.Server.Notifications;

/// <summary>The receivers of the running configuration, as the sender resolves them when it sends (no secret is stored in the outbox).</summary>
public interface IReceiverSource
{
    IReadOnlyList<ReceiverConfig> Receivers { get; }
}

/// <summary>The receivers of the running configuration (Alertmanager's <c>receivers</c>, or <c>alertmanager_config_file</c>'s), reloaded with it.</summary>
public sealed class ConfigReceivers(Watchkeeper.Server.Platform.ConfigHolder config) : IReceiverSource
{
    public IReadOnlyList<ReceiverConfig> Receivers => config.Current.Alertmanager.Receivers;
}

/// <summary>A fixed list of receivers (tests, and a server whose configuration has no Alertmanager sections).</summary>
public sealed class StaticReceivers(IReadOnlyList<ReceiverConfig> receivers) : IReceiverSource
{
    public IReadOnlyList<ReceiverConfig> Receivers { get; } = receivers;
}

/// <summary>The notification templates in use: the defaults plus the configured <c>templates:</c> files.</summary>
public interface INotificationTemplatesSource
{
    INotificationTemplates Current { get; }
}

/// <summary>One integration of one receiver, with whether it can send (for the UI, the API and <c>wk</c>).</summary>
public sealed record IntegrationInfo(string Receiver, string Integration, string Kind, bool Configured, string? Unconfigured, bool SendResolved);

public static class ReceiverInfo
{
    public static IReadOnlyList<IntegrationInfo> List(IReceiverSource source) =>
        [.. source.Receivers.SelectMany(r => r.Integrations().Select(i =>
        {
            var why = Integrations.Unconfigured(i.Config);
            return new IntegrationInfo(r.Name, i.Name, Integrations.Kind(i.Config), why is null, why, i.Config.SendResolved);
        }))];
}
