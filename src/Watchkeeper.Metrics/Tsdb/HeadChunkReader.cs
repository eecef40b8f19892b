using System.Buffers;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// One query's reads of closed head chunks: each <c>chunks_head/</c> file the query touches is mapped read-only once,
/// at its length at that moment (every chunk the query took a reference to lies inside it), and the chunks are read
/// straight from the mapping instead of with one <c>pread</c> per chunk. The mappings live until <see cref="Dispose"/>
/// (the end of the query, while the files are pinned), so the pages they touch are not kept resident afterwards:
/// nothing is cached between queries. A file that cannot be mapped, or a chunk outside the mapped length, is read with
/// <c>pread</c> as before.
/// </summary>
internal sealed unsafe class HeadChunkReader(HeadChunkFile file) : IDisposable
{
    private sealed class View(MemoryMappedFile map, MemoryMappedViewAccessor accessor, byte* pointer, long length)
    {
        public readonly MemoryMappedFile Map = map;
        public readonly MemoryMappedViewAccessor Accessor = accessor;
        public readonly byte* Pointer = pointer;
        public readonly long Length = length;
    }

    private readonly Dictionary<long, View?> _views = [];
    private byte[] _buffer = [];

    /// <summary>Files mapped by this reader (for tests).</summary>
    public int Mapped => _views.Count(v => v.Value is not null);

    /// <summary>The bytes of a closed chunk, valid until the next call or <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> Read(HeadChunk c)
    {
        if (c.Data is not null) return c.Data.AsSpan((int)Math.Max(c.Offset, 0), c.Length);
        var view = ViewOf(c);
        if (view is not null && c.Offset >= 0 && c.Offset + c.Length <= view.Length)
            return new ReadOnlySpan<byte>(view.Pointer + c.Offset, c.Length);
        return file.Read(c, ref _buffer);
    }

    /// <summary>The summary of a closed chunk (one with a trailer) from its header and trailer, without decoding it.</summary>
    public ChunkSummary Summary(HeadChunk c)
    {
        var n = c.Length + ChunkSummary.TrailerBytes;
        ReadOnlySpan<byte> bytes;
        if (c.Data is not null) bytes = c.Data.AsSpan((int)Math.Max(c.Offset, 0), n);
        else
        {
            var view = ViewOf(c);
            bytes = view is not null && c.Offset >= 0 && c.Offset + n <= view.Length
                ? new ReadOnlySpan<byte>(view.Pointer + c.Offset, n)
                : file.ReadWithTrailer(c, ref _buffer);
        }
        return ChunkSummary.Read(bytes[..c.Length], bytes[c.Length..], c.MaxT);
    }

    private View? ViewOf(HeadChunk c)
    {
        var key = file.KeyOf(c);
        if (!_views.TryGetValue(key, out var view))
        {
            view = TryMap(key);
            _views[key] = view;
        }
        return view;
    }

    private View? TryMap(long key)
    {
        if (!file.TryGetSegment(key, out var handle, out var length) || length <= 0) return null;
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? accessor = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(handle, null, length, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            accessor = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new View(map, accessor, p + accessor.PointerOffset, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            accessor?.Dispose();
            map?.Dispose();
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var view in _views.Values)
        {
            if (view is null) continue;
            view.Accessor.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Accessor.Dispose();
            view.Map.Dispose();
        }
        _views.Clear();
    }
}

/// <summary>
/// Copies of open head chunks for one query, packed into pooled 64 KiB pages instead of an array per series; the
/// pages go back to the pool on <see cref="Dispose"/>, after the query has decoded them.
/// </summary>
internal sealed class ChunkArena : IDisposable
{
    private const int PageBytes = 64 * 1024;
    private readonly List<byte[]> _pages = [];
    private byte[]? _page;
    private int _used;

    /// <summary>A chunk whose bytes are a copy of <paramref name="bytes"/> in this arena.</summary>
    public HeadChunk Copy(long minT, long maxT, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > PageBytes) return new HeadChunk(minT, maxT, bytes.ToArray(), -1, bytes.Length);
        if (_page is null || _used + bytes.Length > _page.Length)
        {
            _page = ArrayPool<byte>.Shared.Rent(PageBytes);
            _pages.Add(_page);
            _used = 0;
        }
        bytes.CopyTo(_page.AsSpan(_used));
        var c = new HeadChunk(minT, maxT, _page, _used, bytes.Length);
        _used += bytes.Length;
        return c;
    }

    public void Dispose()
    {
        foreach (var p in _pages) ArrayPool<byte>.Shared.Return(p);
        _pages.Clear();
        _page = null;
    }
}
