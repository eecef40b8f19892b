using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// Reads a POST /api/v2/alerts body (Alertmanager's <c>postableAlerts</c>) in one pass with <see cref="Utf8JsonReader"/>
/// over a pooled buffer: no document tree, and label names and values come from <see cref="StringPool"/> without
/// allocating when they are pooled already. A body that is not JSON, not an array, or longer than the batch limit is
/// refused as a whole; an alert with a bad field is reported by index and the others are kept.
/// </summary>
internal static class AlertBatchReader
{
    public sealed record Result(List<PostableAlert> Batch, List<int> IndexOf, List<AlertError> Errors, int Count);

    public static async Task<Result> ReadAsync(HttpContext ctx, long maxBytes, int maxBatch)
    {
        var length = ctx.Request.ContentLength;
        if (length > maxBytes) throw new ValidationException("body", $"larger than {maxBytes} bytes");
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(length ?? 16384, 1, maxBytes) + 1);
        try
        {
            var n = 0;
            while (true)
            {
                if (n == buffer.Length)
                {
                    if (n > maxBytes) throw new ValidationException("body", $"larger than {maxBytes} bytes");
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, n).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await ctx.Request.Body.ReadAsync(buffer.AsMemory(n), ctx.RequestAborted);
                if (read == 0) break;
                n += read;
                if (n > maxBytes) throw new ValidationException("body", $"larger than {maxBytes} bytes");
            }
            try
            {
                return Parse(buffer.AsSpan(0, n), maxBatch);
            }
            catch (JsonException ex)
            {
                throw new ValidationException("body", "invalid JSON: " + ex.Message);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static Result Parse(ReadOnlySpan<byte> json, int maxBatch)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            // Malformed JSON is still refused as such (Skip throws on it).
            if (reader.TokenType is JsonTokenType.StartObject) reader.Skip();
            throw new ValidationException("body", "expected an array of alerts");
        }
        var batch = new List<PostableAlert>();
        var indexOf = new List<int>();
        var errors = new List<AlertError>();
        var i = 0;
        string? lastUrl = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (i >= maxBatch) throw new ValidationException("body", $"more than {maxBatch} alerts in one request (limit: {maxBatch})");
            if (ReadAlert(ref reader, ref lastUrl, out var alert) is { } err) errors.Add(new AlertError(i, err));
            else { batch.Add(alert!); indexOf.Add(i); }
            i++;
        }
        // Nothing may follow the array.
        if (reader.Read()) throw new ValidationException("body", "invalid JSON: data after the array of alerts");
        return new Result(batch, indexOf, errors, i);
    }

    private static string? ReadAlert(ref Utf8JsonReader reader, ref string? lastUrl, out PostableAlert? alert)
    {
        alert = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "expected an object";
        }
        string? err = null;
        LabelDictionary? labels = null, annotations = null;
        DateTimeOffset? starts = null, ends = null;
        var url = "";
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.ValueTextEquals("labels"u8) ? Field.Labels
                : reader.ValueTextEquals("annotations"u8) ? Field.Annotations
                : reader.ValueTextEquals("startsAt"u8) ? Field.StartsAt
                : reader.ValueTextEquals("endsAt"u8) ? Field.EndsAt
                : reader.ValueTextEquals("generatorURL"u8) ? Field.GeneratorUrl
                : Field.Other;
            reader.Read();
            if (err is not null)
            {
                reader.Skip();
                continue;
            }
            if (field == Field.Labels) err = ReadMap(ref reader, "labels", out labels);
            else if (field == Field.Annotations) err = ReadMap(ref reader, "annotations", out annotations);
            else if (field == Field.StartsAt) err = ReadTime(ref reader, "startsAt", out starts);
            else if (field == Field.EndsAt) err = ReadTime(ref reader, "endsAt", out ends);
            else if (field == Field.GeneratorUrl)
            {
                if (reader.TokenType == JsonTokenType.Null) continue;
                if (reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    err = "generatorURL: expected a string";
                    continue;
                }
                url = StringPool.Get(reader.GetString() ?? "");
                if (url.Length > 0 && !ReferenceEquals(url, lastUrl))
                {
                    if (!Uri.TryCreate(url, UriKind.Absolute, out _)) err = $"generatorURL: \"{url}\" is not an absolute URL";
                    else lastUrl = url;  // a batch usually repeats one URL: checked once
                }
            }
            else reader.Skip();  // Alertmanager ignores unknown fields.
        }
        if (err is not null) return err;
        if (labels is null) return "labels in body is required";
        alert = new PostableAlert(labels, annotations ?? LabelDictionary.Empty, starts, ends, url);
        return null;
    }

    private enum Field { Other, Labels, Annotations, StartsAt, EndsAt, GeneratorUrl }

    private static string? ReadMap(ref Utf8JsonReader reader, string field, out LabelDictionary? map)
    {
        map = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            map = LabelDictionary.Empty;
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return $"{field}: expected an object of strings";
        }
        string? err = null;
        var b = new LabelDictionary.Builder();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = Pooled(ref reader);
            reader.Read();
            if (err is not null)
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType != JsonTokenType.String)
            {
                err = $"{field}.{name}: expected a string";
                reader.Skip();
                continue;
            }
            b.AddPooled(name, Pooled(ref reader));
        }
        if (err is null) map = b.Build();
        return err;
    }

    /// <summary>The current string token from the pool, decoded on the stack when short.</summary>
    private static string Pooled(ref Utf8JsonReader reader)
    {
        if (reader.ValueSpan.Length <= StringPool.MaxLength)
        {
            Span<char> chars = stackalloc char[StringPool.MaxLength];
            var n = reader.CopyString(chars);
            return StringPool.Get(chars[..n]);
        }
        return StringPool.Get(reader.GetString()!);
    }

    private static string? ReadTime(ref Utf8JsonReader reader, string field, out DateTimeOffset? t)
    {
        t = null;
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.String || !DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var v))
        {
            reader.Skip();
            return $"{field}: expected an RFC 3339 time";
        }
        // Go's zero time (0001-01-01T00:00:00Z) means "not set", as Alertmanager reads it.
        t = v.Year <= 1 ? null : v;
        return null;
    }
}
