namespace Watchkeeper.Metrics.Tsdb;

/// <summary>What <see cref="Tsdb.Snapshot"/> wrote: the blocks copied and the WAL bytes that replay into the head.</summary>
public sealed record TsdbSnapshotResult(string Directory, int Blocks, int WalFiles, long Bytes, long HeadMaxT);

// Consistent snapshots for backups (as Prometheus's /api/v1/admin/tsdb/snapshot, but the head is kept as its WAL).
public sealed partial class Tsdb
{
    /// <summary>
    /// Writes a consistent copy of the database into <paramref name="targetDir"/> (which must not exist or be empty):
    /// every block, and the WAL (checkpoint and segments) up to the last committed record, so opening the copy with
    /// <see cref="Open"/> loads the blocks and replays the head exactly as it was at the snapshot. Maintenance (head cuts,
    /// WAL checkpoints, compaction, retention) waits while the copy is made; appends and queries carry on, and records
    /// committed after the snapshot point are not copied.
    /// </summary>
    public TsdbSnapshotResult Snapshot(string targetDir, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDir);
        if (System.IO.Directory.Exists(targetDir) && System.IO.Directory.EnumerateFileSystemEntries(targetDir).Any())
            throw new IOException($"snapshot directory {targetDir} is not empty");
        lock (_maintenanceLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // The snapshot point: the WAL as it is now (synced), and the blocks it follows. Blocks change only under the
            // maintenance lock (held), and WAL files only grow past the lengths taken here until the next checkpoint.
            List<(string Path, long Length)> walFiles;
            long headMaxT;
            lock (_walLock)
            {
                _wal!.Sync();
                walFiles = _wal.Files();
                headMaxT = Volatile.Read(ref _headMaxT);
            }
            var blocks = Volatile.Read(ref _blocks);
            var blocksOut = Path.Combine(targetDir, "blocks");
            var walOut = Path.Combine(targetDir, "wal");
            System.IO.Directory.CreateDirectory(blocksOut);
            System.IO.Directory.CreateDirectory(walOut);
            long bytes = 0;
            foreach (var b in blocks)
            {
                ct.ThrowIfCancellationRequested();
                var dest = Path.Combine(blocksOut, Path.GetFileName(b.Dir));
                System.IO.Directory.CreateDirectory(dest);
                foreach (var file in System.IO.Directory.GetFiles(b.Dir))
                    bytes += CopyPrefix(file, Path.Combine(dest, Path.GetFileName(file)), long.MaxValue);
                DirectorySync.Fsync(dest);
            }
            foreach (var (path, length) in walFiles)
            {
                ct.ThrowIfCancellationRequested();
                bytes += CopyPrefix(path, Path.Combine(walOut, Path.GetFileName(path)), length);
            }
            DirectorySync.Fsync(blocksOut);
            DirectorySync.Fsync(walOut);
            DirectorySync.Fsync(targetDir);
            return new TsdbSnapshotResult(targetDir, blocks.Count, walFiles.Count, bytes, headMaxT);
        }
    }

    /// <summary>Copies the first <paramref name="length"/> bytes of <paramref name="from"/> (all of it for long.MaxValue) and fsyncs the copy.</summary>
    private static long CopyPrefix(string from, string to, long length)
    {
        using var src = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        using var dst = new FileStream(to, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        var buffer = new byte[1 << 16];
        long left = Math.Min(length, src.Length), copied = 0;
        while (left > 0)
        {
            var n = src.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) break;
            dst.Write(buffer, 0, n);
            left -= n;
            copied += n;
        }
        dst.Flush(true);
        return copied;
    }
}
