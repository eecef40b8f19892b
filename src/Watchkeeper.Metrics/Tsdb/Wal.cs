using System.Buffers.Binary;
using System.Globalization;

namespace Watchkeeper.Metrics.Tsdb;

/// <summary>
/// Write-ahead log: numbered segment files (<c>00000000</c>, <c>00000001</c>, ...) plus at most one
/// checkpoint (<c>checkpoint.NNNNNNNN</c>) that replaces all segments up to NNNNNNNN.
/// A record is a 9-byte header (type, payload length as uint32 LE, CRC-32C of type and payload as uint32 LE) and the payload.
/// </summary>
internal sealed class Wal : IDisposable
{
    public const byte RecordSeries = 1;
    public const byte RecordSamples = 2;
    public const int HeaderSize = 9;
    private const string CheckpointPrefix = "checkpoint.";

    private readonly string _dir;
    private readonly long _segmentBytes;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;
    private readonly WalSyncMode _syncMode;
    private readonly TimeSpan _syncInterval;
    private readonly TsdbStats _stats;
    private FileStream? _segment;
    private int _segmentIndex;
    private long _segmentLength;
    private long _lastSync;
    private bool _dirty;

    private Wal(string dir, TsdbOptions options, Action<string> warn, TsdbStats stats)
    {
        _dir = dir;
        _segmentBytes = options.WalSegmentBytes;
        _warn = warn;
        _time = options.TimeProvider;
        _syncMode = options.WalSync;
        _syncInterval = options.WalSyncInterval;
        _stats = stats;
    }

    /// <summary>Starts a record in <paramref name="buf"/>; returns its offset for <see cref="EndRecord"/>.</summary>
    public static int BeginRecord(ByteBuffer buf, byte type)
    {
        var start = buf.Length;
        var h = buf.GetSpan(HeaderSize);
        h.Clear();
        h[0] = type;
        buf.Advance(HeaderSize);
        return start;
    }

    public static void EndRecord(ByteBuffer buf, int start)
    {
        var rec = buf.WrittenSpan[start..];
        var payload = rec[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(rec[1..], (uint)payload.Length);
        var crc = Crc32C.Append(Crc32C.Compute(rec[..1]), payload);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[5..], crc);
    }

    /// <summary>Opens the WAL in <paramref name="dir"/>, replays every intact record through <paramref name="onRecord"/>,
    /// cuts a torn or corrupt tail, and starts a new segment for writing.</summary>
    public static Wal Open(string dir, TsdbOptions options, Action<string> warn, TsdbStats stats, Action<byte, ReadOnlySpan<byte>> onRecord)
    {
        Directory.CreateDirectory(dir);
        var wal = new Wal(dir, options, warn, stats);
        var (checkpoint, segments) = wal.List();
        foreach (var tmp in Directory.GetFiles(dir, "*.tmp")) File.Delete(tmp);

        var last = -1;
        if (checkpoint is { } cp)
        {
            last = cp.Index;
            var data = File.ReadAllBytes(cp.Path);
            var ok = ReadRecords(data, onRecord, out var goodLength, out var error);
            if (!ok)
            {
                warn($"WAL checkpoint {cp.Path} is corrupt at byte {goodLength} ({error}); records after it are skipped");
                Interlocked.Increment(ref stats._walRepairs);
            }
        }
        for (var i = 0; i < segments.Count; i++)
        {
            var (index, path) = segments[i];
            if (index <= last && checkpoint is not null)
            {
                File.Delete(path);
                continue;
            }
            last = Math.Max(last, index);
            var data = File.ReadAllBytes(path);
            if (ReadRecords(data, onRecord, out var goodLength, out var error)) continue;

            warn($"WAL segment {path} has a torn or corrupt record at byte {goodLength} of {data.Length} ({error}); truncating it there and keeping everything before");
            Interlocked.Increment(ref stats._walRepairs);
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
            {
                fs.SetLength(goodLength);
                fs.Flush(true);
            }
            for (var j = i + 1; j < segments.Count; j++)
            {
                warn($"WAL segment {segments[j].Path} follows a corrupt record and is deleted");
                File.Delete(segments[j].Path);
            }
            break;
        }
        wal.OpenSegment(last + 1);
        return wal;
    }

    /// <summary>Parses records; returns false at the first torn or corrupt one, with the offset where good data ends.</summary>
    public static bool ReadRecords(ReadOnlySpan<byte> data, Action<byte, ReadOnlySpan<byte>> onRecord, out int goodLength, out string? error)
    {
        var pos = 0;
        while (pos < data.Length)
        {
            goodLength = pos;
            if (data.Length - pos < HeaderSize)
            {
                error = "truncated header";
                return false;
            }
            var type = data[pos];
            var len = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 1)..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 5)..]);
            if (type is not (RecordSeries or RecordSamples))
            {
                error = $"unknown record type {type}";
                return false;
            }
            if (len > (uint)(data.Length - pos - HeaderSize))
            {
                error = "truncated record";
                return false;
            }
            var payload = data.Slice(pos + HeaderSize, (int)len);
            if (Crc32C.Append(Crc32C.Compute(data.Slice(pos, 1)), payload) != crc)
            {
                error = "checksum mismatch";
                return false;
            }
            try
            {
                onRecord(type, payload);
            }
            catch (InvalidDataException e)
            {
                error = "undecodable record: " + e.Message;
                return false;
            }
            pos += HeaderSize + (int)len;
        }
        goodLength = pos;
        error = null;
        return true;
    }

    private ((int Index, string Path)? Checkpoint, List<(int Index, string Path)> Segments) List()
    {
        (int, string)? checkpoint = null;
        var segments = new List<(int Index, string Path)>();
        foreach (var path in Directory.GetFiles(_dir))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith(CheckpointPrefix, StringComparison.Ordinal))
            {
                if (name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
                if (!int.TryParse(name.AsSpan(CheckpointPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var ci)) continue;
                if (checkpoint is { } old)
                {
                    if (old.Item1 >= ci)
                    {
                        File.Delete(path);
                        continue;
                    }
                    File.Delete(old.Item2);
                }
                checkpoint = (ci, path);
            }
            else if (name.Length == 8 && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var si))
            {
                segments.Add((si, path));
            }
        }
        segments.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        return (checkpoint, segments);
    }

    private string SegmentPath(int index) => Path.Combine(_dir, index.ToString("D8", CultureInfo.InvariantCulture));

    private void OpenSegment(int index)
    {
        _segment?.Flush(true);
        _segment?.Dispose();
        _segmentIndex = index;
        // Unbuffered: every Write is one write(2), so a committed batch is in the OS page cache when Commit returns.
        _segment = new FileStream(SegmentPath(index), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _segmentLength = _segment.Length;
        DirectorySync.Fsync(_dir);
    }

    /// <summary>Writes framed records; caller serializes calls.</summary>
    public void Write(ReadOnlySpan<byte> records)
    {
        ObjectDisposedException.ThrowIf(_segment is null, this);
        if (_segmentLength > 0 && _segmentLength + records.Length > _segmentBytes) OpenSegment(_segmentIndex + 1);
        _segment!.Write(records);
        _segmentLength += records.Length;
        _dirty = true;
        Interlocked.Add(ref _stats._walBytesWritten, records.Length);
        Interlocked.Increment(ref _stats._walCommits);
        switch (_syncMode)
        {
            case WalSyncMode.Always:
                Sync();
                break;
            case WalSyncMode.Periodic when _time.GetElapsedTime(_lastSync) >= _syncInterval:
                Sync();
                break;
        }
    }

    /// <summary>fsyncs the current segment if it has unsynced writes; caller serializes calls.</summary>
    public void Sync()
    {
        _lastSync = _time.GetTimestamp();
        if (!_dirty || _segment is null) return;
        _segment.Flush(true);
        _dirty = false;
        Interlocked.Increment(ref _stats._walFsyncs);
    }

    /// <summary>Closes the current segment and starts the next; returns the index of the closed one. Caller serializes.</summary>
    public int CutSegment()
    {
        var closed = _segmentIndex;
        OpenSegment(_segmentIndex + 1);
        _dirty = false;
        return closed;
    }

    /// <summary>
    /// Rewrites the checkpoint and all segments up to <paramref name="upTo"/> into a new checkpoint keeping only
    /// series for which <paramref name="keepSeries"/> holds and their samples at or after <paramref name="minT"/>,
    /// then deletes what it replaces. Runs concurrently with writes to later segments.
    /// </summary>
    public void Checkpoint(int upTo, Func<ulong, bool> keepSeries, long minT)
    {
        var (checkpoint, segments) = List();
        var inputs = new List<string>();
        if (checkpoint is { } cp && cp.Index <= upTo) inputs.Add(cp.Path);
        foreach (var (index, path) in segments)
        {
            if (index <= upTo) inputs.Add(path);
        }

        var target = Path.Combine(_dir, CheckpointPrefix + upTo.ToString("D8", CultureInfo.InvariantCulture));
        var tmp = target + ".tmp";
        var seen = new HashSet<ulong>();
        var buf = new ByteBuffer(1 << 16);
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            foreach (var input in inputs)
            {
                var data = File.ReadAllBytes(input);
                ReadRecords(data, (type, payload) =>
                {
                    buf.Clear();
                    if (type == RecordSeries) WalCodec.FilterSeries(payload, buf, seen, keepSeries);
                    else WalCodec.FilterSamples(payload, buf, keepSeries, minT);
                    if (buf.Length > 0) fs.Write(buf.Written);
                }, out _, out _);
            }
            fs.Flush(true);
        }
        File.Move(tmp, target, overwrite: true);
        DirectorySync.Fsync(_dir);
        foreach (var input in inputs)
        {
            if (input != target) File.Delete(input);
        }
        Interlocked.Increment(ref _stats._checkpoints);
    }

    /// <summary>
    /// The files the WAL is made of now (the checkpoint, then the segments in order) with the bytes of each that hold
    /// whole records: the current segment's length as written so far (every write is whole records). Caller holds the
    /// WAL lock, so no record is half counted.
    /// </summary>
    public List<(string Path, long Length)> Files()
    {
        var (checkpoint, segments) = List();
        var files = new List<(string Path, long Length)>();
        if (checkpoint is { } cp) files.Add((cp.Path, new FileInfo(cp.Path).Length));
        foreach (var (index, path) in segments)
        {
            if (checkpoint is { } c && index <= c.Index) continue;
            files.Add((path, index == _segmentIndex ? _segmentLength : new FileInfo(path).Length));
        }
        return files;
    }

    public long SizeBytes()
    {
        long n = 0;
        foreach (var f in Directory.GetFiles(_dir)) n += new FileInfo(f).Length;
        return n;
    }

    public void Dispose()
    {
        if (_segment is null) return;
        _segment.Flush(true);
        _segment.Dispose();
        _segment = null;
    }
}

/// <summary>Payload encodings of WAL records.</summary>
internal static class WalCodec
{
    // Series payload: repeated { uvarint ref, uvarint label count, { string name, string value }* }.
    // Samples payload: repeated { uvarint ref, varint (t - previous t in the record), uint64 LE value bits }.

    public static void WriteSeriesEntry(ByteBuffer buf, ulong seriesRef, Model.Labels labels)
    {
        buf.WriteUVarint(seriesRef);
        buf.WriteUVarint((ulong)labels.Count);
        foreach (var l in labels.AsSpan())
        {
            buf.WriteString(l.Name);
            buf.WriteString(l.Value);
        }
    }

    public static void WriteSampleEntry(ByteBuffer buf, ulong seriesRef, ref long prevT, long t, double v)
    {
        buf.WriteUVarint(seriesRef);
        buf.WriteVarint(t - prevT);
        buf.WriteUInt64LE(BitConverter.DoubleToUInt64Bits(v));
        prevT = t;
    }

    public static void ReadSeries(ReadOnlySpan<byte> payload, StringInterner? interner, Action<ulong, Model.Labels> onSeries)
    {
        var r = new SpanReader(payload);
        while (r.Remaining > 0)
        {
            var seriesRef = r.ReadUVarint();
            var n = r.ReadUVarint();
            if (n > 1 << 20) throw new InvalidDataException("too many labels");
            var labels = new Model.Label[n];
            for (var i = 0; i < labels.Length; i++) labels[i] = new Model.Label(r.ReadString(interner), r.ReadString(interner));
            onSeries(seriesRef, Model.Labels.FromSorted(labels));
        }
    }

    public delegate void SampleHandler(ulong seriesRef, long t, double v);

    public static void ReadSamples(ReadOnlySpan<byte> payload, SampleHandler onSample)
    {
        var r = new SpanReader(payload);
        long t = 0;
        while (r.Remaining > 0)
        {
            var seriesRef = r.ReadUVarint();
            t += r.ReadVarint();
            var v = BitConverter.UInt64BitsToDouble(r.ReadUInt64LE());
            onSample(seriesRef, t, v);
        }
    }

    public static void FilterSeries(ReadOnlySpan<byte> payload, ByteBuffer outBuf, HashSet<ulong> seen, Func<ulong, bool> keep)
    {
        var start = -1;
        var r = new SpanReader(payload);
        while (r.Remaining > 0)
        {
            var entryStart = r.Position;
            var seriesRef = r.ReadUVarint();
            var n = r.ReadUVarint();
            for (ulong i = 0; i < 2 * n; i++) r.ReadBytes((int)r.ReadUVarint());
            if (!keep(seriesRef) || !seen.Add(seriesRef)) continue;
            if (start < 0) start = Wal.BeginRecord(outBuf, Wal.RecordSeries);
            outBuf.WriteBytes(payload[entryStart..r.Position]);
        }
        if (start >= 0) Wal.EndRecord(outBuf, start);
    }

    public static void FilterSamples(ReadOnlySpan<byte> payload, ByteBuffer outBuf, Func<ulong, bool> keep, long minT)
    {
        var start = -1;
        long prevOut = 0;
        var r = new SpanReader(payload);
        long t = 0;
        while (r.Remaining > 0)
        {
            var seriesRef = r.ReadUVarint();
            t += r.ReadVarint();
            var bits = r.ReadUInt64LE();
            if (t < minT || !keep(seriesRef)) continue;
            if (start < 0) start = Wal.BeginRecord(outBuf, Wal.RecordSamples);
            WriteSampleEntry(outBuf, seriesRef, ref prevOut, t, BitConverter.UInt64BitsToDouble(bits));
        }
        if (start >= 0) Wal.EndRecord(outBuf, start);
    }
}
