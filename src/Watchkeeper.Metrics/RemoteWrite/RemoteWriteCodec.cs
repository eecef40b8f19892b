using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;

namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>One series of a remote write request: its labels (sorted) and samples.</summary>
public sealed record TimeSeriesData(Labels Labels, IReadOnlyList<Sample> Samples);

/// <summary>The result of decoding a request: every series, or the first problem (with the index of the bad series).</summary>
public sealed record RemoteWriteDecodeResult(IReadOnlyList<TimeSeriesData> Series, string? Error, int? InvalidSeriesIndex)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// Prometheus remote write 1.0: a snappy block-compressed protobuf <c>WriteRequest</c>
/// (<c>repeated TimeSeries timeseries = 1</c>; <c>TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }</c>;
/// <c>Label { string name = 1; string value = 2; }</c>; <c>Sample { double value = 1; int64 timestamp = 2; }</c>).
/// Exemplars, histograms and metadata are skipped when decoding.
/// </summary>
public static class RemoteWriteCodec
{
    public const string ContentType = "application/x-protobuf";
    public const string ContentEncoding = "snappy";
    public const string VersionHeader = "X-Prometheus-Remote-Write-Version";
    public const string Version = "0.1.0";

    /// <summary>Largest decompressed body the decoder accepts.</summary>
    public const int MaxDecompressedBytes = 64 * 1024 * 1024;

    /// <summary>Encodes and snappy-compresses a request body.</summary>
    public static byte[] Encode(IReadOnlyList<TimeSeriesData> series) => Snappier.Snappy.CompressToArray(EncodeProto(series));

    /// <summary>Encodes the uncompressed protobuf <c>WriteRequest</c>.</summary>
    public static byte[] EncodeProto(IReadOnlyList<TimeSeriesData> series)
    {
        var size = 0;
        var tsSizes = new int[series.Count];
        for (var i = 0; i < series.Count; i++)
        {
            tsSizes[i] = TimeSeriesSize(series[i]);
            size += 1 + CodedOutputStream.ComputeLengthSize(tsSizes[i]) + tsSizes[i];
        }
        var buf = new byte[size];
        using var o = new CodedOutputStream(buf);
        for (var i = 0; i < series.Count; i++)
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteLength(tsSizes[i]);
            foreach (var l in series[i].Labels.AsSpan())
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteLength(LabelSize(l));
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(l.Name);
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteString(l.Value);
            }
            foreach (var s in series[i].Samples)
            {
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteLength(SampleSize(s));
                o.WriteTag(1, WireFormat.WireType.Fixed64);
                o.WriteDouble(s.V);
                if (s.T != 0)
                {
                    o.WriteTag(2, WireFormat.WireType.Varint);
                    o.WriteInt64(s.T);
                }
            }
        }
        o.Flush();
        o.CheckNoSpaceLeft();
        return buf;
    }

    private static int LabelSize(Label l) =>
        1 + CodedOutputStream.ComputeStringSize(l.Name) + 1 + CodedOutputStream.ComputeStringSize(l.Value);

    private static int SampleSize(Sample s) => 9 + (s.T != 0 ? 1 + CodedOutputStream.ComputeInt64Size(s.T) : 0);

    private static int TimeSeriesSize(TimeSeriesData ts)
    {
        var n = 0;
        foreach (var l in ts.Labels.AsSpan())
        {
            var ls = LabelSize(l);
            n += 1 + CodedOutputStream.ComputeLengthSize(ls) + ls;
        }
        foreach (var s in ts.Samples)
        {
            var ss = SampleSize(s);
            n += 1 + CodedOutputStream.ComputeLengthSize(ss) + ss;
        }
        return n;
    }

    /// <summary>Decompresses and decodes a request body, validating every series against the default limits.</summary>
    public static RemoteWriteDecodeResult Decode(ReadOnlySpan<byte> snappyBody) => Decode(snappyBody, IngestLimits.Default, MaxDecompressedBytes);

    /// <summary>
    /// Decompresses and decodes a request body, validating every series and the per-series <paramref name="limits"/>.
    /// The snappy block must decode to exactly its announced length and end where the body ends.
    /// </summary>
    public static RemoteWriteDecodeResult Decode(ReadOnlySpan<byte> snappyBody, IngestLimits limits, long maxDecompressedBytes)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var problem = SnappyBlock.Validate(snappyBody, out var len);
        if (problem is not null) return Fail("invalid snappy block: " + problem);
        if (maxDecompressedBytes > 0 && len > maxDecompressedBytes)
            return Fail($"decompressed body of {len} bytes exceeds the limit of {maxDecompressedBytes} bytes (limits.remote_write_max_decompressed_bytes)");
        byte[] raw;
        try
        {
            raw = Snappier.Snappy.DecompressToArray(snappyBody);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            return Fail("invalid snappy block: " + e.Message);
        }
        if (raw.Length != len) return Fail($"invalid snappy block: decoded {raw.Length} bytes, its header announces {len}");
        return DecodeProto(raw, limits);
    }

    /// <summary>Decodes an uncompressed protobuf <c>WriteRequest</c>, validating every series against the default limits.</summary>
    public static RemoteWriteDecodeResult DecodeProto(ReadOnlySpan<byte> proto) => DecodeProto(proto, IngestLimits.Default);

    /// <summary>Decodes an uncompressed protobuf <c>WriteRequest</c>, validating every series and the per-series limits.</summary>
    public static RemoteWriteDecodeResult DecodeProto(ReadOnlySpan<byte> proto, IngestLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var series = new List<TimeSeriesData>();
        var r = new Reader(proto);
        try
        {
            while (!r.AtEnd)
            {
                var (field, wire) = r.Tag();
                if (field == 1 && wire == 2)
                {
                    var ts = ReadTimeSeries(r.Bytes(), limits, out var problem, out var display);
                    if (problem is not null) return new RemoteWriteDecodeResult(series, $"series {series.Count} {display}: {problem}", series.Count);
                    series.Add(ts!);
                }
                else
                {
                    r.Skip(wire);
                }
            }
        }
        catch (FormatException e)
        {
            return new RemoteWriteDecodeResult(series, "invalid protobuf: " + e.Message, null);
        }
        return new RemoteWriteDecodeResult(series, null, null);
    }

    private static RemoteWriteDecodeResult Fail(string error) => new([], error, null);

    /// <summary>
    /// Reads one series. Label count and lengths are checked as they are read, so a series with a million labels or a
    /// 10 MB value is refused without building it; on a problem, <paramref name="display"/> is the series in Prometheus
    /// notation (shortened) for the error message.
    /// </summary>
    private static TimeSeriesData? ReadTimeSeries(ReadOnlySpan<byte> data, IngestLimits limits, out string? problem, out string display)
    {
        problem = null;
        display = "";
        var labels = new List<Label>(8);
        var samples = new List<Sample>(1);
        var count = 0;
        // Labels kept for the message once a limit is broken; the count goes on.
        var keep = limits.MaxLabelNamesPerSeries > 0 ? limits.MaxLabelNamesPerSeries : int.MaxValue;
        var r = new Reader(data);
        while (!r.AtEnd)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2)
            {
                var lr = new Reader(r.Bytes());
                ReadOnlySpan<byte> name = default, value = default;
                while (!lr.AtEnd)
                {
                    var (f, w) = lr.Tag();
                    if (f == 1 && w == 2) name = lr.Bytes();
                    else if (f == 2 && w == 2) value = lr.Bytes();
                    else lr.Skip(w);
                }
                count++;
                if (count > keep) continue;
                if (problem is null && limits.MaxLabelNameLength > 0 && name.Length > limits.MaxLabelNameLength)
                    problem = $"label name of {name.Length} bytes is longer than max_label_name_length ({limits.MaxLabelNameLength} bytes)";
                else if (problem is null && limits.MaxLabelValueLength > 0 && value.Length > limits.MaxLabelValueLength)
                    problem = $"value of label \"{Shorten(Utf8String(name), 128)}\" ({value.Length} bytes) is longer than max_label_value_length ({limits.MaxLabelValueLength} bytes)";
                // An oversized name or value is kept only in part: enough to show which series it was.
                labels.Add(new Label(Utf8String(name.Length > 256 ? name[..256] : name), Utf8String(value.Length > 256 ? value[..256] : value)));
            }
            else if (field == 2 && wire == 2)
            {
                var sr = new Reader(r.Bytes());
                double v = 0;
                long t = 0;
                while (!sr.AtEnd)
                {
                    var (f, w) = sr.Tag();
                    if (f == 1 && w == 1) v = BitConverter.UInt64BitsToDouble(sr.Fixed64());
                    else if (f == 2 && w == 0) t = (long)sr.Varint();
                    else sr.Skip(w);
                }
                samples.Add(new Sample(t, v));
            }
            else
            {
                r.Skip(wire);
            }
        }
        if (count > keep)
            problem = $"series has {count} labels, more than max_label_names_per_series ({limits.MaxLabelNamesPerSeries})";
        problem ??= Validate(labels);
        if (problem is not null)
        {
            display = Format(labels, count > labels.Count);
            return null;
        }
        // Labels requires no empty values: an empty one (allowed only for __name__ by Validate) is dropped.
        var arr = new Label[labels.Count];
        var n = 0;
        foreach (var l in labels)
        {
            if (l.Value.Length > 0) arr[n++] = l;
        }
        if (n != arr.Length) Array.Resize(ref arr, n);
        return new TimeSeriesData(Labels.FromSorted(arr), samples);
    }

    private static string Utf8String(ReadOnlySpan<byte> b)
    {
        if (!Utf8.IsValid(b)) throw new FormatException("invalid UTF-8 in string");
        return Encoding.UTF8.GetString(b);
    }

    /// <summary>A series as received (not yet validated) in Prometheus notation, <c>name{a="b", ...}</c>, at most ~512 characters.</summary>
    internal static string Format(List<Label> labels, bool more)
    {
        var sb = new StringBuilder();
        foreach (var l in labels)
        {
            if (l.Name == Labels.MetricName) sb.Append(l.Value);
        }
        sb.Append('{');
        var first = true;
        foreach (var l in labels)
        {
            if (l.Name == Labels.MetricName) continue;
            if (sb.Length > 512)
            {
                more = true;
                break;
            }
            if (!first) sb.Append(", ");
            first = false;
            Labels.AppendPair(sb, l);
        }
        if (more) sb.Append(first ? "…" : ", …");
        sb.Append('}');
        return sb.ToString();
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max), "…");

    private static string? Validate(List<Label> labels)
    {
        if (labels.Count == 0) return "series has no labels";
        var hasName = false;
        for (var i = 0; i < labels.Count; i++)
        {
            var l = labels[i];
            if (!LabelNames.IsValid(l.Name)) return $"invalid label name \"{Shorten(l.Name, 128)}\"";
            if (i > 0)
            {
                var c = string.CompareOrdinal(labels[i - 1].Name, l.Name);
                if (c == 0) return $"duplicate label name \"{l.Name}\"";
                if (c > 0) return $"labels are not sorted: \"{labels[i - 1].Name}\" before \"{l.Name}\"";
            }
            if (l.Name == Labels.MetricName)
            {
                if (!LabelNames.IsValidMetricName(l.Value)) return $"invalid metric name \"{Shorten(l.Value, 128)}\"";
                hasName = true;
            }
            else if (l.Value.Length == 0)
            {
                return $"empty value for label \"{l.Name}\"";
            }
        }
        return hasName ? null : "series has no metric name";
    }

    /// <summary>A minimal protobuf wire reader over a span; malformed input throws FormatException.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public readonly bool AtEnd => _pos >= _data.Length;

        public (int Field, int Wire) Tag()
        {
            var tag = Varint();
            var field = (int)(tag >> 3);
            if (field <= 0) throw new FormatException($"invalid field number at offset {_pos}");
            return (field, (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length) throw new FormatException("truncated varint");
                var b = _data[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw new FormatException("varint too long");
        }

        public ulong Fixed64()
        {
            if (_pos + 8 > _data.Length) throw new FormatException("truncated fixed64");
            var v = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_pos, 8));
            _pos += 8;
            return v;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var len = Varint();
            if (len > (ulong)(_data.Length - _pos)) throw new FormatException("length exceeds message");
            var s = _data.Slice(_pos, (int)len);
            _pos += (int)len;
            return s;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1:
                    if (_pos + 8 > _data.Length) throw new FormatException("truncated fixed64");
                    _pos += 8;
                    break;
                case 2: Bytes(); break;
                case 5:
                    if (_pos + 4 > _data.Length) throw new FormatException("truncated fixed32");
                    _pos += 4;
                    break;
                default: throw new FormatException($"unsupported wire type {wire}");
            }
        }
    }
}
