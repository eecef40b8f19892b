using System.Globalization;
using Watchkeeper.Server.Backups;

namespace Watchkeeper.Server.Maintenance;

/// <summary>The "create system backups" step of a run, done by the server's backup service (<c>wk backup</c>, docs/backups.md).</summary>
public sealed class ServiceMaintenanceBackup(IBackupService backups) : IMaintenanceBackup
{
    public async Task<string> TakeAsync(string actor, string reason, CancellationToken ct)
    {
        var b = await backups.CreateAsync(actor, reason, ct);
        return string.Create(CultureInfo.InvariantCulture, $"{b.Name} ({b.Files} files, {b.Bytes} bytes, manifest sha256 {b.ManifestSha256[..Math.Min(12, b.ManifestSha256.Length)]})");
    }
}
