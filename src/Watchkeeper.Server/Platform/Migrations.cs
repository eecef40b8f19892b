using Dapper;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Schema migrations, applied in order at start. Each is written once for both providers;
/// the tokens {ID} (an auto-increment primary key) and {BLOB} are the only per-provider parts.
/// </summary>
public static class Migrations
{
    private static readonly (int Version, string Name, string Sql)[] All =
    [
        (1, "initial", """
            CREATE TABLE users (
              id {ID},
              username TEXT NOT NULL UNIQUE,
              password_hash TEXT NOT NULL,
              role TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              disabled INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE api_tokens (
              id {ID},
              user_id BIGINT NOT NULL REFERENCES users(id),
              name TEXT NOT NULL,
              token_hash TEXT NOT NULL UNIQUE,
              prefix TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              last_used_at BIGINT NULL,
              revoked_at BIGINT NULL
            );
            CREATE TABLE audit_log (
              seq BIGINT PRIMARY KEY,
              ts BIGINT NOT NULL,
              actor TEXT NOT NULL,
              action TEXT NOT NULL,
              entity_type TEXT NOT NULL,
              entity_id TEXT NOT NULL,
              before_json TEXT NULL,
              after_json TEXT NULL,
              prev_hash TEXT NOT NULL,
              hash TEXT NOT NULL
            );
            CREATE TABLE audit_checkpoints (
              id {ID},
              seq BIGINT NOT NULL,
              hash TEXT NOT NULL,
              ts BIGINT NOT NULL,
              signature TEXT NOT NULL
            );
            CREATE TABLE incidents (
              id {ID},
              title TEXT NOT NULL,
              kind TEXT NOT NULL,
              severity TEXT NOT NULL,
              status TEXT NOT NULL,
              summary TEXT NOT NULL DEFAULT '',
              users_affected TEXT NOT NULL DEFAULT '',
              services_affected TEXT NOT NULL DEFAULT '[]',
              business_impact TEXT NOT NULL DEFAULT '',
              detection_source TEXT NOT NULL,
              commander TEXT NULL,
              communications_lead TEXT NULL,
              scribe TEXT NULL,
              detected_at BIGINT NOT NULL,
              acknowledged_at BIGINT NULL,
              mitigated_at BIGINT NULL,
              resolved_at BIGINT NULL,
              response_due_at BIGINT NOT NULL,
              resolution_due_at BIGINT NOT NULL,
              next_update_due_at BIGINT NULL,
              created_at BIGINT NOT NULL,
              created_by TEXT NOT NULL,
              updated_at BIGINT NOT NULL,
              version INTEGER NOT NULL DEFAULT 1
            );
            CREATE INDEX ix_incidents_status ON incidents(status, severity);
            CREATE INDEX ix_incidents_detected ON incidents(detected_at);
            CREATE TABLE incident_timeline (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              ts BIGINT NOT NULL,
              author TEXT NOT NULL,
              kind TEXT NOT NULL,
              message TEXT NOT NULL,
              data_json TEXT NULL
            );
            CREATE INDEX ix_timeline_incident ON incident_timeline(incident_id, id);
            CREATE TABLE status_updates (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              ts BIGINT NOT NULL,
              author TEXT NOT NULL,
              visibility TEXT NOT NULL,
              status TEXT NOT NULL,
              current_status TEXT NOT NULL,
              next_update_at BIGINT NULL,
              body TEXT NOT NULL
            );
            CREATE INDEX ix_status_updates_incident ON status_updates(incident_id, id);
            CREATE TABLE checklist_items (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              checklist TEXT NOT NULL,
              phase_key TEXT NOT NULL,
              phase_title TEXT NOT NULL,
              phase_start_s BIGINT NOT NULL,
              phase_due_s BIGINT NOT NULL,
              position INTEGER NOT NULL,
              text TEXT NOT NULL,
              done_at BIGINT NULL,
              done_by TEXT NULL
            );
            CREATE INDEX ix_checklist_incident ON checklist_items(incident_id, position);
            CREATE TABLE postmortems (
              incident_id BIGINT PRIMARY KEY REFERENCES incidents(id),
              summary TEXT NOT NULL DEFAULT '',
              impact TEXT NOT NULL DEFAULT '',
              root_cause TEXT NOT NULL DEFAULT '',
              lessons_learned TEXT NOT NULL DEFAULT '',
              updated_at BIGINT NOT NULL,
              updated_by TEXT NOT NULL
            );
            CREATE TABLE action_items (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              title TEXT NOT NULL,
              owner TEXT NOT NULL,
              due_at BIGINT NULL,
              status TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              updated_at BIGINT NOT NULL,
              completed_at BIGINT NULL
            );
            CREATE INDEX ix_action_items_incident ON action_items(incident_id);
            CREATE TABLE sla_breaches (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              kind TEXT NOT NULL,
              severity TEXT NOT NULL,
              due_at BIGINT NOT NULL,
              breached_at BIGINT NOT NULL,
              UNIQUE (incident_id, kind)
            );
            """),
        // Browser sessions the server can end (logout, disable, password change), and token expiry.
        (2, "sessions and token expiry", """
            CREATE TABLE sessions (
              id TEXT PRIMARY KEY,
              user_id BIGINT NOT NULL REFERENCES users(id),
              created_at BIGINT NOT NULL,
              expires_at BIGINT NOT NULL
            );
            CREATE INDEX ix_sessions_user ON sessions(user_id);
            ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NULL;
            """),
        // Keyed audit chain: checkpoints carry their kind, the record count, the previous checkpoint's signature and
        // what the server found missing. Existing rows become 'legacy' checkpoints; at the first start after this
        // migration AuditLog.InitializeAsync re-anchors the existing chain with a keyed record (see docs/security.md).
        (3, "audit_keyed_chain", """
            ALTER TABLE audit_checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'legacy';
            ALTER TABLE audit_checkpoints ADD COLUMN records BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE audit_checkpoints ADD COLUMN prev_signature TEXT NOT NULL DEFAULT '';
            ALTER TABLE audit_checkpoints ADD COLUMN anomaly TEXT NULL;
            UPDATE audit_checkpoints SET records = seq;
            """),
        // Incident metrics are loaded once and then kept up to date on write; with PostgreSQL other replicas'
        // changes are picked up by updated_at.
        (4, "incident_updated_index", """
            CREATE INDEX ix_incidents_updated ON incidents(updated_at);
            CREATE INDEX ix_sla_breaches_breached ON sla_breaches(breached_at);
            """),
        // Alertmanager core: silences and the notification log (per receiver, integration and group), so a restart
        // neither forgets a silence nor repeats or forgets a notification.
        (5, "alertmanager_silences_nflog", """
            CREATE TABLE alert_silences (
              id TEXT PRIMARY KEY,
              matchers TEXT NOT NULL,
              starts_at BIGINT NOT NULL,
              ends_at BIGINT NOT NULL,
              updated_at BIGINT NOT NULL,
              created_by TEXT NOT NULL,
              comment TEXT NOT NULL
            );
            CREATE INDEX ix_alert_silences_ends ON alert_silences(ends_at);
            CREATE TABLE alert_nflog (
              receiver TEXT NOT NULL,
              integration TEXT NOT NULL,
              group_key TEXT NOT NULL,
              firing TEXT NOT NULL,
              resolved TEXT NOT NULL,
              ts BIGINT NOT NULL,
              expires_at BIGINT NOT NULL,
              PRIMARY KEY (receiver, integration, group_key)
            );
            """),
        // The notification outbox (Server/Notifications): a notification is committed here, in the dispatcher's
        // transaction, before it is sent; the sender claims due rows with a lease (lease_owner, lease_until) so two
        // replicas never send the same row, and records every try in notification_attempts.
        (6, "notification_outbox", """
            CREATE TABLE notification_outbox (
              id {ID},
              receiver TEXT NOT NULL,
              integration TEXT NOT NULL,
              group_key TEXT NOT NULL,
              dedup_key TEXT NOT NULL,
              action TEXT NULL,
              status TEXT NOT NULL,
              alerts_firing INTEGER NOT NULL,
              alerts_resolved INTEGER NOT NULL,
              data_json TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              next_attempt_at BIGINT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              lease_owner TEXT NULL,
              lease_until BIGINT NULL,
              last_status_code INTEGER NULL,
              last_error TEXT NULL,
              finished_at BIGINT NULL
            );
            CREATE INDEX ix_outbox_due ON notification_outbox(status, next_attempt_at);
            CREATE INDEX ix_outbox_created ON notification_outbox(created_at);
            CREATE INDEX ix_outbox_group ON notification_outbox(group_key, receiver, integration, status);
            CREATE TABLE notification_attempts (
              id {ID},
              outbox_id BIGINT NOT NULL REFERENCES notification_outbox(id),
              attempt INTEGER NOT NULL,
              started_at BIGINT NOT NULL,
              latency_ms BIGINT NOT NULL,
              outcome TEXT NOT NULL,
              status_code INTEGER NULL,
              error TEXT NULL,
              sender TEXT NOT NULL
            );
            CREATE INDEX ix_attempts_outbox ON notification_attempts(outbox_id, id);
            """),
        // On-call (OnCall/): schedule overrides, escalations started by incidents with each page they sent (so a restart
        // continues without paging a step twice), single-use acknowledgement links, and calendar feed tokens (hashed).
        (7, "oncall", """
            CREATE TABLE oncall_overrides (
              id {ID},
              schedule TEXT NOT NULL,
              person TEXT NOT NULL,
              starts_at BIGINT NOT NULL,
              ends_at BIGINT NOT NULL,
              reason TEXT NOT NULL DEFAULT '',
              created_at BIGINT NOT NULL,
              created_by TEXT NOT NULL,
              deleted_at BIGINT NULL
            );
            CREATE INDEX ix_oncall_overrides ON oncall_overrides(schedule, ends_at);
            CREATE TABLE escalations (
              id {ID},
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              policy TEXT NOT NULL,
              severity TEXT NOT NULL,
              state TEXT NOT NULL,
              round INTEGER NOT NULL DEFAULT 0,
              step INTEGER NOT NULL DEFAULT 0,
              next_at BIGINT NOT NULL,
              started_at BIGINT NOT NULL,
              ended_at BIGINT NULL,
              ended_by TEXT NULL,
              version INTEGER NOT NULL DEFAULT 1
            );
            CREATE INDEX ix_escalations_due ON escalations(state, next_at);
            CREATE INDEX ix_escalations_incident ON escalations(incident_id);
            CREATE TABLE escalation_pages (
              id {ID},
              escalation_id BIGINT NOT NULL REFERENCES escalations(id),
              round INTEGER NOT NULL,
              step INTEGER NOT NULL,
              person TEXT NOT NULL,
              method TEXT NOT NULL,
              target TEXT NOT NULL,
              outbox_id BIGINT NULL,
              error TEXT NULL,
              created_at BIGINT NOT NULL,
              UNIQUE (escalation_id, round, step, person, method)
            );
            CREATE TABLE oncall_ack_links (
              nonce TEXT PRIMARY KEY,
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              person TEXT NOT NULL,
              expires_at BIGINT NOT NULL,
              created_at BIGINT NOT NULL,
              used_at BIGINT NULL
            );
            CREATE TABLE oncall_keys (
              name TEXT PRIMARY KEY,
              value TEXT NOT NULL,
              created_at BIGINT NOT NULL
            );
            CREATE TABLE oncall_calendar_tokens (
              person TEXT PRIMARY KEY,
              token_hash TEXT NOT NULL UNIQUE,
              created_at BIGINT NOT NULL,
              created_by TEXT NOT NULL
            );
            """),
        // Incidents declared from alerts: the alert group each opened, and the alerts attached to it.
        (10, "incident_alerts", """
            CREATE TABLE incident_alert_groups (
              incident_id BIGINT NOT NULL PRIMARY KEY REFERENCES incidents(id),
              group_key TEXT NOT NULL,
              created_at BIGINT NOT NULL
            );
            CREATE INDEX ix_incident_alert_groups_key ON incident_alert_groups(group_key);
            CREATE TABLE incident_alerts (
              incident_id BIGINT NOT NULL REFERENCES incidents(id),
              fingerprint TEXT NOT NULL,
              alertname TEXT NOT NULL,
              labels TEXT NOT NULL,
              starts_at BIGINT NOT NULL,
              attached_at BIGINT NOT NULL,
              resolved_at BIGINT NULL,
              PRIMARY KEY (incident_id, fingerprint)
            );
            """),
        // Dashboards (Grafana JSON models): imported ones and those provisioned from config folders (read-only).
        (12, "dashboards", """
            CREATE TABLE dashboards (
              uid TEXT PRIMARY KEY,
              title TEXT NOT NULL,
              tags TEXT NOT NULL DEFAULT '[]',
              json TEXT NOT NULL,
              version INTEGER NOT NULL,
              provisioned INTEGER NOT NULL DEFAULT 0,
              source TEXT NOT NULL DEFAULT '',
              created_at BIGINT NOT NULL,
              updated_by TEXT NOT NULL,
              updated_at BIGINT NOT NULL
            );
            CREATE INDEX ix_dashboards_title ON dashboards(title);
            """),
        // Uptime roll-ups (Uptime/UptimeRollup.cs): hourly and daily availability per service and component, kept
        // at least 400 days whatever the TSDB keeps; uptime_state holds the roll-up's watermark.
        (14, "uptime_rollups", """
            CREATE TABLE uptime_rollups (
              service TEXT NOT NULL,
              component TEXT NOT NULL,
              granularity TEXT NOT NULL,
              bucket_start BIGINT NOT NULL,
              ok_samples BIGINT NOT NULL,
              total_samples BIGINT NOT NULL,
              updated_at BIGINT NOT NULL,
              PRIMARY KEY (service, component, granularity, bucket_start)
            );
            CREATE INDEX ix_uptime_rollups_start ON uptime_rollups(bucket_start);
            CREATE TABLE uptime_state (
              name TEXT PRIMARY KEY,
              value BIGINT NOT NULL
            );
            """),
        (15, "status page subscribers", """
            CREATE TABLE status_page_state (
              name TEXT PRIMARY KEY,
              value TEXT NOT NULL
            );
            CREATE TABLE status_subscribers (
              id {ID},
              kind TEXT NOT NULL,
              target TEXT NOT NULL,
              state TEXT NOT NULL,
              nonce TEXT NOT NULL,
              secret TEXT NULL,
              created_at BIGINT NOT NULL,
              confirmed_at BIGINT NULL
            );
            CREATE UNIQUE INDEX ux_status_subscribers_target ON status_subscribers(kind, target);
            CREATE TABLE status_deliveries (
              id {ID},
              subscriber_id BIGINT NOT NULL REFERENCES status_subscribers(id) ON DELETE CASCADE,
              kind TEXT NOT NULL,
              event_key TEXT NOT NULL,
              payload_json TEXT NOT NULL,
              status TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              next_attempt_at BIGINT NOT NULL,
              lease_owner TEXT NULL,
              lease_until BIGINT NULL,
              last_error TEXT NULL,
              created_at BIGINT NOT NULL,
              finished_at BIGINT NULL
            );
            CREATE UNIQUE INDEX ux_status_deliveries_event ON status_deliveries(subscriber_id, event_key);
            CREATE INDEX ix_status_deliveries_due ON status_deliveries(status, next_attempt_at);
            """),
        // Maintenance (Maintenance/): windows made through the API (their definition as JSON; configuration windows are
        // not stored), runs (one per window occurrence) and each run's timeline of steps.
        (16, "maintenance", """
            CREATE TABLE maintenance_windows (
              id TEXT PRIMARY KEY,
              definition TEXT NOT NULL,
              created_by TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              updated_at BIGINT NOT NULL
            );
            CREATE TABLE maintenance_runs (
              id {ID},
              window_id TEXT NOT NULL,
              title TEXT NOT NULL,
              description TEXT NOT NULL,
              occurrence_start BIGINT NOT NULL,
              occurrence_end BIGINT NOT NULL,
              time_zone TEXT NOT NULL,
              components TEXT NOT NULL,
              state TEXT NOT NULL,
              rollback_plan TEXT NULL,
              backup TEXT NULL,
              team TEXT NULL,
              silence_ids TEXT NOT NULL DEFAULT '[]',
              checks TEXT NOT NULL,
              validations TEXT NOT NULL DEFAULT '[]',
              notified_at BIGINT NULL,
              review_due_at BIGINT NULL,
              summary TEXT NULL,
              created_by TEXT NOT NULL,
              created_at BIGINT NOT NULL,
              updated_at BIGINT NOT NULL,
              started_at BIGINT NULL,
              finished_at BIGINT NULL
            );
            CREATE UNIQUE INDEX ux_maintenance_runs_occurrence ON maintenance_runs(window_id, occurrence_start);
            CREATE INDEX ix_maintenance_runs_state ON maintenance_runs(state);
            CREATE INDEX ix_maintenance_runs_finished ON maintenance_runs(finished_at);
            CREATE TABLE maintenance_run_events (
              id {ID},
              run_id BIGINT NOT NULL REFERENCES maintenance_runs(id),
              ts BIGINT NOT NULL,
              actor TEXT NOT NULL,
              step TEXT NOT NULL,
              detail TEXT NOT NULL
            );
            CREATE INDEX ix_maintenance_run_events_run ON maintenance_run_events(run_id, id);
            """),
    ];

    /// <summary>The migration that introduced keyed audit chains.</summary>
    public const int KeyedAuditChain = 3;

    public static int Latest => All[^1].Version;

    /// <summary>Applies the pending migrations and returns the versions applied now.</summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(Db db, TimeProvider time, ILogger logger, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        if (db.Provider == DbProvider.Sqlite)
        {
            await conn.ExecuteAsync("PRAGMA journal_mode=WAL;");
        }
        else
        {
            // Several replicas may start at once: one migrates, the others wait.
            await conn.ExecuteAsync("SELECT pg_advisory_lock(727001)");
        }
        try
        {
            await conn.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
            var applied = (await conn.QueryAsync<long>("SELECT version FROM schema_migrations")).ToHashSet();
            var now = new List<int>();
            foreach (var (version, name, sql) in All)
            {
                if (applied.Contains(version)) continue;
                await using var tx = await conn.BeginTransactionAsync(ct);
                await conn.ExecuteAsync(Translate(sql, db.Provider), transaction: tx);
                await conn.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                    new { version, name, at = time.GetUtcNow().ToUnixTimeMilliseconds() }, tx);
                await tx.CommitAsync(ct);
                logger.LogInformation("Applied schema migration {Version} ({Name}) on {Db}", version, name, db.Description);
                now.Add(version);
            }
            return now;
        }
        finally
        {
            if (db.Provider == DbProvider.Postgres) await conn.ExecuteAsync("SELECT pg_advisory_unlock(727001)");
        }
    }

    private static string Translate(string sql, DbProvider p) => sql
        .Replace("{ID}", p == DbProvider.Sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", StringComparison.Ordinal)
        .Replace("{BLOB}", p == DbProvider.Sqlite ? "BLOB" : "BYTEA", StringComparison.Ordinal);
}
