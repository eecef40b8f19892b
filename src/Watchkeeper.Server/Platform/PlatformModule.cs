using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Watchkeeper.Server.Platform;

public static class Policies
{
    public const string Viewer = "viewer";
    public const string Responder = "responder";
    public const string Admin = "admin";
}

/// <summary>Storage, auth, audit, problem details, health, reload and own metrics.</summary>
public static class PlatformModule
{
    public const string SmartScheme = "WatchkeeperAuth";

    public static void AddPlatform(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(sp =>
        {
            var serve = sp.GetRequiredService<ServeOptions>();
            return Db.FromConfig(sp.GetRequiredService<ConfigHolder>().Current, serve.DataDir);
        });
        services.AddSingleton(sp => AuditKey.LoadOrCreate(sp.GetRequiredService<ServeOptions>().DataDir));
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IServiceCatalog, ServiceCatalog>();
        services.AddSingleton<Users>();
        services.AddSingleton<Sessions>();
        services.AddSingleton<LoginThrottle>();
        // TLS on the listener (server.tls): the certificate is read from its PEM files, again when they change.
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>().Configure<ConfigHolder>((k, holder) =>
        {
            if (holder.Current.Server.Tls is null) return;
            var certs = new TlsCertificateCache(holder);
            k.ConfigureHttpsDefaults(h => h.ServerCertificateSelector = (_, _) => certs.Current());
        });
        services.AddSingleton<SelfMetrics>();
        services.AddLeadership();
        services.AddHostedService<AuditCheckpointWorker>();

        // Cookie and antiforgery keys live with the data, so sessions survive restarts.
        services.AddDataProtection().SetApplicationName("watchkeeper")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetFullPath(builder.Configuration["Watchkeeper:DataDir"] ?? "./data"), "keys")));
        // Errors: one exception-to-problem mapping (ProblemExceptionHandler), every problem written by IProblemDetailsService.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c => Problems.Customize(c.HttpContext, c.ProblemDetails));
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Malformed or missing request bodies raise BadHttpRequestException, which becomes a problem naming the cause
        // (otherwise minimal APIs answer a bare 400 in production).
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // The document's server is server.external_url, never the request's Host header (relative without it).
        services.AddOpenApi(o => o.AddDocumentTransformer((doc, ctx, ct) =>
        {
            var external = ctx.ApplicationServices.GetRequiredService<ConfigHolder>().Current.Server.ExternalOrigin;
            doc.Servers = external is null ? [] : [new() { Url = external }];
            return Task.CompletedTask;
        }));
        services.AddAntiforgery(o => { o.HeaderName = "X-CSRF-Token"; o.Cookie.Name = "wk.csrf"; });
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower));
        });

        services.AddAuthentication(SmartScheme)
            .AddPolicyScheme(SmartScheme, "API token or cookie", o =>
            {
                o.ForwardDefaultSelector = ctx =>
                    TokenAuthHandler.TokenFrom(ctx.Request.Headers.Authorization.ToString()) is not null
                        ? TokenAuthHandler.SchemeName
                        : CookieAuthenticationDefaults.AuthenticationScheme;
            })
            .AddScheme<AuthenticationSchemeOptions, TokenAuthHandler>(TokenAuthHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "wk.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.LoginPath = "/login";
                o.AccessDeniedPath = "/login";
                o.SlidingExpiration = true;
                // Every request's session is checked on the server: ended sessions are refused, role changes apply.
                o.Events.OnValidatePrincipal = Sessions.ValidatePrincipal;
                o.Events.OnRedirectToLogin = ctx => IsApi(ctx.Request)
                    ? Problems.WriteAsync(ctx.HttpContext, 401, "Authentication required", "Send 'Authorization: Bearer <token>' (create one with 'wk login') or log in.")
                    : Redirect(ctx);
                o.Events.OnRedirectToAccessDenied = ctx => IsApi(ctx.Request)
                    ? Problems.WriteAsync(ctx.HttpContext, 403, "Forbidden", "Your role does not allow this action.")
                    : Problems.WriteAsync(ctx.HttpContext, 403, "Forbidden", "Your role does not allow this page or action.");
            });
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<ConfigHolder>((o, cfg) =>
            {
                o.ExpireTimeSpan = cfg.Current.Auth.SessionLifetime;
                // Secure when the request is HTTPS (directly or via a trusted proxy), always when users reach us over https.
                o.Cookie.SecurePolicy = cfg.Current.Server.ExternalIsHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Viewer, p => p.RequireAuthenticatedUser().RequireAssertion(c => RankOf(c.User) >= 1))
            .AddPolicy(Policies.Responder, p => p.RequireAuthenticatedUser().RequireAssertion(c => RankOf(c.User) >= 2))
            .AddPolicy(Policies.Admin, p => p.RequireAuthenticatedUser().RequireAssertion(c => RankOf(c.User) >= 3));
    }

    /// <summary>
    /// The login redirect, built from the request's path and never from its Host header: relative, or absolute on
    /// <c>server.external_url</c> when that is set.
    /// </summary>
    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> ctx)
    {
        var r = ctx.Request;
        var local = ctx.Options.LoginPath + QueryString.Create(ctx.Options.ReturnUrlParameter, r.PathBase + r.Path + r.QueryString);
        ctx.Response.Redirect(ctx.HttpContext.RequestServices.GetRequiredService<ConfigHolder>().Current.Server.Absolute(local));
        return Task.CompletedTask;
    }

    public static bool IsApi(HttpRequest r) =>
        r.Path.StartsWithSegments("/api") || r.Path.StartsWithSegments("/-") || r.Path.StartsWithSegments("/prometheus") ||
        r.Path.StartsWithSegments("/alertmanager") || r.Path.StartsWithSegments("/probe") || r.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal);

    public static int RankOf(ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true ? Roles.Rank(user.FindFirstValue(ClaimTypes.Role)) : 0;

    public static string Actor(this ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    /// <summary>
    /// The platform's middleware: forwarded headers (trusted proxies), the exception handler and status-code pages, then
    /// <paramref name="fastPaths"/> (a feature's first-in-line handlers for one hot request, such as
    /// <see cref="Alerting.AlertPostFastPath"/>; they count their own request metrics), then request metrics,
    /// authentication, authorization, antiforgery and the API's CSRF check.
    /// </summary>
    public static void UsePlatform(this WebApplication app, params Action<WebApplication>[] fastPaths)
    {
        var sp = app.Services;
        var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Watchkeeper");
        var dataDir = sp.GetRequiredService<ServeOptions>().DataDir;
        var tightened = DataDirectory.Prepare(dataDir);
        if (tightened.Count > 0)
            log.LogWarning("Removed group and other permissions from {Count} path(s) in the data directory {Dir} (now 0700/0600), e.g. {First}", tightened.Count, dataDir, tightened[0]);
        var db = sp.GetRequiredService<Db>();
        var time = sp.GetRequiredService<TimeProvider>();
        var migrated = Migrations.ApplyAsync(db, time, log).GetAwaiter().GetResult();
        var auditLog = sp.GetRequiredService<AuditLog>();
        auditLog.InitializeAsync(migrated.Contains(Migrations.KeyedAuditChain)).GetAwaiter().GetResult();
        auditLog.RegisterMetrics(sp.GetRequiredService<SelfMetrics>());
        BootstrapAdminAsync(sp.GetRequiredService<Users>(), sp.GetRequiredService<ServeOptions>().AdminPassword, log).GetAwaiter().GetResult();

        var holder = sp.GetRequiredService<ConfigHolder>();
        // First of all: behind a trusted reverse proxy, the client's address and scheme are the forwarded ones.
        if (holder.Current.Server.TrustedProxies.Count > 0) app.UseForwardedHeaders(holder.Current.Server.ForwardedHeaderOptions());
        if (!OperatingSystem.IsWindows())
        {
            if (HangupSignal.UnignoreInherited()) log.LogInformation("SIGHUP was ignored when the server started (nohup?); it reloads the configuration");
#pragma warning disable CA2000 // disposed when the application stops (registered below)
            var reg = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
            {
                ctx.Cancel = true;
                var r = holder.Reload(time);
                if (r.Ok) log.LogInformation("Configuration reloaded from {Path}", holder.Path);
                else log.LogError("Configuration reload failed, keeping the running configuration: {Error}", r.Error);
            });
#pragma warning restore CA2000
            app.Lifetime.ApplicationStopping.Register(reg.Dispose);
        }

        var metrics = sp.GetRequiredService<SelfMetrics>();
        var requests = metrics.Counter("watchkeeper_http_requests_total", "HTTP requests served, by route and status code.", "method", "route", "code");
        var latency = metrics.Histogram("watchkeeper_http_request_duration_seconds", "HTTP request latency.",
            [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], "method", "route");
        metrics.AddCollector((w, ct) =>
        {
            w.Header("watchkeeper_config_last_reload_successful", "Whether the last configuration reload succeeded.", "gauge");
            w.Sample("watchkeeper_config_last_reload_successful", [], [], holder.LastReloadSucceeded ? 1 : 0);
            var proc = Process.GetCurrentProcess();
            w.Header("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
            w.Sample("process_resident_memory_bytes", [], [], proc.WorkingSet64);
            w.Header("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter");
            w.Sample("process_cpu_seconds_total", [], [], proc.TotalProcessorTime.TotalSeconds);
            w.Header("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "gauge");
            w.Sample("process_start_time_seconds", [], [], new DateTimeOffset(proc.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
            RuntimeMetrics.Write(w);
            return Task.CompletedTask;
        });

        app.UseExceptionHandler();
        // A 4xx/5xx without a body (no route, wrong method, ...) gets one: problem details, or the web layer's HTML page.
        app.UseStatusCodePages(async ctx =>
        {
            var r = ctx.HttpContext.Response;
            if (r.HasStarted || r.ContentLength > 0 || !string.IsNullOrEmpty(r.ContentType)) return;
            var title = r.StatusCode switch { 404 => "Not found", 405 => "Method not allowed", 415 => "Unsupported media type", _ => "Error" };
            await Problems.WriteAsync(ctx.HttpContext, r.StatusCode, title, $"{ctx.HttpContext.Request.Method} {ctx.HttpContext.Request.Path}");
        });
        foreach (var use in fastPaths) use(app);
        app.Use(async (ctx, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            await next();
            var route = (ctx.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            requests.Inc(ctx.Request.Method, route, SelfMetrics.StatusCode(ctx.Response.StatusCode));
            latency.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds, ctx.Request.Method, route);
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        // Cookie-authenticated POSTs to the JSON APIs (own, Prometheus, Alertmanager) and the /-/ operator endpoints
        // must carry the antiforgery header (the UI's forms post to their own endpoints, which validate the form token).
        app.Use(async (ctx, next) =>
        {
            var p = ctx.Request.Path;
            if ((p.StartsWithSegments("/api") || p.StartsWithSegments("/-") || p.StartsWithSegments("/prometheus") || p.StartsWithSegments("/alertmanager"))
                && !HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method)
                && ctx.User.Identity is { IsAuthenticated: true, AuthenticationType: CookieAuthenticationDefaults.AuthenticationScheme })
            {
                var af = ctx.RequestServices.GetRequiredService<IAntiforgery>();
                if (!await af.IsRequestValidAsync(ctx))
                {
                    await Problems.WriteAsync(ctx, 400, "Antiforgery token missing or invalid", "Cookie-authenticated API writes need the X-CSRF-Token header.");
                    return;
                }
            }
            await next();
        });
    }

    private static async Task BootstrapAdminAsync(Users users, string? fromEnv, ILogger log)
    {
        if (await users.AnyAsync()) return;
        var password = string.IsNullOrEmpty(fromEnv) ? Users.NewSecret(12) : fromEnv;
        await users.CreateAsync("admin", password, Roles.Admin, "system");
        if (string.IsNullOrEmpty(fromEnv))
        {
            Console.WriteLine($"Watchkeeper: created user 'admin' with one-time password: {password}");
            Console.WriteLine("Watchkeeper: this password is shown once; change it with 'wk user passwd admin'.");
        }
        else
        {
            log.LogInformation("Created user 'admin' with the password from WATCHKEEPER_ADMIN_PASSWORD");
        }
    }

    public static void MapPlatform(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapGet("/-/healthy", () => TypedResults.Text("Watchkeeper is Healthy.\n")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/-/ready", async (Db db, ILeadership leadership, HttpContext http, CancellationToken ct) =>
        {
            // Not ready before the alert path is warm (Alerting/AlertPathWarmup.cs: up to about 6 s after start).
            if (http.RequestServices.GetService<Alerting.AlertPathWarmup>() is { FirstRound.IsCompleted: false })
                return Results.Problem(statusCode: 503, title: "Not ready", detail: "warming up the alert path");
            try
            {
                await db.ReadAsync(async c => { await using var cmd = c.CreateCommand(); cmd.CommandText = "SELECT 1"; return await cmd.ExecuteScalarAsync(ct); }, ct);
                // Whether this replica runs the singleton work (rule evaluation, group timers, escalations, dispatch).
                var role = leadership.IsLeader ? "leader" : "follower";
                http.Response.Headers["X-Watchkeeper-Role"] = role;
                return Results.Text($"Watchkeeper is Ready ({role}).\n");
            }
            catch (Exception ex)
            {
                return Results.Problem(statusCode: 503, title: "Not ready", detail: "database unreachable: " + ex.Message);
            }
        }).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/metrics", async (SelfMetrics m, CancellationToken ct) =>
            TypedResults.Text(await m.RenderAsync(ct), "text/plain; version=0.0.4; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/-/reload", Results<ContentHttpResult, ReloadFailedProblem> (ConfigHolder holder, TimeProvider time) =>
        {
            var r = holder.Reload(time);
            return r.Ok
                ? TypedResults.Text("configuration reloaded\n")
                : new ReloadFailedProblem(Problems.Create(400, "Reload failed; the running configuration is kept", r.Error));
        }).Produces<string>(200, "text/plain").RequireAuthorization(Policies.Admin);

        var auth = app.MapGroup("/api/v1/auth").WithTags("auth");
        auth.MapPost("/login", async Task<IResult> (LoginRequest req, Users users, LoginThrottle throttle, HttpContext http, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(req.Username)) return Problems.Validation("username", "is required");
            if (string.IsNullOrEmpty(req.Password)) return Problems.Validation("password", "is required");
            var client = LoginThrottle.ClientKey(http.Connection.RemoteIpAddress);
            if (throttle.RetryAfter(client, req.Username) is { } wait) return LoginThrottle.Refuse(http, wait);
            var u = await users.CheckPasswordAsync(req.Username, req.Password, ct: ct);
            if (u is null)
            {
                throttle.Failed(client, req.Username);
                return TypedResults.Problem(Problems.Create(401, "Login failed", "unknown user, wrong password or disabled account"));
            }
            throttle.Succeeded(req.Username);
            var t = await users.CreateTokenAsync(u.Username, string.IsNullOrWhiteSpace(req.TokenName) ? "wk login" : req.TokenName, u.Username, ct: ct);
            http.Response.Headers.CacheControl = "no-store";
            return TypedResults.Ok(t);
        }).Produces<NewToken>().ProducesProblem(401).ProducesProblem(429).AllowAnonymous().DisableAntiforgery();
        auth.MapGet("/whoami", (ClaimsPrincipal user) =>
            TypedResults.Ok(new { username = user.Actor(), role = user.FindFirstValue(ClaimTypes.Role) })).RequireAuthorization(Policies.Viewer);

        var usersApi = app.MapGroup("/api/v1/users").WithTags("users").RequireAuthorization(Policies.Admin);
        usersApi.MapGet("/", async (Users users, CancellationToken ct) => TypedResults.Ok(await users.ListAsync(ct: ct)));
        usersApi.MapPost("/", async Task<Results<Created<UserView>, BadRequestProblem>> (CreateUserRequest req, Users users, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(req.Username) || req.Username.Length > 64 || !req.Username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                return Problems.Validation("username", "is required: 1-64 letters, digits, '.', '-' or '_'");
            if (req.Password is null || req.Password.Length < 8) return Problems.Validation("password", "must be at least 8 characters");
            if (!Roles.IsValid(req.Role)) return Problems.Validation("role", $"must be one of {string.Join(", ", Roles.All)}");
            var created = await users.CreateAsync(req.Username, req.Password, req.Role!, user.Actor(), ct: ct);
            return TypedResults.Created($"/api/v1/users/{created.Username}", created);
        });
        usersApi.MapPatch("/{username}", async Task<Results<Ok<UserView>, BadRequestProblem, NotFoundProblem, ConflictProblem>> (string username, UpdateUserRequest req, Users users, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (req.Role is not null && !Roles.IsValid(req.Role)) return Problems.Validation("role", $"must be one of {string.Join(", ", Roles.All)}");
            if (req.Password is not null && req.Password.Length < 8) return Problems.Validation("password", "must be at least 8 characters");
            try
            {
                var u = await users.UpdateAsync(username, req.Role, req.Disabled, req.Password, user.Actor(), user.FindFirstValue(Sessions.Claim), ct: ct);
                return u is null ? Problems.NotFound($"user '{username}' not found") : TypedResults.Ok(u);
            }
            catch (ConflictException ex) when (ex.Rule is { } rule)
            {
                return new ConflictProblem(Problems.Create(409, "Refused by rule " + rule, ex.Message, "https://watchkeeper.dev/problems/" + rule));
            }
        });

        var tokens = app.MapGroup("/api/v1/tokens").WithTags("tokens").RequireAuthorization(Policies.Viewer);
        tokens.MapGet("/", async (Users users, ClaimsPrincipal user, bool? all, CancellationToken ct) =>
            TypedResults.Ok(await users.ListTokensAsync(all == true && RankOf(user) >= 3 ? null : user.Actor(), ct: ct)));
        tokens.MapPost("/", async Task<Results<Created<NewToken>, BadRequestProblem>> (CreateTokenRequest req, Users users, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(req.Name) || req.Name.Length > 100) return Problems.Validation("name", "is required (at most 100 characters)");
            TimeSpan? expiresIn = null;
            if (req.ExpiresIn is not null)
            {
                if (!Duration.TryParse(req.ExpiresIn, out var d)) return Problems.Validation("expires_in", "is not a duration (e.g. 12h, 30d, 1y)");
                expiresIn = d.Value;
            }
            var t = await users.CreateTokenAsync(user.Actor(), req.Name, user.Actor(), expiresIn, ct: ct);
            http.Response.Headers.CacheControl = "no-store";
            return TypedResults.Created($"/api/v1/tokens/{t.Id}", t);
        });
        tokens.MapDelete("/{id:long}", async Task<Results<NoContent, NotFoundProblem>> (long id, Users users, ClaimsPrincipal user, CancellationToken ct) =>
            await users.RevokeTokenAsync(id, user.Actor(), RankOf(user) >= 3, ct: ct) ? TypedResults.NoContent() : Problems.NotFound($"token {id} not found"));

        var audit = app.MapGroup("/api/v1/audit").WithTags("audit").RequireAuthorization(Policies.Admin);
        audit.MapGet("/", async Task<Results<Ok<IReadOnlyList<AuditRecord>>, BadRequestProblem>> (AuditLog log, long? after, int? limit, CancellationToken ct) =>
        {
            if (limit is < 1 or > 1000) return Problems.Validation("limit", "must be between 1 and 1000");
            return TypedResults.Ok(await log.ListAsync(after ?? 0, limit ?? 100, ct));
        });
        audit.MapGet("/verify", async (AuditLog log, string? expect, CancellationToken ct) => TypedResults.Ok(await log.VerifyAsync(expect, ct)));
        audit.MapPost("/checkpoint", async (AuditLog log, CancellationToken ct) => TypedResults.Ok(await log.CheckpointAsync(ct: ct)));
    }
}

public sealed record LoginRequest(string? Username, string? Password, string? TokenName);
public sealed record CreateUserRequest(string? Username, string? Password, string? Role);
public sealed record UpdateUserRequest(string? Role, bool? Disabled, string? Password);
/// <summary>A new API token; <c>expires_in</c> (e.g. "30d") gives it a lifetime, without it it lasts until revoked.</summary>
public sealed record CreateTokenRequest(string? Name, string? ExpiresIn = null);
