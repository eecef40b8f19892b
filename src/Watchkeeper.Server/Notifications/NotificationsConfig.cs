using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Notifications;

/// <summary>
/// The <c>notifications</c> section: how the outbox sender polls, leases, retries and gives up. The receivers
/// themselves are Alertmanager's <c>receivers</c> section.
/// </summary>
public sealed class NotificationsConfig
{
    /// <summary>How often the sender looks for due notifications when nothing wakes it (a commit does).</summary>
    public Duration PollInterval { get; set; } = new(TimeSpan.FromSeconds(5));
    /// <summary>How long a claimed notification is reserved for the replica sending it; after that another may retry it.</summary>
    public Duration Lease { get; set; } = new(TimeSpan.FromMinutes(2));
    /// <summary>Notifications claimed per poll.</summary>
    public int Batch { get; set; } = 20;
    /// <summary>Notifications sent at once.</summary>
    public int Concurrency { get; set; } = 4;
    /// <summary>The first wait after a failed try; doubled each time (with jitter) up to <see cref="RetryMax"/>.</summary>
    public Duration RetryInitial { get; set; } = new(TimeSpan.FromSeconds(10));
    public Duration RetryMax { get; set; } = new(TimeSpan.FromMinutes(10));
    /// <summary>A notification not delivered this long after it was committed is marked failed.</summary>
    public Duration GiveUpAfter { get; set; } = new(TimeSpan.FromHours(24));
    /// <summary>Quick retries inside one try for HTTP receivers (Microsoft.Extensions.Http.Resilience), before the outbox backs off.</summary>
    public int HttpRetries { get; set; } = 2;
    public Duration HttpRetryDelay { get; set; } = new(TimeSpan.FromSeconds(1));
    /// <summary>Timeout of one HTTP request.</summary>
    public Duration HttpTimeout { get; set; } = new(TimeSpan.FromSeconds(10));
    public Duration SmtpTimeout { get; set; } = new(TimeSpan.FromSeconds(30));

    public static IEnumerable<ConfigError> Check(NotificationsConfig c)
    {
        const string p = "notifications.";
        if (c.PollInterval.Value <= TimeSpan.Zero) yield return new(p + "poll_interval", "must be a positive duration");
        if (c.Batch is < 1 or > 1000) yield return new(p + "batch", "must be between 1 and 1000");
        if (c.Concurrency is < 1 or > 64) yield return new(p + "concurrency", "must be between 1 and 64");
        if (c.RetryInitial.Value <= TimeSpan.Zero) yield return new(p + "retry_initial", "must be a positive duration");
        if (c.RetryMax.Value < c.RetryInitial.Value) yield return new(p + "retry_max", "must not be shorter than retry_initial");
        if (c.GiveUpAfter.Value <= TimeSpan.Zero) yield return new(p + "give_up_after", "must be a positive duration");
        if (c.HttpRetries is < 0 or > 10) yield return new(p + "http_retries", "must be between 0 and 10");
        if (c.HttpRetryDelay.Value < TimeSpan.Zero) yield return new(p + "http_retry_delay", "must not be negative");
        if (c.HttpTimeout.Value <= TimeSpan.Zero) yield return new(p + "http_timeout", "must be a positive duration");
        if (c.SmtpTimeout.Value <= TimeSpan.Zero) yield return new(p + "smtp_timeout", "must be a positive duration");
        // A lease shorter than the longest send would let another replica send the same notification meanwhile.
        var longest = TimeSpan.FromTicks(Math.Max(c.HttpTimeout.Value.Ticks * (c.HttpRetries + 1) + c.HttpRetryDelay.Value.Ticks * 8 * c.HttpRetries, c.SmtpTimeout.Value.Ticks));
        if (c.Lease.Value < longest * 2)
            yield return new(p + "lease", $"must be at least twice the longest send ({Duration.Format(longest * 2)} with these timeouts and retries)");
    }
}
