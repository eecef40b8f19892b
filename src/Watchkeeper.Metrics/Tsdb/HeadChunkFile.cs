using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// A closed head chunk: its bytes in <c>chunks_head/</c> at <see cref="Offset"/>, or in <see cref="Data"/> (the first
/// <see cref="Length"/> bytes of the array when <see cref="Offset"/> is -1; a query's copy of an open chunk is
/// <see cref="Length"/> bytes at <see cref="Offset"/> of a <see cref="ChunkArena"/> page). A closed chunk, in the file
/// or in memory, is followed by its <see cref="ChunkSummary"/> trailer; a query's copy of an open chunk has none.
/// </summary>
internal readonly record struct HeadChunk(long MinT, long MaxT, byte[]? Data, long Offset, int Length)
{
    public bool HasTrailer => Data is null || Offset < 0;
}

/// <summary>
/// Closed head chunks written out to <c>DATA/tsdb/chunks_head/</c>, one file per block range, so the head keeps only
/// open chunks and references in memory (the page cache, not the process, holds the rest). The WAL stays the source
/// of truth: the directory is emptied on open and rebuilt by the WAL replay, and a block range's file is deleted
/// once the head is cut past it. Reads and deletion are both done under the TSDB's state lock (reads shared, cut
/// exclusive) or between <see cref="Pin"/> and <see cref="Unpin"/>: a head cut that retires files while queries hold
/// pins deletes them when the last pin is released. After a write error every later chunk stays in memory.
/// </summary>
internal sealed class HeadChunkFile : IDisposable
{
    private sealed class Segment(long key, SafeFileHandle handle, string path)
    {
        public readonly long Key = key;
        public readonly SafeFileHandle Handle = handle;
        public readonly string Path = path;
        public long Length;
    }

    private readonly string _dir;
    private readonly long _blockMs;
    private readonly Action<string> _warn;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Segment> _segments = [];
    private readonly List<Segment> _retired = [];
    private int _pins;
    private bool _failed;
    private bool _disposed;

    public HeadChunkFile(string dir, long blockMs, Action<string> warn)
    {
        _dir = dir;
        _blockMs = blockMs;
        _warn = warn;
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
    }

    /// <summary>Bytes written to the files still held.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                long n = 0;
                foreach (var s in _segments.Values) n += s.Length;
                return n;
            }
        }
    }

    /// <summary>
    /// Stores a closed chunk followed by its <see cref="ChunkSummary"/> trailer (last value, ascending flag; not part of
    /// <see cref="HeadChunk.Length"/>); in memory, with the same trailer, when the file cannot be written.
    /// </summary>
    public HeadChunk Store(long minT, long maxT, ReadOnlySpan<byte> data, ChunkSummary summary = default)
    {
        lock (_lock)
        {
            if (!_failed && !_disposed)
            {
                var key = TimeMath.AlignDown(minT, _blockMs);
                try
                {
                    if (!_segments.TryGetValue(key, out var seg))
                    {
                        var path = Path.Combine(_dir, key.ToString(CultureInfo.InvariantCulture));
                        seg = new Segment(key, File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read), path);
                        _segments[key] = seg;
                    }
                    var offset = seg.Length;
                    var total = data.Length + ChunkSummary.TrailerBytes;
                    if (_write.Length < total) _write = new byte[Math.Max(total, 2 * _write.Length)];
                    data.CopyTo(_write);
                    summary.WriteTrailer(_write.AsSpan(data.Length));
                    RandomAccess.Write(seg.Handle, _write.AsSpan(0, total), offset);
                    seg.Length += total;
                    return new HeadChunk(minT, maxT, null, offset, data.Length);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _failed = true;
                    _warn($"cannot write head chunks to {_dir} ({e.Message}); keeping them in memory");
                }
            }
        }
        return InMemory(minT, maxT, data, summary);
    }

    /// <summary>A closed chunk held in an array of its own: the encoding, then the summary trailer.</summary>
    public static HeadChunk InMemory(long minT, long maxT, ReadOnlySpan<byte> data, ChunkSummary summary)
    {
        var arr = new byte[data.Length + ChunkSummary.TrailerBytes];
        data.CopyTo(arr);
        summary.WriteTrailer(arr.AsSpan(data.Length));
        return new HeadChunk(minT, maxT, arr, -1, data.Length);
    }

    private byte[] _write = new byte[256];

    /// <summary>Keeps every file that exists now readable until <see cref="Unpin"/> (taken under the TSDB's state lock).</summary>
    public void Pin()
    {
        lock (_lock) _pins++;
    }

    public void Unpin()
    {
        lock (_lock)
        {
            if (--_pins > 0 || _retired.Count == 0) return;
            foreach (var seg in _retired) Delete(seg);
            _retired.Clear();
        }
    }

    /// <summary>The bytes of a closed chunk, in an array of its own.</summary>
    public byte[] Read(HeadChunk c)
    {
        if (c.Data is not null) return c.Data.AsSpan((int)Math.Max(c.Offset, 0), c.Length).ToArray();
        var buf = new byte[c.Length];
        ReadFile(c, buf);
        return buf;
    }

    /// <summary>The bytes of a closed chunk, read into <paramref name="buffer"/> (grown as needed) unless in memory.</summary>
    public ReadOnlySpan<byte> Read(HeadChunk c, ref byte[] buffer)
    {
        if (c.Data is not null) return c.Data.AsSpan((int)Math.Max(c.Offset, 0), c.Length);
        if (buffer.Length < c.Length) buffer = new byte[Math.Max(c.Length, buffer.Length * 2)];
        var span = buffer.AsSpan(0, c.Length);
        ReadFile(c, span);
        return span;
    }

    /// <summary>A closed chunk's bytes followed by its trailer, read into <paramref name="buffer"/> unless in memory.</summary>
    public ReadOnlySpan<byte> ReadWithTrailer(HeadChunk c, ref byte[] buffer)
    {
        var n = c.Length + ChunkSummary.TrailerBytes;
        if (c.Data is not null) return c.Data.AsSpan((int)Math.Max(c.Offset, 0), n);
        if (buffer.Length < n) buffer = new byte[Math.Max(n, buffer.Length * 2)];
        var span = buffer.AsSpan(0, n);
        ReadFile(c, span);
        return span;
    }

    /// <summary>The key of the file a closed chunk is stored in.</summary>
    public long KeyOf(HeadChunk c) => TimeMath.AlignDown(c.MinT, _blockMs);

    /// <summary>The handle and current length of a file still readable (held or retired while pinned).</summary>
    public bool TryGetSegment(long key, out SafeFileHandle handle, out long length)
    {
        lock (_lock)
        {
            if (!_disposed && (_segments.TryGetValue(key, out var seg) || (seg = _retired.Find(r => r.Key == key)) is not null))
            {
                handle = seg.Handle;
                length = seg.Length;
                return true;
            }
        }
        handle = null!;
        length = 0;
        return false;
    }

    private void ReadFile(HeadChunk c, Span<byte> into)
    {
        Segment? seg;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var key = TimeMath.AlignDown(c.MinT, _blockMs);
            if (!_segments.TryGetValue(key, out seg)) seg = _retired.Find(r => r.Key == key);
            if (seg is null) throw new InvalidOperationException($"head chunk file for {c.MinT} is gone");
        }
        var done = 0;
        while (done < into.Length)
        {
            var n = RandomAccess.Read(seg.Handle, into[done..], c.Offset + done);
            if (n == 0) throw new InvalidDataException($"head chunk file {seg.Path} is shorter than expected");
            done += n;
        }
    }

    /// <summary>Deletes the files of block ranges that start before <paramref name="end"/> (the head was cut past them).</summary>
    public void DeleteBefore(long end)
    {
        lock (_lock)
        {
            foreach (var key in _segments.Keys.Where(k => k < end).ToList())
            {
                var seg = _segments[key];
                _segments.Remove(key);
                if (_pins > 0) _retired.Add(seg);
                else Delete(seg);
            }
        }
    }

    private void Delete(Segment seg)
    {
        seg.Handle.Dispose();
        try
        {
            File.Delete(seg.Path);
        }
        catch (IOException e)
        {
            _warn($"cannot delete head chunk file {seg.Path}: {e.Message}");
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var seg in _segments.Values) seg.Handle.Dispose();
            foreach (var seg in _retired) seg.Handle.Dispose();
            _segments.Clear();
            _retired.Clear();
        }
    }
}
