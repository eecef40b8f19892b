using Microsoft.Extensions.Options;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Alerting;
using Watchkeeper.Server.Backups;
using Watchkeeper.Server.Dashboards;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Maintenance;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Overview;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Probes;
using Watchkeeper.Server.Reports;
using Watchkeeper.Server.Rules;
using Watchkeeper.Server.Tasks;
using Watchkeeper.Server.Uptime;
using Watchkeeper.Server.StatusPage;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server;

/// <summary>Command line of the <c>watchkeeper</c> binary and assembly of the web application.</summary>
public static class ServerHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        ServeOptions serve;
        try
        {
            serve = ServeOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync("watchkeeper: " + ex.Message);
            await Console.Error.WriteLineAsync(ServeOptions.Usage);
            return 2;
        }
        if (serve.Help)
        {
            Console.WriteLine(ServeOptions.Usage);
            return 0;
        }

        WebApplication app;
        try
        {
            app = Build(serve, builder => { });
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync("watchkeeper: configuration error: " + ex.Message);
            return 1;
        }
        try
        {
            await app.RunAsync();
        }
        catch (Exception ex) when (OptionsErrors(ex) is { Count: > 0 } errors)
        {
            // The sections' Options are validated on start; their messages name file, line and key.
            foreach (var e in errors) await Console.Error.WriteLineAsync("watchkeeper: configuration error: " + e);
            return 1;
        }
        return 0;
    }

    private static List<string> OptionsErrors(Exception ex) => ex switch
    {
        OptionsValidationException o => [.. o.Failures],
        AggregateException a => [.. a.InnerExceptions.SelectMany(OptionsErrors)],
        _ => [],
    };

    /// <summary>Builds the application; tests call this with their own options and overrides.</summary>
    public static WebApplication Build(ServeOptions serve, Action<WebApplicationBuilder> configure)
    {
        var config = ConfigLoader.Load(serve.ConfigPath);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(config.Server.ListenUrl(serve.Listen));
        if (config.Server.Tls is not null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        builder.Configuration["Watchkeeper:DataDir"] = serve.DataDir;
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Per-request lines of the HTTP clients (notifications, status-page deliveries, probes: four lines and a Polly line
        // per request) and of a refused API token: each attempt is recorded where operators read it (notification
        // attempts, probe results, the request metrics), failures are logged as warnings, and a log line per request
        // costs the hot paths and drowns the rest.
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.Logging.AddFilter(typeof(Platform.TokenAuthHandler).FullName, LogLevel.Warning);
        builder.Services.AddSingleton(serve);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new ConfigHolder(serve.ConfigPath, config));
        builder.Services.AddConfigOptions();

        builder.AddPlatform();
        builder.AddMonitoring();
        builder.AddIncidents();
        builder.AddAlerting();
        builder.AddOnCall();
        builder.AddReports();
        builder.AddNotifications();
        builder.AddRules();
        builder.AddDashboards();
        builder.AddProbes();
        builder.AddUptime();
        builder.AddStatusPage();
        builder.AddMaintenance();
        builder.AddBackups();
        builder.AddTasks();
        builder.AddWeb();
        builder.AddOverview();
        configure(builder);

        var app = builder.Build();
        app.UseStatusPageFastPath();
        app.UseWebAssets();
        // POST /alertmanager/api/v2/alerts with a responder's token skips authentication, authorization and routing.
        app.UsePlatform(a => a.UseAlertPostFastPath());
        app.MapPlatform();
        app.MapMonitoring();
        app.MapIncidents();
        app.MapAlerting();
        app.MapOnCall();
        app.MapReports();
        app.MapNotifications();
        app.MapRules();
        app.MapDashboards();
        app.MapProbes();
        app.MapUptime();
        app.MapStatusPage();
        app.MapMaintenance();
        app.MapBackups();
        app.MapTasks();
        app.MapWeb();
        return app;
    }
}
