using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.StatusPage;

/// <summary>
/// The public status page: <c>/status</c> (HTML without script), the Statuspage-shaped JSON under
/// <c>/status/api/v2/</c>, the Atom feed, SVG badges, the in-app notice and its embed script, and subscriptions.
/// Every public document is served from the in-memory snapshot (<see cref="StatusSnapshots"/>). Subscriber
/// management is for admins (<c>/api/v1/status-page/subscribers</c>, <c>/status-page/subscribers</c>).
/// </summary>
public static class StatusPageModule
{
    public static void AddStatusPage(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        s.AddSingleton<StatusSnapshotBuilder>();
        s.AddSingleton<StatusSnapshots>();
        s.AddHostedService<StatusSnapshotWorker>();
        s.AddSingleton<StatusDeliverySignal>();
        s.AddSingleton<StatusSubscribers>();
        s.AddSingleton<StatusDeliveryWorker>();
        s.AddHostedService(sp => sp.GetRequiredService<StatusDeliveryWorker>());
        // Webhook deliveries follow no redirects (a subscriber's URL must not send our requests elsewhere).
        s.AddHttpClient(StatusDeliveryWorker.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        s.AddNavItem(new NavItem("status", "Status page", "/status", 330));
        s.AddNavItem(new NavItem("status-subscribers", "Subscribers", "/status-page/subscribers", 920, MinRank: 3));
    }

    public static void MapStatusPage(this WebApplication app)
    {
        var pub = app.MapGroup("/status").AllowAnonymous().DisableAntiforgery().WithTags("status page");
        app.MapGet("/status", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Page, cors: false)).AllowAnonymous().WithTags("status page");
        pub.MapGet("/feed.atom", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Feed, cors: true));
        pub.MapGet("/api/v2/summary.json", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Summary, cors: true));
        pub.MapGet("/api/v2/status.json", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Status, cors: true));
        pub.MapGet("/api/v2/components.json", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Components, cors: true));
        pub.MapGet("/api/v2/incidents.json", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Incidents, cors: true));
        pub.MapGet("/api/v2/notice.json", (HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Notice, cors: true));
        pub.MapGet("/badge/{component}.svg", (string component, HttpContext http, StatusSnapshots s) => Serve(http, s, x => x.Badges.GetValueOrDefault(component), cors: true));
        pub.MapGet("/embed.js", (HttpContext http, IWebHostEnvironment env, ConfigHolder cfg) => EmbedScript(http, env, cfg));

        pub.MapPost("/subscribe", Subscribe);
        pub.MapGet("/subscribe/confirm", async (HttpContext http, StatusSubscribers subs, string? token) =>
        {
            var (_, problem) = await subs.CheckTokenAsync("c", token, http.RequestAborted);
            return problem is not null
                ? Message(http, 400, "Link not valid", problem, error: true)
                : Message(http, 200, "Confirm your subscription", "Press Confirm to start receiving updates at this address.", form: ("/status/subscribe/confirm", "Confirm", token));
        });
        pub.MapPost("/subscribe/confirm", async (HttpContext http, StatusSubscribers subs, [FromForm] string? token) =>
        {
            var (id, problem) = await subs.CheckTokenAsync("c", token, http.RequestAborted);
            if (problem is not null) return Message(http, 400, "Link not valid", problem, error: true);
            var fresh = await subs.ConfirmAsync(id, http.RequestAborted);
            return Message(http, 200, "Subscribed", fresh ? "Your subscription is confirmed. You will receive public incident updates." : "This subscription was already confirmed.");
        });
        pub.MapGet("/unsubscribe", async (HttpContext http, StatusSubscribers subs, string? token) =>
        {
            var (_, problem) = await subs.CheckTokenAsync("u", token, http.RequestAborted);
            return problem is not null
                ? Message(http, 400, "Unsubscribe", problem, error: true)
                : Message(http, 200, "Unsubscribe", "Press Unsubscribe to stop receiving updates. Your address is deleted.", form: ("/status/unsubscribe", "Unsubscribe", token));
        });
        // RFC 8058: a mail client POSTs List-Unsubscribe=One-Click to the List-Unsubscribe URI (token in the query); the
        // page's own form posts the token as a field.
        pub.MapPost("/unsubscribe", async (HttpContext http, StatusSubscribers subs) =>
        {
            var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted) : null;
            var token = form?["token"].ToString() is { Length: > 0 } t ? t : http.Request.Query["token"].ToString();
            var (id, problem) = await subs.CheckTokenAsync("u", token, http.RequestAborted);
            if (problem is not null) return Message(http, id == 0 && problem.Contains("no longer exists", StringComparison.Ordinal) ? 200 : 400, "Unsubscribe", problem, error: true);
            await subs.DeleteAsync(id, "subscriber", "status_subscriber.unsubscribe", http.RequestAborted);
            return Message(http, 200, "Unsubscribed", "You are unsubscribed and your address was deleted.");
        });

        var admin = app.MapGroup("/api/v1/status-page").WithTags("status page").RequireAuthorization(Policies.Admin).AsResults();
        admin.MapGet("/subscribers", async (StatusSubscribers subs, string? kind, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await subs.ListAsync(string.IsNullOrWhiteSpace(kind) ? null : kind.Trim(), limit ?? 1000, ct)));
        admin.MapDelete("/subscribers/{id:long}", async (long id, StatusSubscribers subs, ClaimsPrincipal user, CancellationToken ct) =>
            await subs.DeleteAsync(id, user.Actor(), "status_subscriber.delete", ct) ? Results.NoContent() : throw new NotFoundException($"subscriber {id} not found"));

        var pages = app.MapPages();
        pages.MapGet("/status-page/subscribers", async (HttpContext http, StatusSubscribers subs, string? deleted) =>
            Pages.Render<SubscribersPage>(new()
            {
                [nameof(SubscribersPage.Ctx)] = new PageContext(http),
                [nameof(SubscribersPage.Subscribers)] = await subs.ListAsync(null, 1000, http.RequestAborted),
                [nameof(SubscribersPage.Notice)] = deleted is null ? null : "Subscriber deleted.",
            })).RequireAuthorization(Policies.Admin);
        pages.MapPost("/status-page/subscribers/{id:long}/delete", async (long id, HttpContext http, StatusSubscribers subs) =>
        {
            await subs.DeleteAsync(id, http.User.Actor(), "status_subscriber.delete", http.RequestAborted);
            return Results.Redirect("/status-page/subscribers?deleted=1");
        }).RequireAuthorization(Policies.Admin);
    }

    private static async Task<IResult> Subscribe(HttpContext http, StatusSubscribers subs, [FromForm] string? kind, [FromForm] string? target)
    {
        try
        {
            var r = await subs.SubscribeAsync(kind, target, http.Connection.RemoteIpAddress, http.RequestAborted);
            return r.Kind == SubscriberKind.Email
                ? Message(http, 202, "Check your inbox", "If the address can receive mail, a confirmation link is on its way. Nothing is sent to you until you confirm.")
                : Message(http, 202, "Verify your webhook", "A verification request is on its way to your endpoint. It carries the secret later deliveries are signed with; answer it with its challenge to start receiving updates.");
        }
        catch (ValidationException ex)
        {
            return Message(http, 400, "Not subscribed", Html.ErrorMessage(ex), error: true);
        }
        catch (SubscribeRateLimitedException ex)
        {
            ex.AddHeaders(http.Response.Headers);
            return Message(http, 429, "Not subscribed", ex.Message, error: true);
        }
    }

    private static IResult Message(HttpContext http, int status, string heading, string message, bool error = false, (string Action, string Button, string? Token)? form = null)
    {
        WebModule.SecurityHeaders(http);
        http.Response.Headers.CacheControl = "no-store";
        var cfg = http.RequestServices.GetRequiredService<ConfigHolder>().Current.StatusPage;
        return Pages.Render<StatusMessagePage>(status, new()
        {
            [nameof(StatusMessagePage.PageTitle)] = cfg.Title,
            [nameof(StatusMessagePage.Stylesheet)] = http.RequestServices.GetRequiredService<StaticAssets>().Url("css/status.css"),
            [nameof(StatusMessagePage.Heading)] = heading,
            [nameof(StatusMessagePage.Message)] = message,
            [nameof(StatusMessagePage.IsError)] = error,
            [nameof(StatusMessagePage.FormAction)] = form?.Action,
            [nameof(StatusMessagePage.FormButton)] = form?.Button,
            [nameof(StatusMessagePage.Token)] = form?.Token,
        });
    }

    /// <summary>Writes a pre-rendered body with its ETag (304 when the client has it); CORS for the documents other sites read.</summary>
    private static async ValueTask<IResult> Serve(HttpContext http, StatusSnapshots snapshots, Func<StatusSnapshot, StatusBody?> pick, bool cors)
    {
        if (!http.RequestServices.GetRequiredService<ConfigHolder>().Current.StatusPage.Enabled)
            throw new NotFoundException("the status page is disabled (status_page.enabled: false)");
        var snapshot = snapshots.Current ?? await snapshots.GetAsync(http.RequestAborted);
        var body = pick(snapshot) ?? throw new NotFoundException($"no component or group '{http.Request.RouteValues["component"]}' on the status page");
        return new BodyResult(body, cors);
    }

    private sealed class BodyResult(StatusBody body, bool cors) : IResult
    {
        public Task ExecuteAsync(HttpContext http) => StatusFastPath.WriteBody(http, body, cors);
    }

    private static IResult EmbedScript(HttpContext http, IWebHostEnvironment env, ConfigHolder cfg)
    {
        if (!cfg.Current.StatusPage.Enabled) throw new NotFoundException("the status page is disabled (status_page.enabled: false)");
        var file = env.WebRootFileProvider.GetFileInfo("js/status-embed.js");
        if (!file.Exists) throw new NotFoundException("js/status-embed.js is missing from wwwroot");
        http.Response.Headers.AccessControlAllowOrigin = "*";
        http.Response.Headers.CacheControl = "public, max-age=300";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.File(file.CreateReadStream(), "text/javascript; charset=utf-8", entityTag: new EntityTagHeaderValue("\"" + file.LastModified.ToUnixTimeSeconds() + "-" + file.Length + "\""));
    }
}
