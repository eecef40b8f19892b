using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Watchkeeper.Server.Tests;

/// <summary>The real <c>watchkeeper</c> binary (<c>dotnet watchkeeper.dll serve</c>) as a child process on loopback.</summary>
public sealed class ChildServer : IAsyncDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _output = new();
    public Uri BaseAddress { get; }

    private ChildServer(Process p, Uri baseAddress)
    {
        _p = p;
        BaseAddress = baseAddress;
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts the server and waits for <c>/-/ready</c>. The alert-path warm-up (up to a few seconds of CPU before ready) is
    /// off unless <paramref name="alertWarmup"/>: these tests are about what the process keeps and hands over.
    /// </summary>
    public static async Task<ChildServer> StartAsync(string config, string data, string password, int port = 0, bool alertWarmup = false)
    {
        if (port == 0) port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "watchkeeper.dll");
        Assert.True(File.Exists(dll), $"{dll} not found: the server is built with the tests");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(data)!,
        };
        foreach (var a in new[] { dll, "serve", "--config", config, "--data", data, "--listen", $"127.0.0.1:{port}", $"--alert-warmup={(alertWarmup ? "true" : "false")}" })
            psi.ArgumentList.Add(a);
        psi.Environment["WATCHKEEPER_ADMIN_PASSWORD"] = password;
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var p = Process.Start(psi)!;
        var child = new ChildServer(p, new Uri($"http://127.0.0.1:{port}"));
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
