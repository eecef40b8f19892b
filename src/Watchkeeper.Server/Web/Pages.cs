using Microsoft.AspNetCore.Http.HttpResults;

namespace Watchkeeper.Server.Web;

/// <summary>Renders a page component on the server (static rendering, no interactivity) with a status code.</summary>
public static class Pages
{
    public static RazorComponentResult<T> Render<T>(int status, Dictionary<string, object?> parameters) where T : Microsoft.AspNetCore.Components.IComponent =>
        new(parameters) { StatusCode = status };

    public static RazorComponentResult<T> Render<T>(Dictionary<string, object?> parameters) where T : Microsoft.AspNetCore.Components.IComponent =>
        Render<T>(200, parameters);
}
