using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Watchkeeper.Cli;

/// <summary>A server answer: the body as sent (printed by <c>--output json</c>) and parsed.</summary>
public sealed record ApiResponse(string Raw, JsonElement Json)
{
    public T As<T>() => Json.Deserialize<T>(Api.Json) ?? throw new WkException(ExitCodes.ServerError, "unexpected response from the server: empty body");
}

/// <summary>
/// The Watchkeeper REST API over HTTP. Every failure becomes a <see cref="WkException"/> with one
/// line of text: RFC 9457 problems are rendered from their title, detail, field errors and the
/// allowed transitions; connection failures name the URL.
/// </summary>
public sealed class Api : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;

    /// <summary>Maps a server field name to the option that sets it, for error messages.</summary>
    public Func<string, string?> FieldToOption { get; set; } = _ => null;

    public Uri BaseUrl { get; }

    public Api(Uri baseUrl, string? token)
    {
        BaseUrl = baseUrl;
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), AllowAutoRedirect = false };
        _http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = Timeout };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("wk", typeof(Api).Assembly.GetName().Version?.ToString(3) ?? "0"));
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<ApiResponse> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);
    public Task<ApiResponse> PostAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body ?? new { }, ct);
    public Task<ApiResponse> PutAsync(string path, object body, CancellationToken ct) => SendAsync(HttpMethod.Put, path, body, ct);
    public Task<ApiResponse> PatchAsync(string path, object body, CancellationToken ct) => SendAsync(HttpMethod.Patch, path, body, ct);
    public Task<ApiResponse> DeleteAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Delete, path, null, ct);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
            req.Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");

        HttpResponseMessage resp;
        string text;
        try
        {
            resp = await _http.SendAsync(req, ct);
            text = await resp.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException ex)
        {
            throw new WkException(ExitCodes.Connection, $"cannot reach the Watchkeeper server at {BaseUrl}: {Reason(ex)}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new WkException(ExitCodes.Connection, $"the Watchkeeper server at {BaseUrl} did not answer within {Timeout.TotalSeconds:0}s");
        }

        using (resp)
        {
            if (resp.IsSuccessStatusCode) return Parse(text, resp);
            throw Failure(method, path, resp, text);
        }
    }

    private ApiResponse Parse(string text, HttpResponseMessage resp)
    {
        if (resp.StatusCode == HttpStatusCode.NoContent || text.Length == 0)
            return new ApiResponse("", default);
        try
        {
            using var doc = JsonDocument.Parse(text);
            return new ApiResponse(text, doc.RootElement.Clone());
        }
        catch (JsonException)
        {
            throw new WkException(ExitCodes.ServerError,
                $"unexpected response from {BaseUrl} (HTTP {(int)resp.StatusCode}, {resp.Content.Headers.ContentType?.MediaType ?? "no content type"}, not JSON): is this a Watchkeeper server?");
        }
    }

    private WkException Failure(HttpMethod method, string path, HttpResponseMessage resp, string text)
    {
        var status = (int)resp.StatusCode;
        var problem = Problem.TryParse(text);
        var message = problem is null
            ? $"{method} /{path.TrimStart('/')} failed with HTTP {status} {resp.ReasonPhrase}"
            : problem.Describe(FieldToOption);
        if (resp.StatusCode == HttpStatusCode.Unauthorized)
            return new WkException(ExitCodes.Auth, message + (path.Contains("auth/login", StringComparison.Ordinal) ? "" : " (log in with 'wk login' or set WATCHKEEPER_TOKEN)"));
        if (resp.StatusCode == HttpStatusCode.Forbidden)
            return new WkException(ExitCodes.Auth, message);
        if (resp.StatusCode == HttpStatusCode.TooManyRequests && resp.Headers.RetryAfter?.Delta is { } wait)
            message += $" (retry after {wait.TotalSeconds:0}s)";
        if (resp.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect)
            message = $"the server at {BaseUrl} redirected to {resp.Headers.Location}; use that URL with --url";
        return new WkException(ExitCodes.ServerError, message);
    }

    private static string Reason(HttpRequestException ex)
    {
        Exception e = ex;
        while (e.InnerException is not null && e is not SocketException) e = e.InnerException;
        var msg = e is SocketException se ? se.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound or SocketError.NoData => "host not found",
            SocketError.TimedOut => "connection timed out",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
            _ => se.Message,
        } : ex.Message;
        return CliConfigFile.OneLine(msg);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An RFC 9457 problem as the server sends it.</summary>
public sealed record Problem(string? Title, string? Detail, int? Status, IReadOnlyDictionary<string, string[]> Errors, IReadOnlyList<string>? Allowed)
{
    public static Problem? TryParse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || !(r.TryGetProperty("title", out _) || r.TryGetProperty("detail", out _))) return null;
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (r.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    errors[p.Name] = p.Value.ValueKind == JsonValueKind.Array
                        ? p.Value.EnumerateArray().Select(x => x.ToString()).ToArray()
                        : [p.Value.ToString()];
                }
            }
            List<string>? allowed = null;
            if (r.TryGetProperty("allowed", out var a) && a.ValueKind == JsonValueKind.Array)
                allowed = a.EnumerateArray().Select(x => x.ToString()).ToList();
            return new Problem(Str(r, "title"), Str(r, "detail"), r.TryGetProperty("status", out var s) && s.TryGetInt32(out var n) ? n : null, errors, allowed);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>One line: "invalid request: severity (--severity): unknown severity 'SEV9'", "cannot move ... (allowed: investigating)".</summary>
    public string Describe(Func<string, string?> fieldToOption)
    {
        string text;
        if (Errors.Count > 0)
        {
            var parts = Errors.Select(kv =>
            {
                var opt = fieldToOption(kv.Key);
                return $"{kv.Key}{(opt is null ? "" : $" ({opt})")}: {string.Join("; ", kv.Value)}";
            });
            text = $"{(Title ?? "invalid request").ToLowerInvariant()}: {string.Join("; ", parts)}";
        }
        else
        {
            text = Detail ?? Title ?? $"HTTP {Status}";
        }
        if (Allowed is not null && !text.Contains("allowed", StringComparison.OrdinalIgnoreCase))
            text += $" (allowed: {(Allowed.Count == 0 ? "none" : string.Join(", ", Allowed))})";
        return CliConfigFile.OneLine(text);
    }
}
