using System.Buffers.Binary;
using RocksDbSharp;

namespace Hubgate.LogBench;

/// <summary>
/// RocksDB with a synced write-ahead log: each appender's <c>Put</c> (key: a sequence) blocks until the WAL is synced;
/// concurrent writers join one write group whose leader writes and syncs the WAL once for all of them. No compression
/// (as for the others). The memtable is flushed to SST files in the background: the body is written twice, as with
/// SQLite's WAL and checkpoint.
/// </summary>
internal sealed class RocksDbDesign : ILogDesign
{
    private readonly string _directory;
    private readonly WriteOptions _sync = new WriteOptions().SetSync(true);
    private RocksDb? _db;
    private long _sequence;

    private RocksDbDesign(string directory)
    {
        _directory = directory;
        _db = Open(directory);
    }

    public static Task<ILogDesign> OpenAsync(string directory, CancellationToken cancellationToken) =>
        Task.FromResult<ILogDesign>(new RocksDbDesign(directory));

    public bool Blocking => true;

    public ValueTask AppendAsync(byte[] record, CancellationToken cancellationToken)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(key, Interlocked.Increment(ref _sequence));
        _db!.Put(key, record, writeOptions: _sync);
        return ValueTask.CompletedTask;
    }

    public async Task<long> ReopenAndScanAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync().ConfigureAwait(false);
        _db = Open(_directory);
        long count = 0;
        using var iterator = _db.NewIterator();
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            cancellationToken.ThrowIfCancellationRequested();
            count += iterator.Value().Length > 0 ? 1 : 0;
        }

        return count;
    }

    private static RocksDb Open(string directory) =>
        RocksDb.Open(new DbOptions()
            .SetCreateIfMissing(true)
            .SetCompression(Compression.No)
            .SetWriteBufferSize(64UL << 20), directory);

    public ValueTask DisposeAsync()
    {
        _db?.Dispose();
        _db = null;
        return ValueTask.CompletedTask;
    }
}
