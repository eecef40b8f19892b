using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// The real <c>watchkeeper</c> binary as a child process: what it acknowledged with a 2xx must survive
/// <c>kill -9</c> and be there after a restart on the same data directory.
/// </summary>
public sealed class DurabilityTests
{
    private const string Password = "durable-admin-password";

    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _p;
        private readonly StringBuilder _output = new();
        public Uri BaseAddress { get; }

        private Child(Process p, Uri baseAddress)
        {
            _p = p;
            BaseAddress = baseAddress;
        }

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public static async Task<Child> StartAsync(string config, string data)
        {
            var port = FreePort();
            var dll = Path.Combine(AppContext.BaseDirectory, "watchkeeper.dll");
            Assert.True(File.Exists(dll), $"{dll} not found: the server is built with the tests");
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(data)!,
            };
            foreach (var a in new[] { dll, "serve", "--config", config, "--data", data, "--listen", $"127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
            psi.Environment["WATCHKEEPER_ADMIN_PASSWORD"] = Password;
            psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var p = Process.Start(psi)!;
            var child = new Child(p, new Uri($"http://127.0.0.1:{port}"));
            p.OutputDataReceived += (_, e) => { lock (child._output) child._output.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { lock (child._output) child._output.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            await child.WaitReadyAsync();
            return child;
        }

        private async Task WaitReadyAsync()
        {
            using var c = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (_p.HasExited) Assert.Fail($"watchkeeper exited with {_p.ExitCode} while starting:\n{Output}");
                try
                {
                    using var r = await c.GetAsync("/-/ready");
                    if (r.IsSuccessStatusCode) return;
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }
                // Waiting for a child process to open its port, not for time-dependent logic.
                await Task.Delay(50);
            }
            Assert.Fail($"watchkeeper did not become ready within 60s:\n{Output}");
        }

        /// <summary>SIGKILL: no shutdown hooks, no flushing.</summary>
        public async Task KillAsync()
        {
            _p.Kill(entireProcessTree: true);
            await _p.WaitForExitAsync();
            Assert.Equal(137, _p.ExitCode);
        }

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);

        public void SendSighup() => Assert.Equal(0, kill(_p.Id, 1));

        public HttpClient Client(string? token = null)
        {
            var c = new HttpClient { BaseAddress = BaseAddress };
            if (token is not null) c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return c;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_p.HasExited)
            {
                _p.Kill(entireProcessTree: true);
                await _p.WaitForExitAsync();
            }
            _p.Dispose();
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Theory, MemberData(nameof(IncidentStorageTests.Providers), MemberType = typeof(IncidentStorageTests))]
    public async Task Acknowledged_writes_survive_kill_9_and_a_restart(string provider)
    {
        var postgres = provider == "postgres";
        TestServer.SkipUnlessAvailable(postgres);
        var root = Directory.CreateTempSubdirectory("wk-durable-").FullName;
        var data = Path.Combine(root, "data");
        var pgDb = postgres ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            var config = TestServer.CopyConfig(root, pgDb is null ? null : y => y.Replace("storage: {}",
                $"storage:\n  postgres:\n    connection_string: \"{TestServer.PostgresConnectionStringFor(pgDb)}\"", StringComparison.Ordinal));

            string token;
            var expected = new List<(long Id, string Title, string Update, string Note)>();
            await using (var first = await Child.StartAsync(config, data))
            {
                using (var anon = first.Client())
                    token = (await anon.Post("/api/v1/auth/login", new { username = "admin", password = Password })).Str("token");
                using var c = first.Client(token);
                for (var i = 0; i < 3; i++)
                {
                    var id = (await c.Post("/api/v1/incidents", new { title = $"durable incident {i}", severity = "SEV2" }, HttpStatusCode.Created)).Long("id");
                    await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = $"investigating {i}", visibility = "public" }, HttpStatusCode.Created);
                    await c.Post($"/api/v1/incidents/{id}/notes", new { text = $"note {i}" }, HttpStatusCode.Created);
                    expected.Add((id, $"durable incident {i}", $"investigating {i}", $"note {i}"));
                }
                // A burst of concurrent writes, then the kill right after the last 2xx.
                var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
                {
                    using var bc = first.Client(token);
                    var id = (await bc.Post("/api/v1/incidents", new { title = $"burst {i}", severity = "SEV4" }, HttpStatusCode.Created)).Long("id");
                    await bc.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = $"burst update {i}" }, HttpStatusCode.Created);
                    return (id, $"burst {i}", $"burst update {i}", "");
                }));
                expected.AddRange(burst);
                var last = await c.Post($"/api/v1/incidents/{expected[0].Id}/resolve", new { message = "last acknowledged write" });
                await first.KillAsync();
                Assert.Equal("resolved", last.Str("status"));
            }

            await using var second = await Child.StartAsync(config, data);
            using var r = second.Client(token);
            Assert.Equal(expected.Count, (await r.Get("/api/v1/incidents?limit=100")).Long("total"));
            foreach (var (id, title, update, note) in expected)
            {
                var inc = await r.Get($"/api/v1/incidents/{id}");
                Assert.Equal(title, inc.Str("title"));
                var updates = (await r.Get($"/api/v1/incidents/{id}/status-updates")).Items();
                Assert.Equal(update, Assert.Single(updates).Str("current_status"));
                Assert.Contains(update, updates[0].Str("body"), StringComparison.Ordinal);
                if (note.Length > 0)
                    Assert.Contains((await r.Get($"/api/v1/incidents/{id}/timeline")).Items(), t => t.Str("kind") == "note" && t.Str("message") == note);
            }
            Assert.Equal("resolved", (await r.Get($"/api/v1/incidents/{expected[0].Id}")).Str("status"));
            var verify = await r.Get("/api/v1/audit/verify");
            Assert.True(verify.Bool("ok"), verify.ToString());
            // The admin was created once, with the password from the environment.
            Assert.Single((await r.Get("/api/v1/users")).Items());

            // SIGHUP reloads the configuration file; a broken file is refused and the running config kept.
            static async Task<double> Sev1(HttpClient h) => (await h.Get("/api/v1/severities")).Items().Single(x => x.Str("id") == "SEV1").Dbl("response_seconds");
            var original = await File.ReadAllTextAsync(config);
            await File.WriteAllTextAsync(config, original.Replace("response_time: 5m", "response_time: five", StringComparison.Ordinal));
            second.SendSighup();
            await Until(() => second.Output.Contains("Configuration reload failed", StringComparison.Ordinal), "the failed reload to be logged");
            Assert.Equal(300, await Sev1(r));
            await File.WriteAllTextAsync(config, original.Replace("response_time: 5m", "response_time: 7m", StringComparison.Ordinal));
            second.SendSighup();
            var sw = Stopwatch.StartNew();
            while (await Sev1(r) != 420)
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail("SIGHUP did not reload the configuration");
                await Task.Delay(20);
            }
        }
        finally
        {
            if (pgDb is not null) await TestServer.DropPostgresDatabaseAsync(pgDb);
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }
}
