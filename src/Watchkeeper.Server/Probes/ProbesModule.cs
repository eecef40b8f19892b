using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes.Ui;

namespace Watchkeeper.Server.Probes;

/// <summary>Health checks: the scheduler, <c>/probe</c>, <c>/api/v1/probes</c>, <c>/api/v1/health</c> and the /probes page.</summary>
public static class ProbesModule
{
    public static void AddProbes(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        // Probe timeouts and durations measure real network waits, so the prober reads the system clock; the schedule
        // (when each check runs) follows the injected TimeProvider.
        s.AddSingleton(_ => new Prober(TimeProvider.System));
        s.AddSingleton<IProbeRunner>(sp => sp.GetRequiredService<Prober>());
        s.AddSingleton(sp => new ProbeScheduler(sp.GetRequiredService<IProbeRunner>(), sp.GetRequiredService<MetricsRuntime>().Store,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Watchkeeper.Probes")));
        s.AddSingleton<HealthReport>();
        s.AddHostedService<ProbeWorker>();
        s.AddProbesUi();
    }

    public static void MapProbes(this WebApplication app)
    {
        // blackbox_exporter's multi-target endpoint: answers 200 with the probe's metrics whether the probe succeeded or not.
        app.MapGet("/probe", async (HttpContext http, string? target, string? module, string? debug, IOptionsMonitor<ProbesConfig> options,
                IProbeRunner runner, ProbeScheduler scheduler, CancellationToken ct) =>
            {
                var config = options.CurrentValue;
                if (!config.Endpoint.Enabled) return Problems.NotFound("the /probe endpoint is disabled (probes.endpoint.enabled: false)");
                var name = string.IsNullOrEmpty(module) ? "http_2xx" : module;
                if (!config.Modules.TryGetValue(name, out var m))
                    return Problems.Validation("module", $"unknown module \"{name}\"; configured: {string.Join(", ", config.Modules.Keys.Order(StringComparer.Ordinal))}");
                if (string.IsNullOrEmpty(target)) return Problems.Validation("target", "the target parameter is missing");
                if (ProbesConfigCheck.TargetError(m.Prober, target, allowSelf: false) is { } te) return Problems.Validation("target", te);
                if (!Allowed(config, scheduler, target))
                    return TypedResults.Problem(Problems.Create(403, "Forbidden",
                        $"target '{target}' is not one of the configured checks' targets and matches no probes.endpoint.allowed_targets pattern"));
                var timeout = m.Timeout.Value;
                // As blackbox_exporter: leave half a second of Prometheus's scrape timeout for the answer.
                if (double.TryParse(http.Request.Headers["X-Prometheus-Scrape-Timeout-Seconds"], NumberStyles.Float, CultureInfo.InvariantCulture, out var scrape) && scrape > 0)
                    timeout = TimeSpan.FromSeconds(Math.Max(0.1, Math.Min(timeout.TotalSeconds, scrape - 0.5)));
                var result = await runner.RunAsync(new ProbeRequest(name, m, target, timeout, 0, config.MaxBodyBytes), ct);
                return debug is "true" or "1"
                    ? Results.Text(result.RenderDebug(name, m), "text/plain; charset=utf-8")
                    : Results.Text(result.Render(), "text/plain; version=0.0.4; charset=utf-8");
            })
            .RequireAuthorization(Policies.Viewer).WithTags("probes");

        var api = app.MapGroup("/api/v1").WithTags("probes").RequireAuthorization(Policies.Viewer);
        api.MapGet("/probes", (ProbeScheduler scheduler) => TypedResults.Ok(scheduler.Statuses().Select(ProbeView.From).ToList()));
        api.MapGet("/health", async (HealthReport health, string? service, CancellationToken ct) => TypedResults.Ok(await health.BuildAsync(service, ct)));
        ProbesPages.Map(app);
    }

    /// <summary>Targets of configured checks (as written or as resolved, "/path" being this server), or a match of an allowed_targets pattern (anchored).</summary>
    public static bool Allowed(ProbesConfig config, ProbeScheduler scheduler, string target)
    {
        if (config.Checks.Any(c => c.Target == target) || scheduler.Statuses().Any(s => s.Target == target)) return true;
        foreach (var p in config.Endpoint.AllowedTargets)
            if (Regex.IsMatch(target, "^(?:" + p + ")$", RegexOptions.None, TimeSpan.FromSeconds(1))) return true;
        return false;
    }

    /// <summary>This server's base URL as it listens (wildcard addresses become loopback), for "/path" targets.</summary>
    public static string SelfBase(IServer server)
    {
        var a = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:9700";
        foreach (var wildcard in new[] { "://+:", "://*:", "://0.0.0.0:", "://[::]:" })
            a = a.Replace(wildcard, "://127.0.0.1:", StringComparison.Ordinal);
        return a.TrimEnd('/');
    }
}

/// <summary>A check as the API shows it.</summary>
public sealed record ProbeView(
    string Name, string Module, string Prober, string Target, string Service, string Component, string Interval, string State,
    DateTimeOffset? LastRun, double? DurationSeconds, string? Error, int? StatusCode, int ConsecutiveFailures, DateTimeOffset? LastSuccess, DateTimeOffset? LastFailure)
{
    public static ProbeView From(ProbeStatus s) => new(s.Name, s.Module, s.Prober, s.Target, s.Service, s.Component, Duration.Format(s.Interval),
        s.Success switch { true => "up", false => "down", null => "pending" }, s.LastRun, s.DurationSeconds, s.Error, s.StatusCode, s.ConsecutiveFailures,
        s.LastSuccess, s.LastFailure);
}

/// <summary>Applies the probes section once the server listens (self targets need its address) and again on each reload.</summary>
public sealed class ProbeWorker(ProbeScheduler scheduler, ConfigHolder config, IServer server, IHostApplicationLifetime lifetime, ILogger<ProbeWorker> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        await using var reg = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await using var stop = stoppingToken.Register(() => started.TrySetCanceled());
        try
        {
            await started.Task;
        }
        catch (TaskCanceledException)
        {
            return;
        }
        var self = ProbesModule.SelfBase(server);
        string Self(string path) => self + path;
        Task applying = scheduler.ApplyAsync(config.Current.Probes, Self);
        var gate = new Lock();
        void OnReload(WatchkeeperConfig c)
        {
            lock (gate) applying = applying.ContinueWith(_ => scheduler.ApplyAsync(c.Probes, Self), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
        config.Reloaded += OnReload;
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            config.Reloaded -= OnReload;
            try
            {
                Task last;
                lock (gate) last = applying;
                await last;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogError(ex, "Applying the probes configuration failed");
            }
        }
    }
}
