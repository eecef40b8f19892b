using System.Security.Claims;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Backups;

/// <summary><c>backups:</c> in watchkeeper.yml.</summary>
public sealed class BackupsConfig
{
    /// <summary>Where backups are written; a relative path is relative to the data directory (--data).</summary>
    public string Directory { get; set; } = "backups";

    public static IEnumerable<ConfigError> Check(BackupsConfig c)
    {
        if (string.IsNullOrWhiteSpace(c.Directory)) yield return new("backups.directory", "must name a folder (relative to the data directory, or absolute)");
        else if (c.Directory.IndexOfAny(Path.GetInvalidPathChars()) >= 0) yield return new("backups.directory", "contains characters that are not allowed in a path");
    }
}

public sealed record CreateBackupRequest(string? Reason);

/// <summary>Backups of Watchkeeper's own data (<see cref="IBackupService"/>) and <c>/api/v1/backups</c> (admin only: a backup holds password hashes and keys).</summary>
public static class BackupsModule
{
    public static void AddBackups(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<BackupService>();
        builder.Services.AddSingleton<IBackupService>(sp => sp.GetRequiredService<BackupService>());
    }

    public static void MapBackups(this WebApplication app)
    {
        var g = app.MapGroup("/api/v1/backups").WithTags("backups").RequireAuthorization(Policies.Admin);
        g.MapGet("/", async (IBackupService backups, CancellationToken ct) => TypedResults.Ok(await backups.ListAsync(ct)));
        g.MapPost("/", async (CreateBackupRequest? req, IBackupService backups, ClaimsPrincipal user, CancellationToken ct) =>
            {
                try
                {
                    var b = await backups.CreateAsync(user.Actor(), req?.Reason ?? "", ct);
                    return Results.Created($"/api/v1/backups/{b.Name}", b);
                }
                catch (BackupException ex)
                {
                    return TypedResults.Problem(Problems.Create(500, "Backup failed", ex.Message));
                }
            })
            .ProducesValidationProblem();
        g.MapGet("/{name}/verify", async (string name, IBackupService backups, CancellationToken ct) => TypedResults.Ok(await backups.VerifyAsync(name, ct)))
            .ProducesValidationProblem();
    }
}
