using Hubgate.Webhooks.Store.Log;
using Xunit;

namespace Hubgate.Tests.Webhooks.Log;

/// <summary>
/// The segment log on a real file system: group-committed appends all durable and read back in order after reopening,
/// segments rolled by size, a torn last record reported and cut off, a corrupted record in the middle reported with its
/// segment and offset while the records after it are still read. No database: one pass only.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class SegmentLogTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("hubgate-log-").FullName;
    private readonly CancellationTokenSource _timeout = new(Timeout);

    private CancellationToken Token => _timeout.Token;

    [Fact]
    public async Task ConcurrentAppends_AreAllDurableAndReadBackInOrderAfterReopening()
    {
        const int appenders = 32, perAppender = 20;
        var appended = new System.Collections.Concurrent.ConcurrentDictionary<long, (byte[] Payload, LogPosition Position)>();
        await using (var log = await Open())
        {
            await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
            {
                for (var i = 0; i < perAppender; i++)
                {
                    var payload = Payload(a * perAppender + i);
                    var position = await log.AppendAsync(payload, Token);
                    Assert.True(appended.TryAdd(position.Sequence, (payload, position)), $"sequence {position.Sequence} handed out twice");
                }
            }, Token)));
        }

        var items = await ReadAll();
        Assert.All(items, item => Assert.IsType<LogRecord>(item));
        var records = items.Cast<LogRecord>().ToList();
        Assert.Equal(Enumerable.Range(1, appenders * perAppender).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.All(records, r => Assert.Equal(appended[r.Sequence].Payload, r.Payload.ToArray()));
        // The position each append reported is where the reader found the record, and reads it back by itself.
        Assert.All(records, r => Assert.Equal(appended[r.Sequence].Position.Offset, r.Offset));
        foreach (var record in records.Where(r => r.Sequence % 50 == 0))
        {
            Assert.Equal(record.Payload.ToArray(), await SegmentLogReader.ReadRecordAsync(record.Segment, appended[record.Sequence].Position, Token));
        }

        await Assert.ThrowsAsync<InvalidDataException>(() => SegmentLogReader.ReadRecordAsync(records[0].Segment,
            new LogPosition(records[1].Sequence, records[0].Offset), Token)); // another record's place

        await using var reopened = await Open();
        Assert.Null(reopened.CutTail);
        Assert.Equal(appenders * perAppender + 1, (await reopened.AppendAsync(Payload(-1), Token)).Sequence);
    }

    [Fact]
    public async Task RecordsThatWouldOverflowASegment_GoToANewSegmentNamedByItsFirstSequence()
    {
        var recordBytes = LogRecordFormat.HeaderSize + Payload(0).Length;
        await using (var log = await Open(segmentBytes: 3 * recordBytes))
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(i + 1, (await log.AppendAsync(Payload(i), Token)).Sequence);
            }
        }

        Assert.Equal(new long[] { 1, 4, 7, 10 }, SegmentFiles.List(_directory).Select(s => s.FirstSequence));
        var all = (await ReadAll()).Cast<LogRecord>().ToList();
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), all.Select(r => r.Sequence));
        Assert.All(all, r => Assert.Equal(Payload((int)r.Sequence - 1), r.Payload.ToArray()));

        var fromEight = (await ReadAll(fromSequence: 8)).Cast<LogRecord>().Select(r => r.Sequence);
        Assert.Equal(new long[] { 8, 9, 10 }, fromEight);

        await using var reopened = await Open(segmentBytes: 3 * recordBytes);
        Assert.Equal(11, (await reopened.AppendAsync(Payload(10), Token)).Sequence);
    }

    [Fact]
    public async Task ABatchOfConcurrentAppends_IsSplitAcrossSegments_WithEveryRecordInTheSegmentNamedForIt()
    {
        var recordBytes = LogRecordFormat.HeaderSize + Payload(0).Length;
        await using (var log = await Open(segmentBytes: 3 * recordBytes))
        {
            // 32 appenders at once: the writer takes several waiting records per batch, and a batch crosses segments.
            await Task.WhenAll(Enumerable.Range(0, 32).Select(a => Task.Run(async () =>
            {
                for (var i = 0; i < 5; i++)
                {
                    await log.AppendAsync(Payload(a), Token);
                }
            }, Token)));
        }

        var segments = SegmentFiles.List(_directory);
        var records = (await ReadAll()).Cast<LogRecord>().ToList();
        Assert.Equal(Enumerable.Range(1, 160).Select(i => (long)i), records.Select(r => r.Sequence));
        foreach (var (path, first) in segments)
        {
            var inSegment = records.Where(r => r.Segment == path).Select(r => r.Sequence).ToList();
            Assert.InRange(inSegment.Count, 1, 3);
            Assert.Equal(first, inSegment[0]);
        }
    }

    [Theory]
    [InlineData(1)] // the last byte of the payload missing
    [InlineData(2000)] // most of the payload missing
    [InlineData(LogRecordFormat.HeaderSize + 2000 - 10)] // only the first 10 bytes of the header written
    public async Task ATornLastRecord_IsReportedAsTornTail_AndCutOffWhenTheLogIsOpened(int missingBytes)
    {
        await AppendAsync(3);
        var segment = SegmentFiles.List(_directory).Single().Path;
        var thirdAt = 2 * (LogRecordFormat.HeaderSize + Payload(0).Length);
        using (var file = File.OpenHandle(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, RandomAccess.GetLength(file) - missingBytes);
        }

        var items = await ReadAll();
        Assert.Equal(new long[] { 1, 2 }, items.OfType<LogRecord>().Select(r => r.Sequence));
        var fault = Assert.IsType<LogFault>(items[^1]);
        Assert.Equal((LogFaultKind.TornTail, segment, thirdAt), (fault.Kind, fault.Segment, fault.Offset));

        // A record shorter than the torn one: had the torn bytes not been cut, what is left of them would follow it.
        var shorter = Payload(30)[..100];
        await using (var log = await Open())
        {
            Assert.Equal(thirdAt, log.CutTail?.Offset);
            Assert.Equal(3, (await log.AppendAsync(shorter, Token)).Sequence);
        }

        var after = await ReadAll();
        Assert.All(after, item => Assert.IsType<LogRecord>(item));
        Assert.Equal(shorter, after.Cast<LogRecord>().Last().Payload.ToArray());
    }

    [Theory]
    [InlineData(LogRecordFormat.HeaderSize + 100)] // in the payload: the header's length still frames the record
    [InlineData(5)] // in the header's length: the reader must search for the next header
    [InlineData(0)] // in the magic
    public async Task ACorruptedRecordInTheMiddle_IsReportedWithItsSegmentAndOffset_AndTheRecordsAfterItAreStillRead(int byteInRecord)
    {
        await AppendAsync(5);
        var segment = SegmentFiles.List(_directory).Single().Path;
        var recordBytes = LogRecordFormat.HeaderSize + Payload(0).Length;
        var thirdAt = 2L * recordBytes;
        FlipByte(segment, thirdAt + byteInRecord);

        var items = await ReadAll();
        Assert.Equal(new long[] { 1, 2, 4, 5 }, items.OfType<LogRecord>().Select(r => r.Sequence));
        Assert.All(items.OfType<LogRecord>(), r => Assert.Equal(Payload((int)r.Sequence - 1), r.Payload.ToArray()));
        var fault = Assert.Single(items.OfType<LogFault>());
        Assert.Equal((LogFaultKind.Corrupt, segment, thirdAt, (long)recordBytes), (fault.Kind, fault.Segment, fault.Offset, fault.Length));
        Assert.Equal(3, items.IndexOf(fault) + 1);

        // Nothing after it is cut: the next append follows the last intact record.
        await using var log = await Open();
        Assert.Null(log.CutTail);
        Assert.Equal(6, (await log.AppendAsync(Payload(5), Token)).Sequence);
    }

    [Fact]
    public async Task ADamagedEndOfAnOlderSegment_IsReportedAsCorrupt_NotAsATornTail()
    {
        var recordBytes = LogRecordFormat.HeaderSize + Payload(0).Length;
        await AppendAsync(4, segmentBytes: 2 * recordBytes);
        var first = SegmentFiles.List(_directory)[0].Path;
        FlipByte(first, recordBytes + LogRecordFormat.HeaderSize + 1);

        var items = await ReadAll();
        var fault = Assert.Single(items.OfType<LogFault>());
        Assert.Equal((LogFaultKind.Corrupt, first, (long)recordBytes), (fault.Kind, fault.Segment, fault.Offset));
        Assert.Equal(new long[] { 1, 3, 4 }, items.OfType<LogRecord>().Select(r => r.Sequence));
    }

    public void Dispose()
    {
        _timeout.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A payload of 2,000 bytes that differs for every <paramref name="seed"/>.</summary>
    private static byte[] Payload(int seed)
    {
        var payload = new byte[2000];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    private Task<SegmentLog> Open(long segmentBytes = 64L << 20) =>
        SegmentLog.OpenAsync(new SegmentLogOptions(_directory) { SegmentBytes = segmentBytes }, Token);

    private async Task AppendAsync(int count, long segmentBytes = 64L << 20)
    {
        await using var log = await Open(segmentBytes);
        for (var i = 0; i < count; i++)
        {
            await log.AppendAsync(Payload(i), Token);
        }
    }

    private async Task<List<LogItem>> ReadAll(long fromSequence = 1)
    {
        var items = new List<LogItem>();
        await foreach (var item in SegmentLogReader.ReadAsync(_directory, fromSequence, Token))
        {
            items.Add(item);
        }

        return items;
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        RandomAccess.Read(file, one, offset);
        one[0] ^= 0x5A;
        RandomAccess.Write(file, one, offset);
    }
}
