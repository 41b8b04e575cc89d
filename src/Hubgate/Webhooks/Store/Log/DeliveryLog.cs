using Hubgate.Storage;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// SQLite's delivery log: where the inbox makes bodies durable (<see cref="SegmentLog"/>, one <c>fdatasync</c> per batch
/// of concurrent deliveries), instead of compressing them into the database, which SQLite writes twice (WAL, then
/// checkpoint) under the write lock the workers share. The inbox's rows stay in SQLite, without the body and committed
/// without a sync of their own: the log holds everything a row holds, and what a crash takes from the database is
/// indexed again from the log at start (<see cref="WebhookInbox"/>). Off (<see cref="IsEnabled"/> false) on PostgreSQL,
/// for an in-memory SQLite database, and with <c>Webhooks:Log</c> false.
/// </summary>
internal sealed class DeliveryLog : IAsyncDisposable
{
    private readonly SegmentLogOptions? _options;
    private readonly bool _enabled;
    private readonly Lock _segmentsLock = new();
    private SegmentLog? _log;

    /// <summary>Held while the log is open for appending: a second process appending to the same folder is refused.</summary>
    private FileStream? _lock;
    private IReadOnlyList<(string Path, long FirstSequence)> _segments = [];

    public DeliveryLog(IOptions<DatabaseOptions> database, IOptions<WebhookOptions> webhooks)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(webhooks);
        var settings = webhooks.Value;
        if (database.Value.Provider != DatabaseProvider.Sqlite || DirectoryFor(database.Value, settings) is not { } directory)
        {
            return;
        }

        // Known even with the log turned off: bodies stored while it was on are still read from it.
        _options = new SegmentLogOptions(directory) { SegmentBytes = settings.LogSegmentBytes };
        _enabled = settings.Log;
    }

    /// <summary>Whether bodies of new deliveries go to the log (<c>Webhooks:Log</c>, SQLite on a file).</summary>
    public bool IsEnabled => _enabled;

    /// <summary>Whether this process appends to the log: it is on and opened (not held by another process).</summary>
    public bool IsOpen => _log is not null;

    /// <summary>The log's folder (null for PostgreSQL and an in-memory SQLite database).</summary>
    public string? Directory => _options?.Directory;

    /// <summary>The torn tail cut off the newest segment when the log was opened, if there was one.</summary>
    public LogFault? CutTail => _log?.CutTail;

    /// <summary>
    /// The log's folder for this database: <c>Webhooks:LogDirectory</c>, or the database file's path with <c>.log</c>
    /// added (<c>hubgate.db.log/</c>). Null for a database that is not a file.
    /// </summary>
    public static string? DirectoryFor(DatabaseOptions database, WebhookOptions webhooks)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(webhooks);
        if (!string.IsNullOrEmpty(webhooks.LogDirectory))
        {
            return Path.GetFullPath(webhooks.LogDirectory);
        }

        return SqliteFileMode.FilePath(database.ConnectionString) is { } file ? file + ".log" : null;
    }

    /// <summary>
    /// Opens the log for appending (cutting a torn tail off its newest segment). An empty folder starts after
    /// <paramref name="indexedThrough"/>, so that a log lost or moved away never hands out a sequence the index already
    /// knows.
    /// </summary>
    public async Task OpenAsync(long indexedThrough, CancellationToken cancellationToken)
    {
        var options = _enabled ? _options! : throw new InvalidOperationException("The delivery log is off.");
        if (_log is not null)
        {
            return;
        }

        // The records hold what the database holds: as private as its file (0600 in a 0700 data directory).
        SqliteFileMode.CreateOwnerOnlyDirectory(options.Directory);
        try
        {
            _lock ??= new FileStream(Path.Combine(options.Directory, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new DeliveryLogInUseException($"The delivery log in {options.Directory} is open in another process (a second service on the same " +
                                                "SQLite file); only one process may append to it.", e);
        }

        _log = await SegmentLog.OpenAsync(options with { FirstSequence = indexedThrough + 1 }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends <paramref name="records"/> (one group commit when they are appended together); their positions once durable.</summary>
    public Task<LogPosition[]> AppendAsync(IReadOnlyList<byte[]> records)
    {
        var log = _log ?? throw new InvalidOperationException("The delivery log is not open.");
        var appends = new Task<LogPosition>[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            appends[i] = log.AppendAsync(records[i]);
        }

        return Task.WhenAll(appends);
    }

    /// <summary>The records after <paramref name="sequence"/>, and the damaged stretches among them, in log order.</summary>
    public IAsyncEnumerable<LogItem> ReadAfterAsync(long sequence, CancellationToken cancellationToken) =>
        SegmentLogReader.ReadAsync(Directory ?? throw new InvalidOperationException("The delivery log is off."), sequence + 1, cancellationToken);

    /// <summary>The body of the delivery whose record is at <paramref name="position"/>; <see cref="InvalidDataException"/> when it cannot be read.</summary>
    public async Task<byte[]> ReadBodyAsync(LogPosition position, CancellationToken cancellationToken)
    {
        byte[] record;
        try
        {
            record = await SegmentLogReader.ReadRecordAsync(SegmentOf(position.Sequence, refresh: false), position, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            // The list of segments read earlier is old (a segment was started or deleted since): read it again, once.
            record = await SegmentLogReader.ReadRecordAsync(SegmentOf(position.Sequence, refresh: true), position, cancellationToken).ConfigureAwait(false);
        }

        return LoggedDelivery.Body(record).ToArray();
    }

    /// <summary>
    /// Deletes every sealed segment all of whose records come before <paramref name="sequence"/> (the newest segment,
    /// being written, is never deleted). Returns how many.
    /// </summary>
    public int DeleteSegmentsBefore(long sequence)
    {
        var directory = Directory ?? throw new InvalidOperationException("The delivery log is off.");
        var segments = SegmentFiles.List(directory);
        var deleted = 0;
        for (var i = 0; i + 1 < segments.Count && segments[i + 1].FirstSequence <= sequence; i++)
        {
            File.Delete(segments[i].Path);
            deleted++;
        }

        if (deleted > 0)
        {
            SegmentFiles.SyncDirectory(directory);
            lock (_segmentsLock)
            {
                _segments = SegmentFiles.List(directory);
            }
        }

        return deleted;
    }

    /// <summary>The segments the log has, oldest first (for tests and reports).</summary>
    public IReadOnlyList<(string Path, long FirstSequence)> Segments() =>
        SegmentFiles.List(Directory ?? throw new InvalidOperationException("The delivery log is off."));

    public async ValueTask DisposeAsync()
    {
        if (_log is { } log)
        {
            await log.DisposeAsync().ConfigureAwait(false);
        }

        if (_lock is { } held)
        {
            await held.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The file of the segment that holds <paramref name="sequence"/>: the last whose first sequence is not after it.</summary>
    private string SegmentOf(long sequence, bool refresh)
    {
        IReadOnlyList<(string Path, long FirstSequence)> segments;
        lock (_segmentsLock)
        {
            if (refresh || _segments.Count == 0)
            {
                _segments = SegmentFiles.List(Directory!);
            }

            segments = _segments;
        }

        var (low, high, found) = (0, segments.Count - 1, -1);
        while (low <= high)
        {
            var middle = (low + high) / 2;
            if (segments[middle].FirstSequence <= sequence)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found >= 0 ? segments[found].Path
            : throw new InvalidDataException($"No segment of the delivery log in {Directory} holds record {sequence}.");
    }
}

/// <summary>Another process appends to the delivery log (only one may).</summary>
internal sealed class DeliveryLogInUseException(string message, Exception inner) : IOException(message, inner);
