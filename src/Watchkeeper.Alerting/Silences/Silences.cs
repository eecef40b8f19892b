using Watchkeeper.Alerting.Routing;

namespace Watchkeeper.Alerting.Silences;

public enum SilenceState { Pending, Active, Expired }

/// <summary>A silence: alerts matching all <see cref="Matchers"/> are muted from <see cref="StartsAt"/> until <see cref="EndsAt"/>.</summary>
public sealed record Silence(string Id, Matchers Matchers, DateTimeOffset StartsAt, DateTimeOffset EndsAt, DateTimeOffset UpdatedAt, string CreatedBy, string Comment)
{
    public SilenceState State(DateTimeOffset now) => EndsAt <= now ? SilenceState.Expired : StartsAt > now ? SilenceState.Pending : SilenceState.Active;

    public static string StateName(SilenceState s) => s switch { SilenceState.Pending => "pending", SilenceState.Active => "active", _ => "expired" };

    /// <summary>Approximate stored size: matchers, comment and author (for the per-silence size limit).</summary>
    public int SizeBytes => System.Text.Encoding.UTF8.GetByteCount(Comment) + System.Text.Encoding.UTF8.GetByteCount(CreatedBy) + Id.Length
        + Matchers.Sum(m => System.Text.Encoding.UTF8.GetByteCount(m.Name) + System.Text.Encoding.UTF8.GetByteCount(m.Value) + 4);
}

/// <summary>Who changed silences and why (the silence's comment, or the reason given for expiring it), for the store's audit trail.</summary>
public sealed record SilenceChange(string Actor, string Reason);

/// <summary>Where silences are kept across restarts (the server's database).</summary>
public interface ISilenceStore
{
    Task<IReadOnlyList<Silence>> LoadSilencesAsync(CancellationToken ct);
    /// <summary>Saves created, updated or expired silences; <paramref name="change"/> says who and why, when known.</summary>
    Task SaveSilencesAsync(IReadOnlyList<Silence> silences, SilenceChange? change, CancellationToken ct);
    Task DeleteSilencesAsync(IReadOnlyList<string> ids, CancellationToken ct);
}

/// <summary>Limits on silences: how many may be pending or active at once, and how large one may be.</summary>
public sealed record SilenceLimits
{
    public int MaxSilences { get; init; } = 10_000;
    public int MaxSilenceSizeBytes { get; init; } = 64 * 1024;
    public int MaxMatchers { get; init; } = 64;
    /// <summary>How long an expired silence is kept (Alertmanager's <c>--data.retention</c>, 120h).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(120);
}

/// <summary>A rejected silence: <see cref="NotFound"/> for an unknown id, else a validation error.</summary>
public sealed class SilenceException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>
/// The silences, in memory and persisted through <see cref="ISilenceStore"/>, with Alertmanager's rules: a silence
/// keeps its id when an update only moves its end (active) or its times (pending); changing the matchers, or the
/// start of an active silence, expires it and creates a new one.
/// </summary>
public sealed class SilenceBook(ISilenceStore store, TimeProvider time, SilenceLimits? limits = null) : IDisposable
{
    public void Dispose() => _writes.Dispose();

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Silence> _all = new(StringComparer.Ordinal);
    private Silence[] _unexpired = [];
    private readonly SemaphoreSlim _writes = new(1, 1);

    public SilenceLimits Limits { get; } = limits ?? new SilenceLimits();

    public async Task LoadAsync(CancellationToken ct)
    {
        var list = await store.LoadSilencesAsync(ct);
        lock (_gate)
        {
            _all.Clear();
            foreach (var s in list) _all[s.Id] = s;
            Rebuild();
        }
    }

    /// <summary>
    /// Re-reads the silences from the store, where other replicas sharing it write theirs; serialised with this
    /// book's own writes, so a silence saved here is never lost to a read taken before it.
    /// </summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await _writes.WaitAsync(ct);
        try
        {
            await LoadAsync(ct);
        }
        finally
        {
            _writes.Release();
        }
    }

    private void Rebuild()
    {
        var now = time.GetUtcNow();
        _unexpired = [.. _all.Values.Where(s => s.State(now) != SilenceState.Expired)];
    }

    public Silence? Get(string id)
    {
        lock (_gate) return _all.GetValueOrDefault(id);
    }

    public IReadOnlyList<Silence> All()
    {
        lock (_gate) return [.. _all.Values];
    }

    /// <summary>The ids of the active silences that mute a label set (Alertmanager's silencedBy).</summary>
    public List<string> Mutes(IReadOnlyDictionary<string, string> labels)
    {
        var now = time.GetUtcNow();
        var snapshot = Volatile.Read(ref _unexpired);
        List<string>? ids = null;
        foreach (var s in snapshot)
        {
            if (s.State(now) == SilenceState.Active && s.Matchers.Matches(labels)) (ids ??= []).Add(s.Id);
        }
        return ids ?? [];
    }

    /// <summary>Creates or updates a silence and returns its id (a new one when the update replaces it).</summary>
    public Task<string> SetAsync(Silence input, CancellationToken ct) => SetAsync(input, null, ct);

    /// <summary>Creates or updates a silence for <paramref name="actor"/> (recorded with the silence's comment as the reason).</summary>
    public async Task<string> SetAsync(Silence input, string? actor, CancellationToken ct)
    {
        await _writes.WaitAsync(ct);
        try
        {
            var now = time.GetUtcNow();
            Validate(input, now);
            Silence? prev = null;
            if (input.Id.Length > 0)
            {
                lock (_gate) prev = _all.GetValueOrDefault(input.Id);
                if (prev is null) throw new SilenceException($"silence {input.Id} not found", notFound: true);
            }
            var changed = new List<Silence>();
            string id;
            if (prev is not null && CanUpdate(prev, input, now))
            {
                var updated = input with { UpdatedAt = now };
                changed.Add(updated);
                id = updated.Id;
            }
            else
            {
                int count;
                lock (_gate) count = _all.Values.Count(s => s.State(now) != SilenceState.Expired);
                if (prev is not null && prev.State(now) != SilenceState.Expired)
                {
                    changed.Add(ExpireAt(prev, now));
                    count--;
                }
                if (count >= Limits.MaxSilences) throw new SilenceException($"exceeded maximum number of silences: {count} (limit: {Limits.MaxSilences})");
                id = Guid.NewGuid().ToString();
                changed.Add(input with { Id = id, StartsAt = input.StartsAt < now ? now : input.StartsAt, UpdatedAt = now });
            }
            await store.SaveSilencesAsync(changed, actor is null ? null : new SilenceChange(actor, input.Comment), ct);
            lock (_gate)
            {
                foreach (var s in changed) _all[s.Id] = s;
                Rebuild();
            }
            return id;
        }
        finally
        {
            _writes.Release();
        }
    }

    public Task ExpireAsync(string id, CancellationToken ct) => ExpireAsync(id, null, ct);

    /// <summary>Expires a silence; <paramref name="change"/> says who and why.</summary>
    public async Task ExpireAsync(string id, SilenceChange? change, CancellationToken ct)
    {
        await _writes.WaitAsync(ct);
        try
        {
            var now = time.GetUtcNow();
            Silence? s;
            lock (_gate) s = _all.GetValueOrDefault(id);
            if (s is null) throw new SilenceException($"silence {id} not found", notFound: true);
            if (s.State(now) == SilenceState.Expired) throw new SilenceException($"silence {id} already expired");
            var expired = ExpireAt(s, now);
            await store.SaveSilencesAsync([expired], change, ct);
            lock (_gate)
            {
                _all[id] = expired;
                Rebuild();
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Drops silences expired longer than the retention, and refreshes which silences can still mute.</summary>
    public async Task<int> GcAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        List<string> old;
        lock (_gate)
        {
            old = [.. _all.Values.Where(s => s.EndsAt + Limits.Retention < now).Select(s => s.Id)];
            Rebuild();
        }
        if (old.Count == 0) return 0;
        await store.DeleteSilencesAsync(old, ct);
        lock (_gate)
        {
            foreach (var id in old) _all.Remove(id);
            Rebuild();
        }
        return old.Count;
    }

    private static Silence ExpireAt(Silence s, DateTimeOffset now) =>
        s.State(now) == SilenceState.Pending ? s with { StartsAt = now, EndsAt = now, UpdatedAt = now } : s with { EndsAt = now, UpdatedAt = now };

    private void Validate(Silence s, DateTimeOffset now)
    {
        if (s.Matchers.Count == 0) throw new SilenceException("at least one matcher required");
        if (s.Matchers.Count > Limits.MaxMatchers) throw new SilenceException($"too many matchers: {s.Matchers.Count} (limit: {Limits.MaxMatchers})");
        if (s.Matchers.All(m => m.MatchesValue(""))) throw new SilenceException("at least one matcher must not match the empty string");
        if (string.IsNullOrWhiteSpace(s.CreatedBy)) throw new SilenceException("createdBy is required");
        if (string.IsNullOrWhiteSpace(s.Comment)) throw new SilenceException("comment is required");
        if (s.EndsAt < s.StartsAt) throw new SilenceException("start time must be before end time");
        if (s.EndsAt < now) throw new SilenceException("end time can't be in the past");
        if (s.SizeBytes > Limits.MaxSilenceSizeBytes) throw new SilenceException($"silence too large: {s.SizeBytes} bytes (limit: {Limits.MaxSilenceSizeBytes})");
    }

    /// <summary>Alertmanager's <c>canUpdate</c>: same matchers, and time changes the current state allows.</summary>
    private static bool CanUpdate(Silence a, Silence b, DateTimeOffset now)
    {
        if (a.Matchers.ToString() != b.Matchers.ToString()) return false;
        switch (a.State(now))
        {
            case SilenceState.Active:
                if (b.StartsAt != a.StartsAt) return false;
                if (b.EndsAt < now) return false;
                break;
            case SilenceState.Pending:
                if (b.StartsAt < now) return false;
                break;
            default:
                return false;
        }
        return true;
    }
}
