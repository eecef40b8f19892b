using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>One mapped endpoint per HTTP method, with its route filled with plausible values.</summary>
public sealed record MappedEndpoint(string Method, string Route, string Url, bool AllowAnonymous, int RequiredRank)
{
    public bool IsWrite => Method is "POST" or "PUT" or "PATCH" or "DELETE";
    public override string ToString() => $"{Method} {Route}";
}

public static partial class Endpoints
{
    /// <summary>Every endpoint the application maps, read from its EndpointDataSource.</summary>
    public static IReadOnlyList<MappedEndpoint> All(IServiceProvider services)
    {
        var source = services.GetRequiredService<EndpointDataSource>();
        var list = new List<MappedEndpoint>();
        foreach (var e in source.Endpoints.OfType<RouteEndpoint>())
        {
            var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var anonymous = e.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            // No policy at all falls back to "any authenticated user" (the fallback policy).
            var rank = policies.Count == 0 ? 1 : policies.Max(p => p switch
            {
                Policies.Admin => 3,
                Policies.Responder => 2,
                _ => 1,
            });
            var raw = e.RoutePattern.RawText ?? "/";
            foreach (var m in methods) list.Add(new MappedEndpoint(m, raw, Fill(raw), anonymous, rank));
        }
        return list.OrderBy(x => x.Route, StringComparer.Ordinal).ThenBy(x => x.Method, StringComparer.Ordinal).ToList();
    }

    [GeneratedRegex(@"\{([A-Za-z_]+)[^}]*\}")]
    private static partial Regex Parameter();

    /// <summary>Replaces route parameters with values that match their constraints.</summary>
    public static string Fill(string route, string id = "1") => Parameter().Replace(route, m => m.Groups[1].Value switch
    {
        "id" or "itemId" => id,
        "username" => "admin",
        "documentName" => "v1",
        var other => "x-" + other,
    });
}
