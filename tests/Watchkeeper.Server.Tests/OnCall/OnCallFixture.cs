using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.OnCall;

namespace Watchkeeper.Server.Tests.OnCall;

/// <summary>Records what the escalation engine commits to the outbox (the notify helper's outbox sends it in production).</summary>
public sealed class RecordingOutbox : INotificationOutbox
{
    private long _id;
    public ConcurrentQueue<OutboxItem> Items { get; } = new();

    public Task<long> EnqueueAsync(DbConnection connection, DbTransaction transaction, OutboxItem item, CancellationToken ct)
    {
        Items.Enqueue(item);
        return Task.FromResult(Interlocked.Increment(ref _id));
    }
}

/// <summary>A test server with people who can be reached, the escalation worker off (tests run steps) and a recording outbox.</summary>
public static class OnCallServer
{
    /// <summary>
    /// The shipped recurring tasks removed: these tests move the clock by hours, and a daily task falling overdue would
    /// add its info alert's notification to the outbox the tests count.
    /// </summary>
    public static string WithoutTasks(string yaml)
    {
        var start = yaml.IndexOf("\ntasks:\n", StringComparison.Ordinal);
        if (start < 0) return yaml;
        var end = start + 1;
        do end = yaml.IndexOf('\n', end) + 1;
        while (end > 0 && end < yaml.Length && (yaml[end] is ' ' or '\n' or '#'));
        return yaml[..(start + 1)] + (end > 0 ? yaml[end..] : "");
    }

    /// <summary>The shipped people with contact methods: engineers by email and Slack, lead and manager by email.</summary>
    public static string WithContacts(string yaml)
    {
        var start = yaml.IndexOf("people:\n", StringComparison.Ordinal);
        var end = yaml.IndexOf("\n# Who is on call", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "the shipped config's people: block moved");
        return yaml[..start] + """
            people:
              - name: oncall-engineer-1
                roles: [engineer]
                contact: {email: e1@example.org, slack_webhook_url: "http://127.0.0.1:9/slack/e1"}
              - name: oncall-engineer-2
                roles: [engineer]
                contact: {email: e2@example.org, slack_webhook_url: "http://127.0.0.1:9/slack/e2"}
              - name: team-lead
                roles: [team_lead]
                contact: {email: lead@example.org}
              - name: manager
                roles: [management]
                contact: {email: boss@example.org}

            """ + yaml[end..];
    }

    public static Task<TestServer> StartAsync(RecordingOutbox outbox, bool postgres = false, string? dataDir = null, DateTimeOffset? start = null,
        Func<string, string>? edit = null, string? pgDatabase = null) =>
        TestServer.StartAsync(postgres: postgres, dataDir: dataDir, start: start, pgDatabase: pgDatabase,
            editConfig: y => (edit ?? (x => x))(WithoutTasks(WithContacts(y))),
            configure: b =>
            {
                foreach (var d in b.Services.Where(d => d.ImplementationType == typeof(EscalationWorker)).ToList()) b.Services.Remove(d);
                b.Services.AddSingleton<INotificationOutbox>(outbox);
            });
}
