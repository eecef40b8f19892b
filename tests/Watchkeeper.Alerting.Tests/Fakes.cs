using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Dispatch;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Silences;
using Microsoft.Extensions.Time.Testing;

namespace Watchkeeper.Alerting.Tests;

/// <summary>A notification log in memory that records every committed notification (a stand-in for the database and the outbox).</summary>
public sealed class MemoryNflog : INotificationLog
{
    public Dictionary<string, NflogEntry> Entries { get; } = [];
    public List<OutboxItem> Sent { get; } = [];

    public Task<IReadOnlyList<NflogEntry>> LoadAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<NflogEntry>>([.. Entries.Values]);

    public Task CommitAsync(NflogEntry entry, OutboxItem? item, CancellationToken ct)
    {
        Entries[entry.Key] = entry;
        if (item is not null) Sent.Add(item);
        return Task.CompletedTask;
    }

    public Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        var gone = Entries.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList();
        foreach (var k in gone) Entries.Remove(k);
        return Task.FromResult(gone.Count);
    }
}

public sealed class MemorySilenceStore : ISilenceStore
{
    public Dictionary<string, Silence> Rows { get; } = [];
    public Task<IReadOnlyList<Silence>> LoadSilencesAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<Silence>>([.. Rows.Values]);

    public Task SaveSilencesAsync(IReadOnlyList<Silence> silences, SilenceChange? change, CancellationToken ct)
    {
        foreach (var s in silences) Rows[s.Id] = s;
        return Task.CompletedTask;
    }

    public Task DeleteSilencesAsync(IReadOnlyList<string> ids, CancellationToken ct)
    {
        foreach (var id in ids) Rows.Remove(id);
        return Task.CompletedTask;
    }
}

/// <summary>An engine on a fake clock with in-memory persistence.</summary>
public sealed class Harness : IDisposable
{
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));
    public MemoryNflog Nflog { get; }
    public MemorySilenceStore SilenceStore { get; }
    public AlertingEngine Engine { get; }

    public Harness(string yaml, MemoryNflog? nflog = null, MemorySilenceStore? silences = null)
    {
        Nflog = nflog ?? new MemoryNflog();
        SilenceStore = silences ?? new MemorySilenceStore();
        Engine = new AlertingEngine(new AlertStore(Time), new SilenceBook(SilenceStore, Time), Nflog, Time, "http://wk.example/alertmanager");
        Engine.StartAsync(Config(yaml), CancellationToken.None).GetAwaiter().GetResult();
    }

    public static AlertmanagerConfig Config(string yaml) => AlertmanagerConfigLoader.Parse(yaml, "/etc/am/alertmanager.yml", "/etc/am");

    public void Post(params (string Labels, DateTimeOffset? EndsAt)[] alerts)
    {
        var errors = Engine.Receive([.. alerts.Select(a => new PostableAlert(Labels(a.Labels), new Dictionary<string, string>(), null, a.EndsAt, ""))]);
        Assert.Empty(errors);
    }

    public void Post(params string[] labels) => Post([.. labels.Select(l => (l, (DateTimeOffset?)null))]);

    public static Dictionary<string, string> Labels(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0].Trim(), p => p[1].Trim());

    /// <summary>Advances the clock and flushes what is due; returns the notifications committed by this step.</summary>
    public List<OutboxItem> Advance(TimeSpan by)
    {
        var before = Nflog.Sent.Count;
        Time.Advance(by);
        Engine.FlushDueAsync(CancellationToken.None).GetAwaiter().GetResult();
        return Nflog.Sent.Skip(before).ToList();
    }

    public void Dispose()
    {
        Engine.Dispose();
        Engine.Silences.Dispose();
    }
}
