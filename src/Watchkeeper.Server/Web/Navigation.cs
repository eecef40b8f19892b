namespace Watchkeeper.Server.Web;

/// <summary>
/// One entry of the layout's navigation. <paramref name="Key"/> names it for the page that marks it
/// active; <paramref name="MinRank"/> is the least role that sees it (1 viewer, 2 responder, 3 admin).
/// </summary>
public sealed record NavItem(string Key, string Title, string Href, int Order, int MinRank = 1);

/// <summary>
/// The layout's navigation: each feature registers its entries from its AddXxx with
/// <see cref="NavigationExtensions.AddNavItem"/>, and the layout shows those the user's role may open, by order.
/// </summary>
public sealed class NavigationRegistry(IEnumerable<NavItem> items)
{
    public IReadOnlyList<NavItem> Items { get; } = items.OrderBy(i => i.Order).ThenBy(i => i.Title, StringComparer.Ordinal).ToList();

    public IEnumerable<NavItem> For(int rank) => Items.Where(i => rank >= i.MinRank);
}

public static class NavigationExtensions
{
    /// <summary>Adds an entry to the layout's navigation.</summary>
    public static IServiceCollection AddNavItem(this IServiceCollection services, NavItem item)
    {
        services.AddSingleton(item);
        return services;
    }
}
