using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Server.Monitoring.Demo;

/// <summary>Faults injected into a demo service.</summary>
public sealed record DemoFaults
{
    public static readonly DemoFaults None = new();

    /// <summary>The target does not answer scrapes (up = 0) and serves no traffic.</summary>
    public bool Down { get; init; }

    /// <summary>Fraction of requests answered with 5xx, 0..1. Below the baseline error rate the baseline applies.</summary>
    public double ErrorRate { get; init; }

    /// <summary>Latency added to every request.</summary>
    public TimeSpan AddedLatency { get; init; }
}

/// <summary>One endpoint of a demo service: its share of traffic, method, path and typical latency.</summary>
public sealed record DemoEndpoint(string Method, string Path, double Share, double MedianSeconds);

/// <summary>The shape of a demo service's traffic.</summary>
public sealed record DemoProfile(string Name, double RequestsPerSecond, IReadOnlyList<DemoEndpoint> Endpoints)
{
    public static readonly DemoProfile ApiService = new("api-service", 40,
    [
        new("GET", "/api/v1/users", 0.30, 0.035),
        new("POST", "/api/v1/users", 0.05, 0.080),
        new("GET", "/api/v1/orders", 0.25, 0.060),
        new("POST", "/api/v1/orders", 0.10, 0.100),
        new("POST", "/api/v1/auth/login", 0.05, 0.120),
        new("GET", "/healthz", 0.25, 0.002),
    ]);

    public static readonly DemoProfile WebInterface = new("web-interface", 25,
    [
        new("GET", "/", 0.35, 0.045),
        new("GET", "/dashboard", 0.25, 0.120),
        new("GET", "/login", 0.10, 0.030),
        new("POST", "/login", 0.05, 0.100),
        new("GET", "/static/app.js", 0.25, 0.004),
    ]);
}

/// <summary>
/// Baseline traffic stays below the operations manual's alert thresholds (5xx rate 0.1/s per series, p95 0.5 s);
/// the faults push it over them.
/// A simulated service whose metrics evolve with time from the <see cref="TimeProvider"/>: <c>http_requests_total</c>
/// {method,status,path} counters and an <c>http_request_duration_seconds</c>{method,path} histogram. Traffic follows a
/// daily curve with deterministic noise; latencies are log-normal around each endpoint's median. Faults (down, error
/// rate, added latency) can be switched at any time; counters stay monotonic. Thread-safe.
/// </summary>
public sealed class DemoService
{
    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private const double Sigma = 0.6;
    private const double BaselineErrorRate = 0.002;
    private const double ClientErrorRate = 0.02;

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly EndpointState[] _endpoints;
    private DemoFaults _faults = DemoFaults.None;
    private DateTimeOffset? _last;

    private sealed class EndpointState(DemoEndpoint e)
    {
        public DemoEndpoint Endpoint { get; } = e;
        public double Ok, ClientErr, Err500, Err503;
        public readonly double[] Buckets = new double[DemoService.Buckets.Length];
        public double Count, Sum;
    }

    public DemoService(DemoProfile profile, TimeProvider time)
    {
        Profile = profile;
        _time = time;
        _endpoints = [.. profile.Endpoints.Select(e => new EndpointState(e))];
    }

    public DemoProfile Profile { get; }
    public string Name => Profile.Name;

    public DemoFaults Faults
    {
        get { lock (_lock) return _faults; }
        set
        {
            lock (_lock)
            {
                Advance(_time.GetUtcNow()); // traffic so far happened under the old faults
                _faults = value ?? DemoFaults.None;
            }
        }
    }

    public void SetDown(bool down) => Faults = Faults with { Down = down };
    public void SetErrorRate(double fraction) => Faults = Faults with { ErrorRate = Math.Clamp(fraction, 0, 1) };
    public void SetAddedLatency(TimeSpan latency) => Faults = Faults with { AddedLatency = latency < TimeSpan.Zero ? TimeSpan.Zero : latency };
    public void ClearFaults() => Faults = DemoFaults.None;

    /// <summary>Renders the metrics as of now; null when the service is down (answer the scrape with 503).</summary>
    public string? Render() => Render(_time.GetUtcNow());

    /// <summary>Renders the metrics as of <paramref name="now"/> (earlier times than already rendered show the latest state).</summary>
    public string? Render(DateTimeOffset now)
    {
        lock (_lock)
        {
            Advance(now);
            if (_faults.Down) return null;
            var w = new ExpositionWriter();
            w.Family("http_requests_total", MetricType.Counter, "Total HTTP requests by method, status and path.");
            foreach (var e in _endpoints)
            {
                var okStatus = e.Endpoint.Method == "POST" ? "201" : "200";
                var clientStatus = e.Endpoint.Path.Contains("login", StringComparison.Ordinal) ? "401" : "404";
                w.Sample("http_requests_total", Math.Floor(e.Ok), "method", e.Endpoint.Method, "path", e.Endpoint.Path, "status", okStatus);
                w.Sample("http_requests_total", Math.Floor(e.ClientErr), "method", e.Endpoint.Method, "path", e.Endpoint.Path, "status", clientStatus);
                w.Sample("http_requests_total", Math.Floor(e.Err500), "method", e.Endpoint.Method, "path", e.Endpoint.Path, "status", "500");
                w.Sample("http_requests_total", Math.Floor(e.Err503), "method", e.Endpoint.Method, "path", e.Endpoint.Path, "status", "503");
            }
            w.Family("http_request_duration_seconds", MetricType.Histogram, "HTTP request latency by method and path.");
            foreach (var e in _endpoints)
            {
                var count = Math.Floor(e.Count);
                for (var i = 0; i < Buckets.Length; i++)
                {
                    w.Sample("http_request_duration_seconds_bucket", Math.Min(count, Math.Floor(e.Buckets[i])),
                        "method", e.Endpoint.Method, "path", e.Endpoint.Path, "le", ExpositionWriter.FormatValue(Buckets[i]));
                }
                w.Sample("http_request_duration_seconds_bucket", count, "method", e.Endpoint.Method, "path", e.Endpoint.Path, "le", "+Inf");
                w.Sample("http_request_duration_seconds_sum", e.Sum, "method", e.Endpoint.Method, "path", e.Endpoint.Path);
                w.Sample("http_request_duration_seconds_count", count, "method", e.Endpoint.Method, "path", e.Endpoint.Path);
            }
            w.Family("demo_fault_error_rate", MetricType.Gauge, "Injected 5xx fraction.").Sample("demo_fault_error_rate", _faults.ErrorRate);
            w.Family("demo_fault_added_latency_seconds", MetricType.Gauge, "Injected latency.").Sample("demo_fault_added_latency_seconds", _faults.AddedLatency.TotalSeconds);
            return w.ToString();
        }
    }

    private void Advance(DateTimeOffset now)
    {
        if (_last is null)
        {
            _last = now;
            return;
        }
        var gap = (now - _last.Value).TotalSeconds;
        if (gap <= 0) return;
        // Integrate in steps of at least a second, at most 3600 steps per call.
        var steps = (int)Math.Clamp(Math.Ceiling(gap), 1, 3600);
        var dt = gap / steps;
        var start = _last.Value;
        _last = now;
        if (_faults.Down) return; // a down service serves nothing
        var errRate = Math.Max(BaselineErrorRate, _faults.ErrorRate);
        var added = _faults.AddedLatency.TotalSeconds;
        for (var s = 0; s < steps; s++)
        {
            var t = start.AddSeconds((s + 0.5) * dt);
            var rate = Profile.RequestsPerSecond * DailyFactor(t) * (0.9 + (0.2 * Noise(t.ToUnixTimeSeconds())));
            foreach (var e in _endpoints)
            {
                var n = rate * dt * e.Endpoint.Share;
                var err = n * errRate;
                var client = (n - err) * ClientErrorRate;
                e.Err500 += err * 0.7;
                e.Err503 += err * 0.3;
                e.ClientErr += client;
                e.Ok += n - err - client;
                var mu = Math.Log(e.Endpoint.MedianSeconds);
                for (var i = 0; i < Buckets.Length; i++)
                {
                    var x = Buckets[i] - added;
                    if (x > 0) e.Buckets[i] += n * NormalCdf((Math.Log(x) - mu) / Sigma);
                }
                e.Count += n;
                e.Sum += n * ((e.Endpoint.MedianSeconds * Math.Exp(Sigma * Sigma / 2)) + added);
            }
        }
    }

    /// <summary>A daily traffic curve: low at 04:00 UTC, high at 16:00 UTC (0.6 .. 1.4).</summary>
    private static double DailyFactor(DateTimeOffset t) =>
        1 + (0.4 * Math.Sin(2 * Math.PI * ((t.UtcDateTime.TimeOfDay.TotalHours - 10) / 24)));

    /// <summary>Deterministic noise in [0, 1) for a second.</summary>
    private static double Noise(long second)
    {
        var x = (ulong)second * 0x9E3779B97F4A7C15UL;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        return (x >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Standard normal CDF via an erf approximation (absolute error below 1.5e-7).</summary>
    internal static double NormalCdf(double z)
    {
        var x = Math.Abs(z) / Math.Sqrt(2);
        var t = 1 / (1 + (0.3275911 * x));
        var y = 1 - ((((((1.061405429 * t) - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
    }
}

/// <summary>
/// The demo workload: <c>api-service</c> and <c>web-interface</c>. The server serves each service's
/// <see cref="DemoService.Render()"/> at <c>/-/demo/{service}/metrics</c> (503 when it returns null) and scrapes it
/// over loopback as jobs named after the services, as the operations manual's rules expect.
/// </summary>
public sealed class DemoWorkload(TimeProvider time)
{
    public DemoService ApiService { get; } = new(DemoProfile.ApiService, time);
    public DemoService WebInterface { get; } = new(DemoProfile.WebInterface, time);
    public IReadOnlyList<DemoService> Services => [ApiService, WebInterface];

    public DemoService? Get(string name) => Services.FirstOrDefault(s => s.Name == name);
}
