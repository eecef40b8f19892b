using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Alerting;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>Records what the dispatcher enqueues, checking it is called inside the caller's transaction.</summary>
public sealed class RecordingOutbox : INotificationOutbox
{
    public List<OutboxItem> Items { get; } = [];

    public Task<long> EnqueueAsync(DbConnection connection, DbTransaction transaction, OutboxItem item, CancellationToken ct)
    {
        Assert.Same(connection, transaction.Connection);
        lock (Items) Items.Add(item);
        return Task.FromResult((long)Items.Count);
    }
}

/// <summary>Alertmanager's API v2 under /alertmanager, the dispatcher and its persistence on both providers.</summary>
public sealed class AlertmanagerApiTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private const string AmYaml = """
        route:
          receiver: team
          group_by: [alertname]
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 4h
        receivers:
          - name: team
            webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
        """;

    private static async Task<TestServer> Start(string provider, RecordingOutbox outbox, DateTimeOffset start, string? dataDir = null, string? pgDb = null)
    {
        var pg = provider == "postgres";
        return await TestServer.StartAsync(pg, y => WithAlertmanager(y, AmFile), start, dataDir: dataDir, pgDatabase: pgDb, configure: b =>
        {
            b.Services.AddSingleton<INotificationOutbox>(outbox);
            foreach (var d in b.Services.Where(d => d.ImplementationType == typeof(AlertingWorker)).ToList()) b.Services.Remove(d);
        });
    }

    /// <summary>The test's alertmanager.yml, at an absolute path the test configurations name.</summary>
    private static readonly string AmFile = WriteAmFile();

    private static string WriteAmFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"wk-am-test-{Environment.ProcessId}-alertmanager.yml");
        File.WriteAllText(path, AmYaml);
        return path;
    }

    private static readonly HashSet<string> AmSections = ["route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates", "alertmanager", "alertmanager_config_file"];

    /// <summary>The shipped configuration with its Alertmanager sections (if any) replaced by <c>alertmanager_config_file</c>.</summary>
    public static string WithAlertmanager(string yaml, string amFile)
    {
        var sb = new System.Text.StringBuilder();
        var skipping = false;
        foreach (var line in yaml.Split('\n'))
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]) && line[0] != '#')
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                skipping = colon > 0 && AmSections.Contains(line[..colon]);
            }
            if (!skipping) sb.Append(line).Append('\n');
        }
        return sb.Append("alertmanager_config_file: ").Append(amFile).Append('\n').ToString();
    }

    private static async Task<HttpResponseMessage> PostJson(HttpClient c, string url, string json) =>
        await c.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    private static string AlertJson(string name, DateTimeOffset? ends = null) =>
        "{\"labels\":{\"alertname\":\"" + name + "\",\"severity\":\"warning\"},\"annotations\":{\"summary\":\"s\"}" + (ends is { } e ? $",\"endsAt\":\"{e:O}\"" : "") + "}";

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Restart_keeps_silences_and_the_notification_log(string provider)
    {
        var pg = provider == "postgres";
        TestServer.SkipUnlessAvailable(pg);
        var root = Directory.CreateTempSubdirectory("wk-am-").FullName;
        var data = Path.Combine(root, "data");
        var pgDb = pg ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            var outbox = new RecordingOutbox();
            string silenceId;
            await using (var s = await Start(provider, outbox, T0, data, pgDb))
            {
                using var c = await s.ClientAsAsync("responder");
                var far = T0.AddDays(1);
                Assert.Equal(HttpStatusCode.OK, (await PostJson(c, "/alertmanager/api/v2/alerts", $"[{AlertJson("Down", far)},{AlertJson("Muted", far)}]")).StatusCode);
                var r = await PostJson(c, "/alertmanager/api/v2/silences", $$$"""
                    {"matchers":[{"name":"alertname","value":"Muted","isRegex":false,"isEqual":true}],"startsAt":"{{{T0:O}}}","endsAt":"{{{T0.AddHours(2):O}}}","createdBy":"ops","comment":"deploy"}
                    """);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                silenceId = (await Json(r)).GetProperty("silenceID").GetString()!;
                s.Time.Advance(TimeSpan.FromSeconds(30));
                await s.Get<AlertingEngine>().FlushDueAsync(default);
                var item = Assert.Single(outbox.Items);
                Assert.Equal(["Down"], item.Data.Alerts.Select(a => a.Labels["alertname"]));
            }
            // Same database, a later start: Prometheus re-sends the same alerts.
            await using (var s = await Start(provider, outbox, T0.AddMinutes(10), data, pgDb))
            {
                using var c = await s.ClientAsAsync("responder");
                var far = T0.AddDays(1);
                Assert.Equal(HttpStatusCode.OK, (await PostJson(c, "/alertmanager/api/v2/alerts", $"[{AlertJson("Down", far)},{AlertJson("Muted", far)}]")).StatusCode);
                s.Time.Advance(TimeSpan.FromSeconds(30));
                await s.Get<AlertingEngine>().FlushDueAsync(default);
                Assert.Single(outbox.Items);   // not repeated
                var silence = await c.Get($"/alertmanager/api/v2/silence/{silenceId}");
                Assert.Equal("active", silence.GetProperty("status").Str("state"));
                var alerts = await c.Get("/alertmanager/api/v2/alerts?filter=alertname%3DMuted");
                Assert.Equal([silenceId], alerts[0].GetProperty("status").GetProperty("silencedBy").EnumerateArray().Select(x => x.GetString()));
                Assert.Equal("suppressed", alerts[0].GetProperty("status").Str("state"));
                // A change is notified.
                Assert.Equal(HttpStatusCode.OK, (await PostJson(c, "/alertmanager/api/v2/alerts",
                    """[{"labels":{"alertname":"Down","severity":"warning","instance":"b"},"endsAt":"2026-11-03T09:00:00Z"}]""")).StatusCode);
                s.Time.Advance(TimeSpan.FromMinutes(5));
                await s.Get<AlertingEngine>().FlushDueAsync(default);
                Assert.Equal(2, outbox.Items.Count);
            }
        }
        finally
        {
            if (pgDb is not null) await TestServer.DropPostgresDatabaseAsync(pgDb);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Batch_with_invalid_alerts_stores_the_valid_ones_and_names_each_invalid_one()
    {
        var root = await NewServer();
        await using var s = root.Server;
        using var c = await s.ClientAsAsync("responder");
        var r = await PostJson(c, "/alertmanager/api/v2/alerts", $$$"""[{{{AlertJson("A")}}}, {"labels":{}}, {{{AlertJson("B")}}}, {"labels":{"a":"b"},"startsAt":"2026-11-02T10:00:00Z","endsAt":"2026-11-02T09:00:00Z"}, 5]""");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = await Json(r);
        Assert.Equal([1, 3, 4], problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));
        Assert.Contains("alert 1: at least one label pair required", problem.Str("detail"), StringComparison.Ordinal);
        var alerts = await c.Get("/alertmanager/api/v2/alerts");
        Assert.Equal(["A", "B"], alerts.EnumerateArray().Select(a => a.GetProperty("labels").Str("alertname")).Order());
        var a0 = alerts[0];
        foreach (var field in new[] { "annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status", "updatedAt", "labels" }) Assert.True(a0.TryGetProperty(field, out _), field);
        Assert.Equal("team", a0.GetProperty("receivers")[0].Str("name"));
        var groups = await c.Get("/alertmanager/api/v2/alerts/groups");
        Assert.Equal(2, groups.GetArrayLength());
        Assert.Equal("team", groups[0].GetProperty("receiver").Str("name"));
        var status = await c.Get("/alertmanager/api/v2/status");
        Assert.Equal("disabled", status.GetProperty("cluster").Str("status"));
        Assert.Contains("receiver: team", status.GetProperty("config").Str("original"), StringComparison.Ordinal);
        Assert.Equal("team", (await c.Get("/alertmanager/api/v2/receivers"))[0].Str("name"));
    }

    [Fact]
    public async Task Silences_follow_update_or_replace_and_expire_and_viewers_cannot_write()
    {
        var root = await NewServer();
        await using var s = root.Server;
        using var c = await s.ClientAsAsync("responder");
        using var viewer = await s.ClientAsAsync("viewer");
        var body = $$$"""{"matchers":[{"name":"alertname","value":"A","isRegex":false}],"startsAt":"{{{T0:O}}}","endsAt":"{{{T0.AddHours(1):O}}}","createdBy":"ops","comment":"c"}""";
        Assert.Equal(HttpStatusCode.Forbidden, (await PostJson(viewer, "/alertmanager/api/v2/silences", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostJson(viewer, "/alertmanager/api/v2/alerts", $"[{AlertJson("A")}]")).StatusCode);
        var id = (await Json(await PostJson(c, "/alertmanager/api/v2/silences", body))).Str("silenceID");
        // Extending an active silence keeps its id; changing the matchers replaces it.
        var extended = body.Replace("\"createdBy\"", $"\"id\":\"{id}\",\"createdBy\"", StringComparison.Ordinal).Replace(T0.AddHours(1).ToString("O"), T0.AddHours(3).ToString("O"), StringComparison.Ordinal);
        Assert.Equal(id, (await Json(await PostJson(c, "/alertmanager/api/v2/silences", extended))).Str("silenceID"));
        var replaced = (await Json(await PostJson(c, "/alertmanager/api/v2/silences", extended.Replace("\"value\":\"A\"", "\"value\":\"B\"", StringComparison.Ordinal)))).Str("silenceID");
        Assert.NotEqual(id, replaced);
        Assert.Equal("expired", (await c.Get($"/alertmanager/api/v2/silence/{id}")).GetProperty("status").Str("state"));
        var missing = await PostJson(c, "/alertmanager/api/v2/silences", body.Replace("\"comment\":\"c\"", "\"comment\":\"\"", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("comment is required", (await Json(missing)).Str("detail"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await c.DeleteAsync($"/alertmanager/api/v2/silence/{replaced}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.DeleteAsync($"/alertmanager/api/v2/silence/{replaced}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.DeleteAsync("/alertmanager/api/v2/silence/nope")).StatusCode);
        var list = await viewer.Get("/alertmanager/api/v2/silences?filter=alertname%3DB");
        Assert.Equal(replaced, Assert.Single(list.EnumerateArray()).Str("id"));
    }

    [Fact]
    public async Task Silence_create_update_replace_and_expire_are_audited_with_who_and_why()
    {
        var root = await NewServer();
        await using var s = root.Server;
        var (user, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var body = $$$"""{"matchers":[{"name":"alertname","value":"A","isRegex":false}],"startsAt":"{{{T0:O}}}","endsAt":"{{{T0.AddHours(1):O}}}","createdBy":"amtool-user","comment":"disk swap on db-1"}""";
        var id = (await Json(await PostJson(c, "/alertmanager/api/v2/silences", body))).Str("silenceID");
        var extended = body.Replace("\"createdBy\"", $"\"id\":\"{id}\",\"createdBy\"", StringComparison.Ordinal)
            .Replace(T0.AddHours(1).ToString("O"), T0.AddHours(3).ToString("O"), StringComparison.Ordinal).Replace("disk swap on db-1", "swap takes longer", StringComparison.Ordinal);
        Assert.Equal(id, (await Json(await PostJson(c, "/alertmanager/api/v2/silences", extended))).Str("silenceID"));
        var replaced = (await Json(await PostJson(c, "/alertmanager/api/v2/silences", extended.Replace("\"value\":\"A\"", "\"value\":\"B\"", StringComparison.Ordinal)))).Str("silenceID");
        Assert.Equal(HttpStatusCode.OK, (await c.DeleteAsync($"/alertmanager/api/v2/silence/{replaced}")).StatusCode);
        // A refused change writes nothing.
        Assert.Equal(HttpStatusCode.BadRequest, (await c.DeleteAsync($"/alertmanager/api/v2/silence/{replaced}")).StatusCode);

        var records = (await s.Get<AuditLog>().ListAsync(0, 1000, CancellationToken.None)).Where(r => r.EntityType == "silence").ToList();
        Assert.Equal([("silence.create", id), ("silence.update", id), ("silence.expire", id), ("silence.create", replaced), ("silence.expire", replaced)],
            records.Select(r => (r.Action, r.EntityId)));
        // Who: the authenticated user (not the body's createdBy); why: the comment, or the expiry's reason.
        Assert.All(records, r => Assert.Equal(user, r.Actor));
        var after = records.Select(r => JsonDocument.Parse(r.AfterJson!).RootElement).ToList();
        Assert.Equal("disk swap on db-1", after[0].Str("reason"));
        Assert.Equal("amtool-user", after[0].Str("created_by"));
        Assert.Equal("alertname=\"A\"", after[0].Str("matchers").Trim('{', '}'));
        Assert.Equal("swap takes longer", after[1].Str("reason"));
        Assert.Equal("disk swap on db-1", JsonDocument.Parse(records[1].BeforeJson!).RootElement.Str("comment"));
        Assert.Equal("expired through the Alertmanager API", after[4].Str("reason"));
        Assert.True((await s.Client((await s.NewUserAsync("admin")).Token).Get("/api/v1/audit/verify")).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Rule_evaluator_alerts_reach_the_store_through_the_alert_sink()
    {
        var root = await NewServer();
        await using var s = root.Server;
        var sink = s.Services.GetServices<Watchkeeper.Metrics.Rules.IAlertSink>().OfType<AlertmanagerAlertSink>().Single();
        var labels = Watchkeeper.Metrics.Model.Labels.From([new("alertname", "ServiceDown"), new("severity", "critical")]);
        await sink.SendAsync([new(labels, Watchkeeper.Metrics.Model.Labels.Empty, T0, T0.AddMinutes(4), "http://wk/graph")], default);
        using var c = await s.ClientAsAsync("viewer");
        var alert = Assert.Single((await c.Get("/alertmanager/api/v2/alerts")).EnumerateArray());
        Assert.Equal("ServiceDown", alert.GetProperty("labels").Str("alertname"));
        Assert.Equal("http://wk/graph", alert.Str("generatorURL"));
    }

    private static async Task<(TestServer Server, string Root)> NewServer()
    {
        var outbox = new RecordingOutbox();
        var s = await TestServer.StartAsync(false, y => WithAlertmanager(y, AmFile), T0, configure: b =>
        {
            b.Services.AddSingleton<INotificationOutbox>(outbox);
            foreach (var d in b.Services.Where(d => d.ImplementationType == typeof(AlertingWorker)).ToList()) b.Services.Remove(d);
        });
        return (s, "");
    }
}
