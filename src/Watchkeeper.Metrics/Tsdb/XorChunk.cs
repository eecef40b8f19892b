using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// Appends float samples to a compressed chunk. Layout: a 2-byte big-endian sample count, the first
/// timestamp as a zig-zag varint, then a bit stream: the first value as 64 raw bits, and for every
/// later sample a delta-of-delta timestamp and the XOR of the value with the previous value.
/// <list type="bullet">
/// <item>timestamp delta-of-delta: '0' = 0; '10' + 6 bits; '110' + 13 bits; '1110' + 20 bits; '1111' + 64 bits (two's complement).
/// Small buckets are sized for scrape jitter of a few milliseconds.</item>
/// <item>value: '0' = same bits; '10' + meaningful bits inside the previous leading/trailing-zero window;
/// '11' + 5 bits leading zeros + 6 bits significant-bit count (0 means 64) + the significant bits.</item>
/// </list>
/// Values are compared and stored as raw bit patterns, so every NaN (including the staleness marker) round-trips exactly.
/// </summary>
internal sealed class XorChunkWriter
{
    public const int HeaderBytes = 2;

    private byte[] _buf;
    private int _bitPos;
    private int _count;
    private long _t;
    private long _tDelta;
    private ulong _v;
    // Bytes, not ints: with the ascending flag they fit where two ints were, so a head series' open chunk writer is no
    // larger than before the flag (100k series hold 100k writers).
    private byte _leading = 0xff;
    private byte _trailing;

    private readonly int _expectedSamples;
    private int _firstSampleBytes;
    private bool _ascending = true;

    /// <param name="initialCapacity">Bytes to start with.</param>
    /// <param name="expectedSamples">
    /// How many samples the chunk will probably hold (the head's samples per chunk; 0 when unknown). The first time
    /// the buffer must grow, it grows to the size the samples so far project for that many, instead of by half at a
    /// time: a head series' first chunk otherwise left eight or nine outgrown buffers behind (about 2 MB/s of garbage
    /// at 100k series while the first chunks fill).
    /// </param>
    public XorChunkWriter(int initialCapacity = 48, int expectedSamples = 0)
    {
        _buf = new byte[Math.Max(initialCapacity, 16)];
        _bitPos = HeaderBytes * 8;
        _expectedSamples = expectedSamples;
    }

    public int Count => _count;
    public long MinT { get; private set; }
    public long MaxT => _t;
    public int ByteLength => (_bitPos + 7) >> 3;
    public ReadOnlySpan<byte> Bytes => _buf.AsSpan(0, ByteLength);

    /// <summary>Bytes held, including slack; for memory accounting.</summary>
    public int Capacity => _buf.Length;

    /// <summary>
    /// What a counter function needs of the whole chunk without decoding it: its first and last sample, its sample count,
    /// and whether every value is a number at least as large as the one before (no NaN, so no stale marker, and no reset).
    /// </summary>
    public ChunkSummary Summary => new(_count, MinT, FirstValue, _t, BitConverter.UInt64BitsToDouble(_v), _ascending);

    // The first value's 64 bits end the first sample's bytes (they follow the byte-aligned first timestamp).
    private double FirstValue => _count == 0 ? 0 : BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64BigEndian(_buf.AsSpan(_firstSampleBytes - 8)));

    /// <summary>A trimmed copy of the encoded chunk.</summary>
    public byte[] ToArray() => Bytes.ToArray();

    /// <summary>
    /// Empties the writer for a new chunk and keeps its buffer, so a series cutting a chunk every couple of minutes
    /// does not leave its old buffers behind for the collector. Only valid once nothing refers to the old bytes
    /// (closed chunks and query snapshots are copies).
    /// </summary>
    public void Reset()
    {
        Array.Clear(_buf, 0, ByteLength);
        _bitPos = HeaderBytes * 8;
        _count = 0;
        _t = 0;
        _tDelta = 0;
        _v = 0;
        _leading = 0xff;
        _trailing = 0;
        _firstSampleBytes = 0;
        _ascending = true;
        MinT = 0;
    }

    public void Append(long t, double v)
    {
        var bits = BitConverter.DoubleToUInt64Bits(v);
        if (_count == 0)
        {
            WriteVarintAligned(ByteBuffer.ZigZag(t));
            WriteBits(bits, 64);
            MinT = t;
            _ascending = !double.IsNaN(v);
        }
        else
        {
            var delta = t - _t;
            WriteDod(delta - _tDelta);
            WriteXor(bits);
            _tDelta = delta;
            // False for a NaN on either side as well.
            _ascending &= v >= BitConverter.UInt64BitsToDouble(_v);
        }
        _t = t;
        _v = bits;
        _count++;
        if (_count == 1) _firstSampleBytes = ByteLength;
        BinaryPrimitives.WriteUInt16BigEndian(_buf, (ushort)_count);
    }

    private void WriteDod(long dod)
    {
        if (dod == 0) WriteBits(0, 1);
        else if (Fits(dod, 6)) WriteBits((0b10UL << 6) | ((ulong)dod & 0x3F), 8);
        else if (Fits(dod, 13)) WriteBits((0b110UL << 13) | ((ulong)dod & 0x1FFF), 16);
        else if (Fits(dod, 20)) WriteBits((0b1110UL << 20) | ((ulong)dod & 0xFFFFF), 24);
        else
        {
            WriteBits(0b1111, 4);
            WriteBits((ulong)dod, 64);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Fits(long v, int bits) => v >= -(1L << (bits - 1)) && v < (1L << (bits - 1));

    private void WriteXor(ulong bits)
    {
        var x = bits ^ _v;
        if (x == 0)
        {
            WriteBits(0, 1);
            return;
        }
        var lz = BitOperations.LeadingZeroCount(x);
        var tz = BitOperations.TrailingZeroCount(x);
        if (lz > 31) lz = 31;
        if (_leading != 0xff && lz >= _leading && tz >= _trailing)
        {
            var sig = 64 - _leading - _trailing;
            WriteBits(0b10, 2);
            WriteBits(x >> _trailing, sig);
        }
        else
        {
            var sig = 64 - lz - tz;
            WriteBits((0b11UL << 11) | ((ulong)lz << 6) | ((ulong)sig & 63), 13);
            WriteBits(x >> tz, sig);
            _leading = (byte)lz;
            _trailing = (byte)tz;
        }
    }

    private void WriteVarintAligned(ulong v)
    {
        Ensure(80);
        var pos = _bitPos >> 3;
        while (v >= 0x80)
        {
            _buf[pos++] = (byte)(v | 0x80);
            v >>= 7;
        }
        _buf[pos++] = (byte)v;
        _bitPos = pos * 8;
    }

    private void Ensure(int bits)
    {
        var need = (_bitPos + bits + 7) >> 3;
        if (need <= _buf.Length) return;
        var grow = _buf.Length + (_buf.Length >> 1);
        if (_count >= 2 && _count < _expectedSamples)
        {
            // Bytes per sample after the first (which carries the full timestamp and value), projected to the expected
            // count, plus an eighth; capped so one odd start cannot reserve much.
            var perSample = (double)(ByteLength - _firstSampleBytes) / (_count - 1);
            var projected = _firstSampleBytes + perSample * (_expectedSamples - 1) * 1.125;
            grow = Math.Max(grow, (int)Math.Min(projected, 16 * 1024));
        }
        Array.Resize(ref _buf, Math.Max(need, grow));
    }

    /// <summary>Writes the low <paramref name="n"/> bits of value (1..64), most significant first.</summary>
    private void WriteBits(ulong value, int n)
    {
        Ensure(n);
        var buf = _buf;
        var pos = _bitPos;
        while (n > 0)
        {
            var free = 8 - (pos & 7);
            var take = n < free ? n : free;
            n -= take;
            var part = (value >> n) & ((1UL << take) - 1);
            buf[pos >> 3] |= (byte)(part << (free - take));
            pos += take;
        }
        _bitPos = pos;
    }
}

/// <summary>
/// A chunk seen from outside: sample count, first and last sample, and <see cref="Ascending"/>: every value is a number
/// (no NaN, hence no stale marker) and none is smaller than the one before it (no counter reset inside the chunk).
/// </summary>
internal readonly record struct ChunkSummary(int Count, long FirstT, double FirstV, long LastT, double LastV, bool Ascending)
{
    /// <summary>Bytes stored after a closed chunk's encoding in <c>chunks_head/</c>: the last value and the ascending flag.</summary>
    public const int TrailerBytes = 9;

    public void WriteTrailer(Span<byte> into)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(into, BitConverter.DoubleToUInt64Bits(LastV));
        into[8] = Ascending ? (byte)1 : (byte)0;
    }

    /// <summary>The summary of a closed chunk from its encoding (count, first sample), trailer and time range.</summary>
    public static ChunkSummary Read(ReadOnlySpan<byte> chunk, ReadOnlySpan<byte> trailer, long maxT)
    {
        var count = XorChunkReader.CountOf(chunk);
        var pos = XorChunkWriter.HeaderBytes * 8;
        var firstT = ByteBuffer.UnZigZag(ChunkDecoding.ReadVarint(chunk, ref pos));
        if ((pos >> 3) + 8 > chunk.Length) throw new InvalidDataException("corrupt chunk");
        var firstV = BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64BigEndian(chunk[(pos >> 3)..]));
        var lastV = BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64LittleEndian(trailer));
        return new ChunkSummary(count, firstT, firstV, maxT, lastV, trailer[8] == 1);
    }
}

/// <summary>Iterates the samples of a chunk written by <see cref="XorChunkWriter"/>.</summary>
internal ref struct XorChunkReader
{
    private readonly ReadOnlySpan<byte> _b;
    private readonly int _count;
    private int _bitPos;
    private int _i;
    private long _t;
    private long _tDelta;
    private ulong _v;
    private int _leading;
    private int _trailing;

    public XorChunkReader(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < XorChunkWriter.HeaderBytes) throw new InvalidDataException("chunk too short");
        _b = chunk;
        _count = BinaryPrimitives.ReadUInt16BigEndian(chunk);
        _bitPos = XorChunkWriter.HeaderBytes * 8;
    }

    public readonly int Count => _count;

    public static int CountOf(ReadOnlySpan<byte> chunk) => BinaryPrimitives.ReadUInt16BigEndian(chunk);

    public bool Next(out long t, out double v)
    {
        if (_i >= _count)
        {
            t = 0;
            v = 0;
            return false;
        }
        if (_i == 0)
        {
            _t = ByteBuffer.UnZigZag(ReadVarintAligned());
            _v = ReadBits(64);
        }
        else
        {
            // The prefix and its payload are read together: 0 | 10+6 | 110+13 | 1110+20 | 1111+64 bits.
            long dod;
            var prefix = PeekBits(4);
            if (prefix < 0b1000)
            {
                Skip(1);
                dod = 0;
            }
            else if (prefix < 0b1100) dod = SignExtend(ReadBits(2 + 6) & 0x3F, 6);
            else if (prefix < 0b1110) dod = SignExtend(ReadBits(3 + 13) & 0x1FFF, 13);
            else if (prefix < 0b1111) dod = SignExtend(ReadBits(4 + 20) & 0xFFFFF, 20);
            else
            {
                Skip(4);
                dod = (long)ReadBits(64);
            }
            _tDelta += dod;
            _t += _tDelta;

            // Value: 0 (unchanged) | 10 (same window) | 11 + 5 leading + 6 significant bits.
            var vPrefix = PeekBits(2);
            if (vPrefix >= 0b10)
            {
                int sig;
                if (vPrefix == 0b10)
                {
                    Skip(2);
                    sig = 64 - _leading - _trailing;
                }
                else
                {
                    var ctl = (int)(ReadBits(2 + 11) & 0x7FF);
                    _leading = ctl >> 6;
                    sig = ctl & 63;
                    if (sig == 0) sig = 64;
                    _trailing = 64 - _leading - sig;
                    if (_trailing < 0) throw new InvalidDataException("corrupt chunk");
                }
                _v ^= ReadBits(sig) << _trailing;
            }
            else Skip(1);
        }
        _i++;
        t = _t;
        v = BitConverter.UInt64BitsToDouble(_v);
        return true;
    }

    private void Skip(int n)
    {
        if (_bitPos + n > _b.Length * 8) throw new InvalidDataException("corrupt chunk");
        _bitPos += n;
    }

    /// <summary>The next <paramref name="n"/> bits (n &lt;= 8) without consuming them; bits past the end read as 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ulong PeekBits(int n)
    {
        var pos = _bitPos;
        var at = pos >> 3;
        uint two;
        if (at + 2 <= _b.Length) two = BinaryPrimitives.ReadUInt16BigEndian(_b[at..]);
        else if (at < _b.Length) two = (uint)_b[at] << 8;
        else return 0;
        return ((two << (pos & 7)) & 0xFFFF) >> (16 - n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);

    private ulong ReadVarintAligned() => ChunkDecoding.ReadVarint(_b, ref _bitPos);

    private ulong ReadBits(int n)
    {
        var pos = _bitPos;
        if (pos + n > _b.Length * 8) throw new InvalidDataException("corrupt chunk");
        var at = pos >> 3;
        if (n is > 0 and <= 56 && at + 8 <= _b.Length)
        {
            // One big-endian word holds the n bits wherever they start in their first byte (n + 7 <= 64).
            var word = BinaryPrimitives.ReadUInt64BigEndian(_b[at..]);
            _bitPos = pos + n;
            return (word << (pos & 7)) >> (64 - n);
        }
        ulong v = 0;
        while (n > 0)
        {
            var avail = 8 - (pos & 7);
            var take = n < avail ? n : avail;
            var cur = (ulong)_b[pos >> 3];
            var part = (cur >> (avail - take)) & ((1UL << take) - 1);
            v = (v << take) | part;
            pos += take;
            n -= take;
        }
        _bitPos = pos;
        return v;
    }
}

internal static class ChunkDecoding
{
    /// <summary>
    /// Appends the samples of a chunk within [minT, maxT] to <paramref name="into"/>. The same format as
    /// <see cref="XorChunkReader"/>, decoded in one loop over local state: each sample's timestamp prefix and value
    /// prefix are taken from one 64-bit big-endian word instead of separate peeks and reads, and the samples are written
    /// straight into the list's storage, sized once from the chunk's sample count.
    /// </summary>
    public static void DecodeRange(ReadOnlySpan<byte> chunk, long minT, long maxT, List<Sample> into)
    {
        if (chunk.Length < XorChunkWriter.HeaderBytes) throw new InvalidDataException("chunk too short");
        var count = BinaryPrimitives.ReadUInt16BigEndian(chunk);
        if (count == 0) return;
        var start = into.Count;
        CollectionsMarshal.SetCount(into, start + count);
        var n = 0;
        try
        {
            n = Decode(chunk, count, minT, maxT, CollectionsMarshal.AsSpan(into)[start..], false, out _);
        }
        finally
        {
            CollectionsMarshal.SetCount(into, start + n);
        }
    }

    /// <summary>
    /// The first sample at or after <paramref name="minT"/> and its index in the chunk, decoding no further than it;
    /// false when every sample is earlier.
    /// </summary>
    public static bool SeekFirst(ReadOnlySpan<byte> chunk, long minT, out int index, out Sample first)
    {
        if (chunk.Length < XorChunkWriter.HeaderBytes) throw new InvalidDataException("chunk too short");
        var count = BinaryPrimitives.ReadUInt16BigEndian(chunk);
        Span<Sample> one = stackalloc Sample[1];
        index = 0;
        first = default;
        if (count == 0 || Decode(chunk, count, minT, long.MaxValue, one, true, out index) == 0) return false;
        first = one[0];
        return true;
    }

    /// <summary>
    /// Decodes the samples within [minT, maxT] into <paramref name="span"/> (room for the chunk's count); with
    /// <paramref name="firstOnly"/> it stops after the first. Returns how many were written; <paramref name="lastIndex"/>
    /// is the chunk index of the last one written.
    /// </summary>
    private static int Decode(ReadOnlySpan<byte> chunk, int count, long minT, long maxT, Span<Sample> span, bool firstOnly, out int lastIndex)
    {
        var n = 0;
        lastIndex = -1;
        {
            var pos = XorChunkWriter.HeaderBytes * 8;
            var t = ByteBuffer.UnZigZag(ReadVarint(chunk, ref pos));
            var v = ReadBits(chunk, pos, 64);
            pos += 64;
            var limit = chunk.Length * 8L;
            if (pos > limit) throw new InvalidDataException("corrupt chunk");
            if (t > maxT) return n;
            if (t >= minT)
            {
                span[n++] = new Sample(t, BitConverter.UInt64BitsToDouble(v));
                lastIndex = 0;
                if (firstOnly) return n;
            }
            long tDelta = 0;
            int leading = 0, trailing = 0;
            for (var i = 1; i < count; i++)
            {
                // Timestamp: 0 | 10+6 | 110+13 | 1110+20 | 1111+64 bits of delta-of-delta.
                var w = Peek64(chunk, pos);
                long dod;
                if ((long)w >= 0)
                {
                    dod = 0;
                    pos += 1;
                }
                else if ((w >> 62) == 0b10)
                {
                    dod = (long)(w << 2) >> 58;
                    pos += 8;
                }
                else if ((w >> 61) == 0b110)
                {
                    dod = (long)(w << 3) >> 51;
                    pos += 16;
                }
                else if ((w >> 60) == 0b1110)
                {
                    dod = (long)(w << 4) >> 44;
                    pos += 24;
                }
                else
                {
                    dod = (long)ReadBits(chunk, pos + 4, 64);
                    pos += 68;
                }
                tDelta += dod;
                t += tDelta;

                // Value: 0 (unchanged) | 10 (same window) | 11 + 5 leading + 6 significant bits.
                w = Peek64(chunk, pos);
                if ((long)w < 0)
                {
                    int sig;
                    if ((w >> 62) == 0b10)
                    {
                        sig = 64 - leading - trailing;
                        pos += 2;
                    }
                    else
                    {
                        var ctl = (int)((w >> 51) & 0x7FF);
                        leading = ctl >> 6;
                        sig = ctl & 63;
                        if (sig == 0) sig = 64;
                        trailing = 64 - leading - sig;
                        if (trailing < 0) throw new InvalidDataException("corrupt chunk");
                        pos += 13;
                    }
                    if (sig <= 0 || pos + sig > limit) throw new InvalidDataException("corrupt chunk");
                    v ^= ReadBits(chunk, pos, sig) << trailing;
                    pos += sig;
                }
                else pos += 1;
                if (pos > limit) throw new InvalidDataException("corrupt chunk");
                if (t < minT) continue;
                if (t > maxT) break;
                span[n++] = new Sample(t, BitConverter.UInt64BitsToDouble(v));
                lastIndex = i;
                if (firstOnly) break;
            }
        }
        return n;
    }

    /// <summary>The 64 bits from bit <paramref name="pos"/> on (fewer when the chunk ends first; bits past the end read as 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Peek64(ReadOnlySpan<byte> b, int pos)
    {
        var at = pos >> 3;
        if (at + 8 <= b.Length) return BinaryPrimitives.ReadUInt64BigEndian(b[at..]) << (pos & 7);
        ulong word = 0;
        for (var i = 0; i < 8; i++) word = (word << 8) | (at + i < b.Length ? b[at + i] : 0u);
        return word << (pos & 7);
    }

    /// <summary>The <paramref name="n"/> bits (1..64) from bit <paramref name="pos"/> on; the caller checked they exist.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadBits(ReadOnlySpan<byte> b, int pos, int n)
    {
        var at = pos >> 3;
        if (n <= 56 && at + 8 <= b.Length) return (BinaryPrimitives.ReadUInt64BigEndian(b[at..]) << (pos & 7)) >> (64 - n);
        ulong v = 0;
        while (n > 0)
        {
            if ((pos >> 3) >= b.Length) throw new InvalidDataException("corrupt chunk");
            var avail = 8 - (pos & 7);
            var take = n < avail ? n : avail;
            var cur = (ulong)b[pos >> 3];
            v = (v << take) | ((cur >> (avail - take)) & ((1UL << take) - 1));
            pos += take;
            n -= take;
        }
        return v;
    }

    internal static ulong ReadVarint(ReadOnlySpan<byte> b, ref int bitPos)
    {
        var pos = bitPos >> 3;
        ulong v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= b.Length) throw new InvalidDataException("corrupt chunk");
            var x = b[pos++];
            v |= (ulong)(x & 0x7f) << shift;
            if (x < 0x80)
            {
                bitPos = pos * 8;
                return v;
            }
        }
        throw new InvalidDataException("corrupt chunk");
    }
}
