using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

public sealed class HeadChunkReaderTests : IDisposable
{
    private const long BlockMs = 2 * 3_600_000L;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wk-hcr-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static byte[] Chunk(long t0, int n, double v0)
    {
        var w = new XorChunkWriter();
        for (var i = 0; i < n; i++) w.Append(t0 + i * 15_000L, v0 + i * 1.5);
        return w.ToArray();
    }

    [Fact]
    public void Mapped_reads_return_the_stored_bytes_and_chunks_written_after_the_mapping_are_read_from_the_file()
    {
        using var file = new HeadChunkFile(_dir, BlockMs, _ => { });
        var bytes = Enumerable.Range(0, 50).Select(i => Chunk(i * 60_000L, 4 + i % 7, i)).ToList();
        var stored = bytes.Select((b, i) => file.Store(i * 60_000L, i * 60_000L + 1, b)).ToList();
        // A second block range: a second file.
        var late = Chunk(BlockMs + 5, 9, 7);
        var other = file.Store(BlockMs + 5, BlockMs + 6, late);
        using var reader = new HeadChunkReader(file);
        for (var i = stored.Count - 1; i >= 0; i--) Assert.Equal(bytes[i], reader.Read(stored[i]).ToArray());
        Assert.Equal(late, reader.Read(other).ToArray());
        Assert.Equal(2, reader.Mapped);
        // Stored after the first file was mapped: past the mapped length, so read with pread.
        var after = Chunk(30 * 60_000L, 11, 3);
        var afterRef = file.Store(30 * 60_000L, 30 * 60_000L + 1, after);
        Assert.Equal(after, reader.Read(afterRef).ToArray());
        Assert.Equal(bytes[3], reader.Read(stored[3]).ToArray());
    }

    [Fact]
    public void Closed_chunks_carry_their_summary_in_the_file_in_memory_and_past_the_mapped_length()
    {
        using var file = new HeadChunkFile(_dir, BlockMs, _ => { });
        var w = new XorChunkWriter();
        for (var i = 0; i < 9; i++) w.Append(1_000 + i * 15_000L, 5 + i * 0.5);
        var ascending = w.Summary;
        Assert.Equal(new ChunkSummary(9, 1_000, 5, 1_000 + 8 * 15_000L, 9, true), ascending);
        var stored = file.Store(w.MinT, w.MaxT, w.Bytes, ascending);
        var inMemory = HeadChunkFile.InMemory(w.MinT, w.MaxT, w.Bytes, ascending);
        // A reset and a NaN: not ascending.
        var r = new XorChunkWriter();
        r.Append(0, 4);
        r.Append(1, 2);
        r.Append(2, 3);
        Assert.False(r.Summary.Ascending);
        var n = new XorChunkWriter();
        n.Append(0, 1);
        n.Append(1, double.NaN);
        Assert.False(n.Summary.Ascending);
        using var reader = new HeadChunkReader(file);
        Assert.Equal(ascending, reader.Summary(stored));
        Assert.Equal(ascending, reader.Summary(inMemory));
        // The trailer is not part of the chunk's bytes.
        Assert.Equal(w.Bytes.ToArray(), reader.Read(stored).ToArray());
        Assert.Equal(w.Bytes.ToArray(), file.Read(inMemory));
        // Stored after the file was mapped: read with pread, trailer included.
        var later = file.Store(r.MinT, r.MaxT, r.Bytes, r.Summary);
        Assert.Equal(r.Summary, reader.Summary(later));
        // The first sample at or after a time, and its index, decoding no further.
        Assert.True(ChunkDecoding.SeekFirst(w.Bytes, 1_000 + 3 * 15_000L - 1, out var index, out var first));
        Assert.Equal((3, new Sample(1_000 + 3 * 15_000L, 6.5)), (index, first));
        Assert.False(ChunkDecoding.SeekFirst(w.Bytes, w.MaxT + 1, out _, out _));
    }

    [Fact]
    public void Arena_copies_keep_each_chunk_at_its_own_offset_across_pages()
    {
        using var file = new HeadChunkFile(_dir, BlockMs, _ => { });
        using var arena = new ChunkArena();
        using var reader = new HeadChunkReader(file);
        // ~110 bytes each: 2,000 of them fill several 64 KiB pages; one larger than a page gets its own array.
        var bytes = Enumerable.Range(0, 2000).Select(i => Chunk(i, 60 + i % 5, i * 0.25)).ToList();
        var big = new byte[70_000];
        new Random(3).NextBytes(big);
        var copies = bytes.Select(b => arena.Copy(0, 1, b)).ToList();
        var bigCopy = arena.Copy(0, 1, big);
        for (var i = 0; i < bytes.Count; i++) Assert.Equal(bytes[i], reader.Read(copies[i]).ToArray());
        Assert.Equal(big, reader.Read(bigCopy).ToArray());
        Assert.Equal(bytes[7], file.Read(copies[7]));
        Assert.Equal(0, reader.Mapped);
    }

    [Fact]
    public void Decoding_a_range_appends_only_the_samples_inside_it_after_those_already_in_the_list()
    {
        var data = Chunk(1_000, 10, 2); // t = 1000, 16000, ..., 136000
        var into = new List<Sample> { new(5, 1) };
        ChunkDecoding.DecodeRange(data, 16_000, 61_000, into);
        Assert.Equal([new(5, 1), new(16_000, 3.5), new(31_000, 5), new(46_000, 6.5), new(61_000, 8)], into);
        ChunkDecoding.DecodeRange(data, 200_000, 300_000, into);
        Assert.Equal(5, into.Count);
        ChunkDecoding.DecodeRange(data, 0, 1_000, into);
        Assert.Equal(new Sample(1_000, 2), into[^1]);
        Assert.Equal(6, into.Count);
    }

    [Fact]
    public void Range_decoding_gives_the_reader_s_samples_bit_for_bit_on_random_chunks()
    {
        var rnd = new Random(11);
        double[] specials = [double.NaN, BitConverter.UInt64BitsToDouble(0x7ff0000000000002), double.PositiveInfinity, -0.0, 0, double.MaxValue, double.Epsilon];
        for (var round = 0; round < 400; round++)
        {
            var w = new XorChunkWriter();
            var t = rnd.NextInt64(-1L << 40, 1L << 40);
            var v = rnd.NextDouble() * 1000;
            var n = rnd.Next(1, 300);
            for (var i = 0; i < n; i++)
            {
                w.Append(t, v);
                // Timestamp steps from jitter to huge jumps (every delta-of-delta bucket); values unchanged, close, far, special.
                t += (rnd.Next(6)) switch { 0 => 15_000, 1 => 15_000 + rnd.Next(-40, 40), 2 => rnd.Next(1, 9000), 3 => rnd.Next(1, 600_000), 4 => rnd.NextInt64(1, 1L << 40), _ => 1 };
                v = (rnd.Next(5)) switch { 0 => v, 1 => v + rnd.Next(0, 10), 2 => rnd.NextDouble() * Math.Pow(10, rnd.Next(-300, 300)), 3 => specials[rnd.Next(specials.Length)], _ => -v };
            }
            var data = w.ToArray();
            var all = new List<Sample>();
            var r = new XorChunkReader(data);
            while (r.Next(out var rt, out var rv)) all.Add(new Sample(rt, rv));
            var lo = all[rnd.Next(all.Count)].T - rnd.Next(0, 2);
            var hi = rnd.Next(4) == 0 ? lo - 1 : all[rnd.Next(all.Count)].T + rnd.Next(0, 2);
            var want = all.Where(x => x.T >= lo && x.T <= hi).Select(x => (x.T, BitConverter.DoubleToUInt64Bits(x.V))).ToList();
            var got = new List<Sample>();
            ChunkDecoding.DecodeRange(data, lo, hi, got);
            Assert.Equal(want, got.Select(x => (x.T, BitConverter.DoubleToUInt64Bits(x.V))).ToList());
            ChunkDecoding.DecodeRange(data, long.MinValue, long.MaxValue, got = []);
            Assert.Equal(all.Select(x => (x.T, BitConverter.DoubleToUInt64Bits(x.V))), got.Select(x => (x.T, BitConverter.DoubleToUInt64Bits(x.V))));
            // A truncated chunk is an error, never a read past its end.
            if (data.Length > 12) Assert.Throws<InvalidDataException>(() => ChunkDecoding.DecodeRange(data.AsSpan(0, data.Length / 2), long.MinValue, long.MaxValue, []));
        }
    }
}
