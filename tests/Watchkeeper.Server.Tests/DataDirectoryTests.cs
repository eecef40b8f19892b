using System.Net;

namespace Watchkeeper.Server.Tests;

/// <summary>The data directory is readable by the server's user only (issue 9, defect 6).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests
{
    private const UnixFileMode Dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static List<string> Loose(string dataDir)
    {
        var loose = new List<string>();
        if (File.GetUnixFileMode(dataDir) != Dir) loose.Add($"{dataDir} {File.GetUnixFileMode(dataDir)}");
        foreach (var e in new DirectoryInfo(dataDir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            var want = e is DirectoryInfo ? Dir : File600;
            // Only the owner's bits may be set; a file the server never writes may be read-only.
            if ((e.UnixFileMode & ~want) != 0 || (e is DirectoryInfo && e.UnixFileMode != Dir)) loose.Add($"{e.FullName} {e.UnixFileMode}");
        }
        return loose;
    }

    private static async Task WriteSomethingAsync(TestServer s)
    {
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await c.Post("/api/v1/incidents", new { title = "Disk full", severity = "SEV3" }, HttpStatusCode.Created)).Long("id");
        await c.Post($"/api/v1/incidents/{id}/acknowledge");
        await c.Post("/api/v1/audit/checkpoint");
        // Self metrics through the TSDB write path.
        using var anon = s.Client();
        await anon.GetStringAsync("/metrics");
    }

    [Fact]
    public async Task A_fresh_data_directory_and_everything_written_in_it_are_owner_only()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("Unix file modes");
        await using var s = await TestServer.StartAsync();
        Assert.Empty(Loose(s.DataDir));
        await WriteSomethingAsync(s);
        foreach (var f in new[] { "watchkeeper.db", "watchkeeper.db-wal", "watchkeeper.db-shm", "audit.key" })
            Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(s.DataDir, f)));
        Assert.True(Directory.Exists(Path.Combine(s.DataDir, "tsdb")), "no tsdb directory");
        Assert.Equal(Dir, File.GetUnixFileMode(s.DataDir));
        Assert.Equal(Dir, File.GetUnixFileMode(Path.Combine(s.DataDir, "tsdb")));
        Assert.Empty(Loose(s.DataDir));
    }

    [Fact]
    public async Task A_data_directory_left_world_readable_is_tightened_at_start()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("Unix file modes");
        var root = Directory.CreateTempSubdirectory("wk-modes-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            string[] files;
            await using (var s = await TestServer.StartAsync(dataDir: data))
            {
                await WriteSomethingAsync(s);
            }
            // What an older version left behind under umask 022.
            File.SetUnixFileMode(data, Dir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            files = Directory.GetFiles(data, "*", SearchOption.AllDirectories);
            foreach (var f in files) File.SetUnixFileMode(f, File600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            foreach (var d in Directory.GetDirectories(data, "*", SearchOption.AllDirectories))
                File.SetUnixFileMode(d, Dir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Assert.NotEmpty(Loose(data));

            await using (var s = await TestServer.StartAsync(dataDir: data))
            {
                Assert.Empty(Loose(data));
                await WriteSomethingAsync(s);
                Assert.Empty(Loose(data));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, true);
        }
    }
}
