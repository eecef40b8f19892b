using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

// Real peers use real time and fixed ports picked at start; running interop classes one at a time keeps
// them inside the machine's two cores and their timing honest.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace Watchkeeper.Interop.Tests;

/// <summary>Finds the peer binaries and the shared synthetic exporter; picks loopback ports.</summary>
public static class Peers
{
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Watchkeeper.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>The full path of an executable on PATH, or null.</summary>
    public static string? Which(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public static string? Prometheus => Which("prometheus");
    public static string? Promtool => Which("promtool");

    /// <summary>The shared synthetic exporter (../shared/bench/peers/synth_exporter.py next to the repository), run in place.</summary>
    public static string? SynthExporter
    {
        get
        {
            var p = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "bench", "peers", "synth_exporter.py"));
            return File.Exists(p) && Which("python3") is not null ? p : null;
        }
    }

    /// <summary>Skips the test with a clear message when a peer is not installed.</summary>
    public static string Require(string? path, string what)
    {
        if (path is null) Missing($"{what} is not installed: run ./scripts/test.sh, which installs the Debian package");
        return path;
    }

    /// <summary>Skips on a developer machine; fails when <c>CI</c> is set, so a CI run without its peers is not green.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Missing(string message)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and a peer is missing: " + message);
        Assert.Skip(message);
        throw new InvalidOperationException("unreachable: Assert.Skip throws");
    }

    /// <summary>Skips the test when the shared synthetic exporter (or python3) is absent.</summary>
    public static string RequireSynthExporter()
    {
        var path = SynthExporter;
        if (path is null)
            Missing("the shared synthetic exporter is absent: this test runs ../shared/bench/peers/synth_exporter.py (next to the repository) with python3");
        return path;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>The last transport error a poll swallowed, for failure messages.</summary>
    public static string? LastPollError { get; private set; }

    /// <summary>Polls <paramref name="condition"/> every <paramref name="interval"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan interval)
    {
        LastPollError = null;
        var sw = Stopwatch.StartNew();
        var attempts = 0;
        while (true)
        {
            attempts++;
            try
            {
                if (await condition()) return true;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                LastPollError = e.Message; // the peer is not up yet, or not answering yet
            }
            if (sw.Elapsed + interval > timeout || attempts >= 10_000) return false;
            await Task.Delay(interval);
        }
    }
}

/// <summary>A child process with its output kept (last 200 lines) for failure messages; killed (with its children) on dispose.</summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly Lock _lock = new();

    public string Name { get; }
    public int Pid => _process.Id;

    private PeerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public static PeerProcess Start(string name, string file, IEnumerable<string> args, string? workingDir = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDir ?? Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var peer = new PeerProcess(name, p);
        p.OutputDataReceived += (_, e) => peer.Keep(e.Data);
        p.ErrorDataReceived += (_, e) => peer.Keep(e.Data);
        if (!p.Start()) throw new InvalidOperationException($"{name} did not start");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return peer;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lock)
        {
            _output.Enqueue(line);
            while (_output.Count > 200) _output.Dequeue();
        }
    }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_lock)
            {
                var sb = new StringBuilder();
                foreach (var l in _output) sb.AppendLine(l);
                return sb.ToString();
            }
        }
    }

    /// <summary>Waits until GET <paramref name="url"/> answers 2xx (bounded), or throws with the process's output.</summary>
    public async Task WaitReadyAsync(Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ok = await Peers.PollAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            using var r = await http.GetAsync(url);
            return r.IsSuccessStatusCode;
        }, timeout, TimeSpan.FromMilliseconds(200));
        if (!ok) throw new TimeoutException($"{Name} did not answer {url} within {timeout.TotalSeconds}s:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // already gone, or not stoppable: nothing more to do here
        }
        _process.Dispose();
    }

    /// <summary>Runs a command to completion (bounded) and returns its exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds}s");
        }
        return (p.ExitCode, await so, await se);
    }
}

/// <summary>A real Prometheus on a loopback port with its own temp directory (config, TSDB, log).</summary>
public sealed class PrometheusPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    public string Dir { get; }
    public int Port { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");
    public string Output => _process.Output;

    private PrometheusPeer(PeerProcess process, string dir, int port)
    {
        _process = process;
        Dir = dir;
        Port = port;
    }

    /// <summary>Starts prometheus with <paramref name="configYaml"/> and waits (bounded) until it is ready.</summary>
    public static async Task<PrometheusPeer> StartAsync(string binary, string configYaml, params string[] extraArgs)
    {
        var dir = Directory.CreateTempSubdirectory("wk-interop-prom-").FullName;
        var config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        var port = Peers.FreePort();
        string[] args =
        [
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(dir, "data"),
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            .. extraArgs,
        ];
        var p = PeerProcess.Start("prometheus", binary, args, dir);
        var peer = new PrometheusPeer(p, dir, port);
        try
        {
            await p.WaitReadyAsync(new Uri(peer.BaseAddress, "/-/ready"), TimeSpan.FromSeconds(30));
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
        return peer;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The shared synthetic exporter, run from ../shared (never copied), with a small series count and a time limit.</summary>
public sealed class SynthExporter : IAsyncDisposable
{
    private readonly PeerProcess _process;
    public int Port { get; }
    public string Target => $"127.0.0.1:{Port}";

    private SynthExporter(PeerProcess p, int port)
    {
        _process = p;
        Port = port;
    }

    public static async Task<SynthExporter> StartAsync(string script, string job, string prefix, int seed, int series = 300)
    {
        var port = Peers.FreePort();
        var p = PeerProcess.Start("synth_exporter " + job, "python3",
            [script, "--series", series.ToString(System.Globalization.CultureInfo.InvariantCulture), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--job", job, "--prefix", prefix, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-seconds", "300"]);
        var e = new SynthExporter(p, port);
        try
        {
            await p.WaitReadyAsync(new Uri($"http://127.0.0.1:{port}/metrics"), TimeSpan.FromSeconds(20));
        }
        catch
        {
            await e.DisposeAsync();
            throw;
        }
        return e;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
