using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>meta.json of a block. MinT is inclusive, MaxT exclusive (the block's aligned time range).</summary>
public sealed record BlockMeta
{
    public int Version { get; init; } = 1;
    public required string Id { get; init; }
    public long MinT { get; init; }
    public long MaxT { get; init; }
    public BlockStats Stats { get; init; } = new();
    public int Level { get; init; } = 1;
    public IReadOnlyList<string> Sources { get; init; } = [];
}

public sealed record BlockStats
{
    public long NumSeries { get; init; }
    public long NumChunks { get; init; }
    public long NumSamples { get; init; }
    public long NumBytes { get; init; }
}

internal readonly record struct BlockChunk(long MinT, long MaxT, long Offset, int Length, uint Crc);

internal sealed class BlockSeries(Labels labels, BlockChunk[] chunks)
{
    public Labels Labels { get; } = labels;
    public BlockChunk[] Chunks { get; } = chunks;

    public bool Overlaps(long minT, long maxT) =>
        Chunks.Length > 0 && Chunks[0].MinT <= maxT && Chunks[^1].MaxT >= minT;
}

/// <summary>
/// An immutable on-disk block: <c>chunks</c> (a 8-byte magic header, then encoded chunks back to back),
/// <c>index</c> (series sorted by labels, each with its chunk references and their CRC-32C; CRC-32C of the
/// whole index at the end) and <c>meta.json</c>.
/// The index is held in memory; chunk bytes are read from disk per query.
/// </summary>
internal sealed class Block : IDisposable
{
    public const string ChunksFile = "chunks";
    public const string IndexFile = "index";
    public const string MetaFile = "meta.json";
    internal static ReadOnlySpan<byte> ChunksMagic => "WKCHNK01"u8;
    internal static ReadOnlySpan<byte> IndexMagic => "WKIDX002"u8;

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly SafeFileHandle _chunks;
    private int _refs = 1; // the database's own reference plus one per running query
    private int _disposed;
    private readonly BlockSeries[] _series;
    private readonly PostingsIndex _index;

    private Block(string dir, BlockMeta meta, BlockSeries[] series, SafeFileHandle chunks, long size)
    {
        Dir = dir;
        Meta = meta;
        _series = series;
        _chunks = chunks;
        SizeBytes = size;
        _index = new PostingsIndex();
        for (var i = 0; i < series.Length; i++) _index.Add((ulong)i, series[i].Labels);
    }

    public string Dir { get; }
    public BlockMeta Meta { get; }
    public long SizeBytes { get; }
    public int SeriesCount => _series.Length;

    public static BlockMeta ReadMeta(string dir) =>
        JsonSerializer.Deserialize<BlockMeta>(File.ReadAllBytes(Path.Combine(dir, MetaFile)), JsonOptions)
        ?? throw new InvalidDataException("empty meta.json");

    public static Block Open(string dir, StringInterner interner)
    {
        var meta = ReadMeta(dir);
        var indexBytes = File.ReadAllBytes(Path.Combine(dir, IndexFile));
        var series = ReadIndex(indexBytes, interner);
        var chunksPath = Path.Combine(dir, ChunksFile);
        var handle = File.OpenHandle(chunksPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var size = indexBytes.Length + RandomAccess.GetLength(handle) + new FileInfo(Path.Combine(dir, MetaFile)).Length;
        return new Block(dir, meta, series, handle, size);
    }

    private static BlockSeries[] ReadIndex(ReadOnlySpan<byte> data, StringInterner interner)
    {
        if (data.Length < IndexMagic.Length + 4 || !data[..IndexMagic.Length].SequenceEqual(IndexMagic))
            throw new InvalidDataException("bad index header");
        var body = data[..^4];
        if (Crc32C.Compute(body) != System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[^4..]))
            throw new InvalidDataException("index checksum mismatch");
        var r = new SpanReader(body[IndexMagic.Length..]);
        var count = r.ReadUVarint();
        if (count > int.MaxValue) throw new InvalidDataException("bad series count");
        var series = new BlockSeries[count];
        for (var i = 0; i < series.Length; i++)
        {
            var nl = (int)r.ReadUVarint();
            var labels = new Label[nl];
            for (var j = 0; j < nl; j++) labels[j] = new Label(r.ReadString(interner), r.ReadString(interner));
            var nc = (int)r.ReadUVarint();
            var chunks = new BlockChunk[nc];
            long prevMax = 0;
            for (var j = 0; j < nc; j++)
            {
                var minT = prevMax + r.ReadVarint();
                var maxT = minT + (long)r.ReadUVarint();
                var off = (long)r.ReadUVarint();
                var len = (int)r.ReadUVarint();
                var crc = r.ReadUInt32LE();
                chunks[j] = new BlockChunk(minT, maxT, off, len, crc);
                prevMax = maxT;
            }
            series[i] = new BlockSeries(Labels.FromSorted(labels), chunks);
        }
        return series;
    }

    public bool Overlaps(long minT, long maxT) => Meta.MinT <= maxT && Meta.MaxT > minT;

    public ulong[] Select(IReadOnlyList<LabelMatcher> matchers) => _index.Select(matchers);

    public bool Within(long minT, long maxT) => Meta.MinT >= minT && Meta.MaxT - 1 <= maxT;

    public IEnumerable<string> LabelNames => _index.Names;

    public IEnumerable<string> LabelValues(string name) => _index.ValuesOf(name);

    public BlockSeries Series(ulong id) => _series[(int)id];

    /// <summary>Series in label order, for compaction.</summary>
    public IReadOnlyList<BlockSeries> AllSeries => _series;

    public byte[] ReadChunk(BlockChunk c)
    {
        var data = new byte[c.Length];
        ReadExactly(c.Offset, data);
        Verify(c, data);
        return data;
    }

    private void ReadExactly(long offset, Span<byte> into)
    {
        while (into.Length > 0)
        {
            var n = RandomAccess.Read(_chunks, into, offset);
            if (n <= 0) throw new InvalidDataException($"block {Meta.Id}: chunk beyond end of file");
            into = into[n..];
            offset += n;
        }
    }

    private void Verify(BlockChunk c, ReadOnlySpan<byte> data)
    {
        if (Crc32C.Compute(data) != c.Crc)
            throw new InvalidDataException($"block {Meta.Id}: checksum mismatch in chunk at offset {c.Offset}");
    }

    public void ReadRange(BlockSeries s, long minT, long maxT, List<Sample> into)
    {
        foreach (var c in s.Chunks)
        {
            if (c.MaxT < minT) continue;
            if (c.MinT > maxT) break;
            var rented = ArrayPool<byte>.Shared.Rent(c.Length);
            try
            {
                var span = rented.AsSpan(0, c.Length);
                ReadExactly(c.Offset, span);
                Verify(c, span);
                ChunkDecoding.DecodeRange(span, minT, maxT, into);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Pins the block for a query; false once it has been closed.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var r = Volatile.Read(ref _refs);
            if (r == 0) return false;
            if (Interlocked.CompareExchange(ref _refs, r + 1, r) == r) return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) _chunks.Dispose();
    }

    /// <summary>Drops the database's reference; the file closes when the last query releases it.
    /// The directory may be deleted before that: an open file stays readable.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Release();
    }
}

/// <summary>Writes a block into <c>blocksDir/id.tmp</c> and renames it into place when complete.</summary>
internal sealed class BlockWriter : IDisposable
{
    private readonly string _blocksDir;
    private readonly string _tmpDir;
    private readonly FileStream _chunks;
    private readonly ByteBuffer _index = new(1 << 16);
    private readonly ByteBuffer _seriesBuf = new(1 << 12);
    private long _offset;
    private long _numSeries;
    private long _numChunks;
    private long _numSamples;
    private Labels? _last;
    private bool _done;

    public BlockWriter(string blocksDir, string id)
    {
        _blocksDir = blocksDir;
        Id = id;
        _tmpDir = Path.Combine(blocksDir, id + ".tmp");
        if (Directory.Exists(_tmpDir)) Directory.Delete(_tmpDir, recursive: true);
        Directory.CreateDirectory(_tmpDir);
        _chunks = new FileStream(Path.Combine(_tmpDir, Block.ChunksFile), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _chunks.Write(Block.ChunksMagic);
        _offset = Block.ChunksMagic.Length;
    }

    public string Id { get; }

    /// <summary>Adds a series; series must come in increasing label order, chunks in time order.</summary>
    public void AddSeries(Labels labels, IReadOnlyList<ChunkData> chunks)
    {
        if (chunks.Count == 0) return;
        if (_last is not null && labels.CompareTo(_last) <= 0) throw new InvalidOperationException("series out of order");
        _last = labels;
        _seriesBuf.WriteUVarint((ulong)labels.Count);
        foreach (var l in labels.AsSpan())
        {
            _seriesBuf.WriteString(l.Name);
            _seriesBuf.WriteString(l.Value);
        }
        _seriesBuf.WriteUVarint((ulong)chunks.Count);
        long prevMax = 0;
        foreach (var c in chunks)
        {
            _chunks.Write(c.Data);
            _seriesBuf.WriteVarint(c.MinT - prevMax);
            _seriesBuf.WriteUVarint((ulong)(c.MaxT - c.MinT));
            _seriesBuf.WriteUVarint((ulong)_offset);
            _seriesBuf.WriteUVarint((ulong)c.Data.Length);
            _seriesBuf.WriteUInt32LE(Crc32C.Compute(c.Data));
            _offset += c.Data.Length;
            prevMax = c.MaxT;
            _numChunks++;
            _numSamples += XorChunkReader.CountOf(c.Data);
        }
        _numSeries++;
        // Keep series entries apart from the header until the count is known.
        _index.WriteBytes(_seriesBuf.Written);
        _seriesBuf.Clear();
    }

    public long NumSeries => _numSeries;

    /// <summary>Writes index and meta, fsyncs, renames into place; returns the final directory.</summary>
    public string Finish(long minT, long maxT, int level, IReadOnlyList<string> sources)
    {
        _chunks.Flush(true);
        _chunks.Dispose();

        var header = new ByteBuffer(32);
        header.WriteBytes(Block.IndexMagic);
        header.WriteUVarint((ulong)_numSeries);
        var crc = Crc32C.Append(Crc32C.Compute(header.Written), _index.Written);
        var indexPath = Path.Combine(_tmpDir, Block.IndexFile);
        using (var fs = new FileStream(indexPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            fs.Write(header.Written);
            fs.Write(_index.Written);
            Span<byte> c = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(c, crc);
            fs.Write(c);
            fs.Flush(true);
        }
        var indexLen = header.Length + _index.Length + 4;
        var meta = new BlockMeta
        {
            Id = Id,
            MinT = minT,
            MaxT = maxT,
            Level = level,
            Sources = sources,
            Stats = new BlockStats { NumSeries = _numSeries, NumChunks = _numChunks, NumSamples = _numSamples, NumBytes = _offset + indexLen },
        };
        using (var fs = new FileStream(Path.Combine(_tmpDir, Block.MetaFile), FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(fs, meta, Block.JsonOptions);
            fs.Flush(true);
        }
        DirectorySync.Fsync(_tmpDir);
        var final = Path.Combine(_blocksDir, Id);
        Directory.Move(_tmpDir, final);
        DirectorySync.Fsync(_blocksDir);
        _done = true;
        return final;
    }

    public void Dispose()
    {
        if (_done) return;
        _chunks.Dispose();
        try
        {
            Directory.Delete(_tmpDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
