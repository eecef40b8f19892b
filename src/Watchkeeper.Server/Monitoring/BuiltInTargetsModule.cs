using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Watchkeeper.Server.Monitoring.Demo;
using Watchkeeper.Server.Monitoring.HostMetrics;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

public sealed record DemoFaultRequest(bool? Down, double? ErrorRate, string? Latency, bool? Clear);

public sealed record DemoServiceView(string Service, bool Down, double ErrorRate, string Latency, string Target);

/// <summary>
/// What Watchkeeper serves to be scraped by itself: host metrics (job "node") and the demo services
/// with their fault switch. They are plain exposition endpoints, scraped over loopback like any target.
/// </summary>
public static class BuiltInTargetsModule
{
    public static void AddBuiltInTargets(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new DemoWorkload(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(_ => new HostCollector());
    }

    public static void MapBuiltInTargets(this WebApplication app)
    {
        app.MapGet("/-/node/metrics", (HostCollector host, IOptionsMonitor<HostMetricsConfig> options) =>
                options.CurrentValue.Enabled
                    ? Results.Text(host.RenderExposition(), "text/plain; version=0.0.4; charset=utf-8")
                    : Problems.NotFound("host metrics are disabled (host_metrics.enabled: false)"))
            .AllowAnonymous().ExcludeFromDescription();

        app.MapGet("/-/demo/{service}/metrics", (string service, DemoWorkload demo, IOptionsMonitor<DemoConfig> options) =>
            {
                var s = Enabled(options.CurrentValue, demo, service);
                if (s is null) return Problems.NotFound($"no demo service '{service}' (demo.enabled and demo.services in the configuration)");
                var body = s.Render();
                return body is null
                    ? TypedResults.Problem(Problems.Create(503, "Service down", $"demo service '{service}' is switched down (wk demo fault {service} --clear)"))
                    : Results.Text(body, "text/plain; version=0.0.4; charset=utf-8");
            })
            .AllowAnonymous().ExcludeFromDescription();

        var g = app.MapGroup("/api/v1/demo").WithTags("demo").RequireAuthorization(Policies.Viewer);
        g.MapGet("/", (DemoWorkload demo, IOptionsMonitor<DemoConfig> options) =>
        {
            var o = options.CurrentValue;
            return TypedResults.Ok(o.Enabled ? o.Services.Select(n => demo.Get(n)).OfType<DemoService>().Select(View).ToList() : []);
        });
        g.MapPut("/{service}/faults", Results<Ok<DemoServiceView>, NotFoundProblem, BadRequestProblem> (string service, DemoFaultRequest req, DemoWorkload demo,
            IOptionsMonitor<DemoConfig> options) =>
        {
            var o = options.CurrentValue;
            var s = Enabled(o, demo, service);
            if (s is null) return Problems.NotFound($"no demo service '{service}'; known: {string.Join(", ", o.Enabled ? o.Services : [])}");
            if (req.ErrorRate is { } e && (double.IsNaN(e) || e < 0 || e > 1)) return Problems.Validation("error_rate", "must be a fraction between 0 and 1");
            TimeSpan? latency = null;
            if (req.Latency is { Length: > 0 } l)
            {
                if (!Duration.TryParse(l, out var d)) return Problems.Validation("latency", $"invalid duration \"{l}\" (use e.g. 800ms, 2s)");
                latency = d.Value;
            }
            if (req.Clear == true) s.ClearFaults();
            if (req.Down is { } down) s.SetDown(down);
            if (req.ErrorRate is { } rate) s.SetErrorRate(rate);
            if (latency is { } lat) s.SetAddedLatency(lat);
            return TypedResults.Ok(View(s));
        }).RequireAuthorization(Policies.Responder);
        g.MapDelete("/{service}/faults", Results<Ok<DemoServiceView>, NotFoundProblem> (string service, DemoWorkload demo, IOptionsMonitor<DemoConfig> options) =>
        {
            var s = Enabled(options.CurrentValue, demo, service);
            if (s is null) return Problems.NotFound($"no demo service '{service}'");
            s.ClearFaults();
            return TypedResults.Ok(View(s));
        }).RequireAuthorization(Policies.Responder);
    }

    private static DemoService? Enabled(DemoConfig config, DemoWorkload demo, string service) =>
        config.Enabled && config.Services.Contains(service) ? demo.Get(service) : null;

    private static DemoServiceView View(DemoService s) => new(s.Name, s.Faults.Down, s.Faults.ErrorRate,
        Duration.Format(s.Faults.AddedLatency), $"/-/demo/{s.Name}/metrics");

    public static string Fraction(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
