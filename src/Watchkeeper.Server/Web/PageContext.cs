using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>
/// What every page needs while it renders: the signed-in user and role, an antiforgery token for its
/// forms, the current time from the server's clock, the running configuration, the registered
/// navigation and the fingerprinted asset URLs. Handlers create one per request and pass it to the page.
/// </summary>
public sealed class PageContext
{
    private AntiforgeryTokenSet? _tokens;

    public PageContext(HttpContext http)
    {
        Http = http;
        User = http.User;
        Now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        Config = http.RequestServices.GetRequiredService<ConfigHolder>().Current;
        Navigation = http.RequestServices.GetRequiredService<NavigationRegistry>();
        Assets = http.RequestServices.GetRequiredService<StaticAssets>();
    }

    public HttpContext Http { get; }
    public ClaimsPrincipal User { get; }
    public DateTimeOffset Now { get; }
    public WatchkeeperConfig Config { get; }
    public NavigationRegistry Navigation { get; }
    public StaticAssets Assets { get; }
    public bool IsAuthenticated => User.Identity?.IsAuthenticated == true;
    public string UserName => User.Actor();
    public string Role => User.FindFirstValue(ClaimTypes.Role) ?? "";
    public int Rank => PlatformModule.RankOf(User);
    public bool CanWrite => Rank >= 2;
    public bool IsAdmin => Rank >= 3;

    /// <summary>Incidents not resolved (kept in memory by the incident metrics; no query per page).</summary>
    public long? OpenIncidents => Http.RequestServices.GetService<Incidents.IncidentMetrics>()?.OpenCount;

    private AntiforgeryTokenSet Tokens => _tokens ??= Http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(Http);

    /// <summary>The name of the hidden antiforgery field every form carries.</summary>
    public string TokenField => Tokens.FormFieldName;

    /// <summary>The value of the hidden antiforgery field.</summary>
    public string TokenValue => Tokens.RequestToken ?? "";
}
