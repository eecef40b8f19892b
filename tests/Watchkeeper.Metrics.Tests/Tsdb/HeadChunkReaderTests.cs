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
}
