using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Watchkeeper.Server.Tests;

/// <summary>Small JSON helpers over HttpClient that fail with the response body when the status is not the expected one.</summary>
public static class Http
{
    public static async Task<JsonElement> Send(this HttpClient c, HttpMethod method, string url, object? body = null,
        HttpStatusCode? expect = null, string? ifMatch = null)
    {
        using var req = new HttpRequestMessage(method, url);
        if (body is not null) req.Content = JsonContent.Create(body);
        if (ifMatch is not null) req.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        using var r = await c.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        if (expect is { } e ? r.StatusCode != e : !r.IsSuccessStatusCode)
            Assert.Fail($"{method} {url}: expected {(expect?.ToString() ?? "2xx")}, got {(int)r.StatusCode} {r.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task<JsonElement> Get(this HttpClient c, string url, HttpStatusCode? expect = null) => c.Send(HttpMethod.Get, url, null, expect);
    public static Task<JsonElement> Post(this HttpClient c, string url, object? body = null, HttpStatusCode? expect = null, string? ifMatch = null) =>
        c.Send(HttpMethod.Post, url, body ?? new { }, expect, ifMatch);
    public static Task<JsonElement> Patch(this HttpClient c, string url, object body, HttpStatusCode? expect = null, string? ifMatch = null) =>
        c.Send(HttpMethod.Patch, url, body, expect, ifMatch);
    public static Task<JsonElement> Put(this HttpClient c, string url, object body, HttpStatusCode? expect = null) => c.Send(HttpMethod.Put, url, body, expect);

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
    public static string? StrOrNull(this JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetString();
    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();
    public static double Dbl(this JsonElement e, string name) => e.GetProperty(name).GetDouble();
    public static bool Bool(this JsonElement e, string name) => e.GetProperty(name).GetBoolean();
    public static DateTimeOffset Time(this JsonElement e, string name) => e.GetProperty(name).GetDateTimeOffset();
    public static DateTimeOffset? TimeOrNull(this JsonElement e, string name) =>
        e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetDateTimeOffset();
    public static bool IsNull(this JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null;
    public static List<JsonElement> Items(this JsonElement e) => e.EnumerateArray().ToList();
    public static List<JsonElement> Items(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().ToList();
}
