using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Watchkeeper.Server.Incidents;

/// <summary>A committed change of an incident: its new version and who made it.</summary>
public sealed record IncidentChange(long IncidentId, long Version, string Actor, string Action);

/// <summary>
/// Change notices for the incident page's server-sent events: every committed change of an incident is published to
/// the pages watching it in this process. Another replica's changes are not published here; the event stream also
/// compares the stored version on its heartbeat, so they arrive within one heartbeat. Each subscriber has a small
/// bounded queue that keeps the newest notice (a slow page loses intermediate versions, never the latest).
/// </summary>
public sealed class IncidentEvents
{
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<Channel<IncidentChange>, byte>> _watchers = new();
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);

    /// <summary>Open event streams one user may hold at once (tabs on several incidents, a phone).</summary>
    public const int MaxStreamsPerUser = 8;

    public void Publish(IncidentChange change)
    {
        if (!_watchers.TryGetValue(change.IncidentId, out var set)) return;
        foreach (var ch in set.Keys) ch.Writer.TryWrite(change);
    }

    /// <summary>Takes one of the user's stream slots; false when the user already holds <see cref="MaxStreamsPerUser"/>.</summary>
    public bool TryAcquire(string user)
    {
        while (true)
        {
            var n = _perUser.GetOrAdd(user, 0);
            if (n >= MaxStreamsPerUser) return false;
            if (_perUser.TryUpdate(user, n + 1, n)) return true;
        }
    }

    public void Release(string user)
    {
        while (true)
        {
            if (!_perUser.TryGetValue(user, out var n)) return;
            if (n <= 1 ? _perUser.TryRemove(new KeyValuePair<string, int>(user, n)) : _perUser.TryUpdate(user, n - 1, n)) return;
        }
    }

    public int StreamsOf(string user) => _perUser.GetValueOrDefault(user);

    public Subscription Subscribe(long incidentId)
    {
        var ch = Channel.CreateBounded<IncidentChange>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
        _watchers.GetOrAdd(incidentId, _ => new()).TryAdd(ch, 0);
        return new Subscription(this, incidentId, ch);
    }

    private void Unsubscribe(long incidentId, Channel<IncidentChange> ch)
    {
        if (_watchers.TryGetValue(incidentId, out var set))
        {
            set.TryRemove(ch, out _);
            if (set.IsEmpty) _watchers.TryRemove(new KeyValuePair<long, ConcurrentDictionary<Channel<IncidentChange>, byte>>(incidentId, set));
        }
    }

    public sealed class Subscription(IncidentEvents owner, long incidentId, Channel<IncidentChange> channel) : IDisposable
    {
        public ChannelReader<IncidentChange> Reader => channel.Reader;
        public void Dispose() => owner.Unsubscribe(incidentId, channel);
    }
}
