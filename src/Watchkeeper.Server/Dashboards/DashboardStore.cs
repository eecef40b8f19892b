using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Options;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Dashboards;

/// <summary>A row of the dashboard list.</summary>
public sealed record DashboardSummary(string Uid, string Title, IReadOnlyList<string> Tags, int Version, bool Provisioned, string Source,
    string UpdatedBy, DateTimeOffset UpdatedAt);

/// <summary>A stored dashboard: its summary and its Grafana JSON.</summary>
public sealed record StoredDashboard(DashboardSummary Meta, string Json);

/// <summary>Why a save was refused.</summary>
public enum SaveOutcome { Created, Updated, Exists, Provisioned, TooMany }

/// <summary>Dashboards in the relational store (table <c>dashboards</c>, migration 12); every change is audited.</summary>
public sealed class DashboardStore(Db db, AuditLog audit, TimeProvider time, IOptionsMonitor<DashboardsConfig> options)
{
    private sealed class Row
    {
        public string Uid { get; set; } = "";
        public string Title { get; set; } = "";
        public string Tags { get; set; } = "[]";
        public string Json { get; set; } = "";
        public long Version { get; set; }
        public long Provisioned { get; set; }
        public string Source { get; set; } = "";
        public string UpdatedBy { get; set; } = "";
        public long UpdatedAt { get; set; }

        public DashboardSummary Summary() => new(Uid, Title, JsonSerializer.Deserialize<List<string>>(Tags) ?? [], (int)Version, Provisioned != 0, Source,
            UpdatedBy, DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAt));
    }

    private const string Columns = "uid, title, tags, version, provisioned, source, updated_by, updated_at";

    /// <summary>Dashboards whose title contains <paramref name="query"/> (any case) and that carry <paramref name="tag"/>, by title.</summary>
    public async Task<IReadOnlyList<DashboardSummary>> ListAsync(string? query, string? tag, CancellationToken ct)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<Row>($"SELECT {Columns} FROM dashboards ORDER BY title, uid"), ct);
        return rows.Select(r => r.Summary())
            .Where(s => string.IsNullOrWhiteSpace(query) || s.Title.Contains(query.Trim(), StringComparison.OrdinalIgnoreCase)
                || s.Tags.Any(t => t.Contains(query.Trim(), StringComparison.OrdinalIgnoreCase)))
            .Where(s => string.IsNullOrWhiteSpace(tag) || s.Tags.Contains(tag, StringComparer.OrdinalIgnoreCase))
            .ToList();
    }

    public async Task<StoredDashboard?> GetAsync(string uid, CancellationToken ct)
    {
        var row = await db.ReadAsync(c => c.QueryFirstOrDefaultAsync<Row>($"SELECT {Columns}, json FROM dashboards WHERE uid = @uid", new { uid }), ct);
        return row is null ? null : new StoredDashboard(row.Summary(), row.Json);
    }

    /// <summary>
    /// Saves an imported dashboard: a new uid is created, an existing one is replaced only with <paramref name="overwrite"/>
    /// (its version goes up), a provisioned one never. The stored JSON carries the uid and version.
    /// </summary>
    public async Task<(SaveOutcome Outcome, DashboardSummary? Saved)> ImportAsync(JsonObject json, Dashboard model, bool overwrite, string actor, CancellationToken ct)
    {
        var uid = model.Uid.Length > 0 ? model.Uid : DashboardJson.NewUid();
        var max = options.CurrentValue.Limits.MaxDashboards;
        return await db.WriteAsync<(SaveOutcome, DashboardSummary?)>(async (c, tx) =>
        {
            var existing = await c.QueryFirstOrDefaultAsync<Row>($"SELECT {Columns} FROM dashboards WHERE uid = @uid", new { uid }, tx);
            if (existing is not null && existing.Provisioned != 0) return (SaveOutcome.Provisioned, existing.Summary());
            if (existing is not null && !overwrite) return (SaveOutcome.Exists, existing.Summary());
            if (existing is null && await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM dashboards", transaction: tx) >= max) return (SaveOutcome.TooMany, null);
            var version = (int)(existing?.Version ?? 0) + 1;
            var text = DashboardJson.ToText(DashboardJson.Normalize(json, uid, version));
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var tags = JsonSerializer.Serialize(model.Tags);
            if (existing is null)
                await c.ExecuteAsync("""
                    INSERT INTO dashboards (uid, title, tags, json, version, provisioned, source, created_at, updated_by, updated_at)
                    VALUES (@uid, @title, @tags, @text, @version, 0, 'import', @now, @actor, @now)
                    """, new { uid, title = model.Title, tags, text, version, now, actor }, tx);
            else
                await c.ExecuteAsync("UPDATE dashboards SET title = @title, tags = @tags, json = @text, version = @version, updated_by = @actor, updated_at = @now WHERE uid = @uid",
                    new { uid, title = model.Title, tags, text, version, now, actor }, tx);
            await audit.AppendAsync(c, tx, actor, existing is null ? "dashboard.import" : "dashboard.replace", "dashboard", uid,
                existing is null ? null : new { existing.Title, existing.Version }, new { model.Title, version, panels = model.AllPanels.Count() });
            var saved = new DashboardSummary(uid, model.Title, model.Tags, version, false, "import", actor, DateTimeOffset.FromUnixTimeMilliseconds(now));
            return (existing is null ? SaveOutcome.Created : SaveOutcome.Updated, saved);
        }, ct);
    }

    /// <summary>Deletes an imported dashboard; false when there is none. Provisioned ones are refused (remove the file instead).</summary>
    public async Task<SaveOutcome?> DeleteAsync(string uid, string actor, CancellationToken ct) =>
        await db.WriteAsync<SaveOutcome?>(async (c, tx) =>
        {
            var existing = await c.QueryFirstOrDefaultAsync<Row>($"SELECT {Columns} FROM dashboards WHERE uid = @uid", new { uid }, tx);
            if (existing is null) return null;
            if (existing.Provisioned != 0) return SaveOutcome.Provisioned;
            await c.ExecuteAsync("DELETE FROM dashboards WHERE uid = @uid", new { uid }, tx);
            await audit.AppendAsync(c, tx, actor, "dashboard.delete", "dashboard", uid, new { existing.Title, existing.Version }, null);
            return SaveOutcome.Updated;
        }, ct);

    /// <summary>
    /// Makes the provisioned rows match <paramref name="files"/>: new ones inserted, changed ones replaced (version + 1),
    /// ones whose file is gone deleted. An imported dashboard with a provisioned uid is taken over by the file.
    /// </summary>
    public async Task<int> SyncProvisionedAsync(IReadOnlyList<ProvisionedDashboard> files, CancellationToken ct) =>
        await db.WriteAsync(async (c, tx) =>
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var changes = 0;
            var current = (await c.QueryAsync<Row>($"SELECT {Columns}, json FROM dashboards", transaction: tx)).ToDictionary(r => r.Uid, StringComparer.Ordinal);
            foreach (var f in files)
            {
                current.TryGetValue(f.Uid, out var existing);
                var tags = JsonSerializer.Serialize(f.Tags);
                if (existing is not null && existing.Provisioned != 0 && SameJson(existing.Json, f.Json, (int)existing.Version)) continue;
                var version = (int)(existing?.Version ?? 0) + 1;
                var json = JsonNode.Parse(f.Json)!.AsObject();
                json["version"] = version;
                var text = DashboardJson.ToText(json);
                if (existing is null)
                    await c.ExecuteAsync("""
                        INSERT INTO dashboards (uid, title, tags, json, version, provisioned, source, created_at, updated_by, updated_at)
                        VALUES (@uid, @title, @tags, @text, @version, 1, @source, @now, 'provisioning', @now)
                        """, new { uid = f.Uid, title = f.Title, tags, text, version, source = f.File, now }, tx);
                else
                    await c.ExecuteAsync("UPDATE dashboards SET title = @title, tags = @tags, json = @text, version = @version, provisioned = 1, source = @source, updated_by = 'provisioning', updated_at = @now WHERE uid = @uid",
                        new { uid = f.Uid, title = f.Title, tags, text, version, source = f.File, now }, tx);
                await audit.AppendAsync(c, tx, "provisioning", "dashboard.provision", "dashboard", f.Uid, null, new { f.Title, version, file = f.File });
                changes++;
            }
            var keep = files.Select(f => f.Uid).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in current.Values.Where(r => r.Provisioned != 0 && !keep.Contains(r.Uid)))
            {
                await c.ExecuteAsync("DELETE FROM dashboards WHERE uid = @uid", new { uid = gone.Uid }, tx);
                await audit.AppendAsync(c, tx, "provisioning", "dashboard.unprovision", "dashboard", gone.Uid, new { gone.Title, gone.Version }, null);
                changes++;
            }
            return changes;
        }, ct);

    /// <summary>Whether the stored JSON is the file's (ignoring the version, which the store bumps).</summary>
    private static bool SameJson(string stored, string file, int storedVersion)
    {
        var f = JsonNode.Parse(file)!.AsObject();
        f["version"] = storedVersion;
        return JsonNode.DeepEquals(JsonNode.Parse(stored), f);
    }
}
