using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>A growable byte buffer for building WAL records and index files.</summary>
internal sealed class ByteBuffer(int capacity = 256)
{
    private byte[] _buf = new byte[Math.Max(16, capacity)];
    private int _len;

    public int Length => _len;
    public ReadOnlySpan<byte> Written => _buf.AsSpan(0, _len);
    public Span<byte> WrittenSpan => _buf.AsSpan(0, _len);

    public void Clear() => _len = 0;

    /// <summary>Drops the buffer if it grew large, so a burst does not pin memory forever.</summary>
    public void Shrink(int keep)
    {
        _len = 0;
        if (_buf.Length > keep) _buf = new byte[keep];
    }

    private void Ensure(int extra)
    {
        var need = _len + extra;
        if (need <= _buf.Length) return;
        var n = Math.Max(need, _buf.Length * 2);
        Array.Resize(ref _buf, n);
    }

    public Span<byte> GetSpan(int size)
    {
        Ensure(size);
        return _buf.AsSpan(_len, size);
    }

    public void Advance(int n) => _len += n;

    public void WriteByte(byte b)
    {
        Ensure(1);
        _buf[_len++] = b;
    }

    public void WriteBytes(ReadOnlySpan<byte> data)
    {
        Ensure(data.Length);
        data.CopyTo(_buf.AsSpan(_len));
        _len += data.Length;
    }

    public void WriteUVarint(ulong v)
    {
        Ensure(10);
        while (v >= 0x80)
        {
            _buf[_len++] = (byte)(v | 0x80);
            v >>= 7;
        }
        _buf[_len++] = (byte)v;
    }

    public void WriteVarint(long v) => WriteUVarint(ZigZag(v));

    public void WriteUInt32LE(uint v)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(_len), v);
        _len += 4;
    }

    public void WriteUInt64LE(ulong v)
    {
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buf.AsSpan(_len), v);
        _len += 8;
    }

    public void WriteString(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        WriteUVarint((ulong)n);
        Ensure(n);
        Encoding.UTF8.GetBytes(s, _buf.AsSpan(_len, n));
        _len += n;
    }

    public static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
    public static long UnZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}

/// <summary>Reads what <see cref="ByteBuffer"/> wrote; throws <see cref="InvalidDataException"/> on truncation.</summary>
internal ref struct SpanReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public readonly int Position => _pos;
    public readonly int Remaining => _data.Length - _pos;

    public byte ReadByte()
    {
        if (_pos >= _data.Length) throw Truncated();
        return _data[_pos++];
    }

    public ulong ReadUVarint()
    {
        ulong v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw Truncated();
            var b = _data[_pos++];
            v |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return v;
        }
        throw new InvalidDataException("varint too long");
    }

    public long ReadVarint() => ByteBuffer.UnZigZag(ReadUVarint());

    public uint ReadUInt32LE()
    {
        if (Remaining < 4) throw Truncated();
        var v = BinaryPrimitives.ReadUInt32LittleEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }

    public ulong ReadUInt64LE()
    {
        if (Remaining < 8) throw Truncated();
        var v = BinaryPrimitives.ReadUInt64LittleEndian(_data[_pos..]);
        _pos += 8;
        return v;
    }

    public ReadOnlySpan<byte> ReadBytes(int n)
    {
        if (n < 0 || Remaining < n) throw Truncated();
        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public string ReadString(StringInterner? interner)
    {
        var n = ReadUVarint();
        if (n > int.MaxValue) throw Truncated();
        var bytes = ReadBytes((int)n);
        return interner is null ? Encoding.UTF8.GetString(bytes) : interner.Get(bytes);
    }

    private static InvalidDataException Truncated() => new("record truncated");
}

/// <summary>Deduplicates label strings while decoding, without allocating for strings already seen.</summary>
internal sealed class StringInterner
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringInterner() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0) return "";
        if (utf8.Length > 256) return Intern(Encoding.UTF8.GetString(utf8));
        Span<char> chars = stackalloc char[256];
        var n = Encoding.UTF8.GetChars(utf8, chars);
        if (_lookup.TryGetValue(chars[..n], out var s)) return s;
        s = new string(chars[..n]);
        _strings[s] = s;
        return s;
    }

    public string Intern(string s)
    {
        if (_strings.TryGetValue(s, out var e)) return e;
        _strings[s] = s;
        return s;
    }
}

/// <summary>CRC-32C (Castagnoli), using the CPU instruction where the runtime has it.</summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        while (data.Length >= 8)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) c = BitOperations.Crc32C(c, b);
        return ~c;
    }
}

internal static class TimeMath
{
    /// <summary>Start of the aligned range of width <paramref name="width"/> containing t (floor, also for negative t).</summary>
    /// Saturates at <see cref="long.MinValue"/> when that start is not representable.
    public static long AlignDown(long t, long width)
    {
        var r = t % width;
        if (r < 0)
        {
            r += width;
            if (t < long.MinValue + r) return long.MinValue;
        }
        return t - r;
    }

    /// <summary>a + b, clamped to the long range instead of wrapping around.</summary>
    public static long AddSaturating(long a, long b)
    {
        var s = unchecked(a + b);
        // Overflow happened when both operands have the same sign and the sum's sign differs.
        if (((a ^ s) & (b ^ s)) < 0) return a < 0 ? long.MinValue : long.MaxValue;
        return s;
    }

    /// <summary>Milliseconds in a span, clamped to the long range.</summary>
    public static long Millis(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMillisecond;
}
