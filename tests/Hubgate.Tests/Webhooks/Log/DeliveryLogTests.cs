using Hubgate.Storage;
using Hubgate.Testing;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Store.Log;
using Microsoft.EntityFrameworkCore;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks.Log;

/// <summary>
/// SQLite's delivery log under the inbox: bodies durable in the log before the rows are written (without a sync of
/// their own); what a crash takes from the database indexed again from the log at start, once; damaged records reported
/// and never indexed; bodies stored before the log still read; sealed segments deleted once no stored delivery reads them.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class DeliveryLogTests
{
    private static readonly byte[] Push = WebhookFixtures.Load("push", "with-new-branch.payload.json");

    /// <summary>Every body in the log, whatever its size: the default, set here so these tests keep it whatever the default becomes.</summary>
    private static Dictionary<string, string?> Logged()
    {
        var settings = Settings();
        settings["Webhooks:LogBodiesFrom"] = "0";
        return settings;
    }

    private static byte[] Body(int n) => System.Text.Encoding.UTF8.GetBytes($"{{\"action\":\"started\",\"n\":{n},\"pad\":\"{new string('x', 500)}\"}}");

    [Fact]
    public async Task RecordsTheDatabaseLostInACrash_AreIndexedOnceAtStart_WithTheirBodies_AndATornTailIsCut()
    {
        var first = await TestServices.StartAsync(Logged());
        var directory = first.Directory;
        Assert.Equal(InboxOutcome.Stored, await StoreAsync(first, "push", Push, "kept"));
        var kept = Delivery(first, "push", Push, "kept");
        var lost = new[] { Delivery(first, "watch", Body(1), "lost-1"), Delivery(first, "watch", Body(2), "lost-2") };
        var logDirectory = first.Get<DeliveryLog>().Directory!;
        await first.DisposeAsync();

        // What a crash leaves: records appended and synced (acknowledged), whose rows' commit never reached the disk —
        // and a redelivery of a stored one — then a record torn mid-write.
        await using (var log = await SegmentLog.OpenAsync(new SegmentLogOptions(logDirectory)))
        {
            foreach (var delivery in lost.Append(kept))
            {
                await log.AppendAsync(LoggedDelivery.Encode(delivery));
            }
        }

        var segment = SegmentFiles.List(logDirectory)[^1].Path;
        await File.AppendAllBytesAsync(segment, [.. LogRecordFormat.MagicBytes, 1, 2, 3]);

        await using var second = await TestServices.StartAsync(Logged(), directory: directory);
        try
        {
            await second.Get<WebhookInbox>().ReadyOrTryAgainAsync();

            await using var db = await second.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            var rows = await db.WebhookDeliveries.AsNoTracking().OrderBy(d => d.Id).ToListAsync();
            Assert.Equal(["kept", "lost-1", "lost-2"], rows.Select(r => r.DeliveryId));
            Assert.Equal(4, (await db.WebhookLog.SingleAsync()).IndexedThrough);
            var loaded = await second.Get<DeliveryStore>().LoadAsync(rows.Select(r => r.Id).ToList(), CancellationToken.None);
            Assert.Equal([Push, Body(1), Body(2)], rows.Select(r => loaded[r.Id].Body));
            Assert.InRange((lost[0].ReceivedAt - rows[1].ReceivedAt).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1)); // the column keeps less than ticks
            Assert.Equal("watch", rows[1].Event);
            Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 305 && r.Message.Contains(Path.GetFileName(segment), StringComparison.Ordinal));
            Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 308);

            // The next delivery goes on after the records read again, and the torn bytes are gone from the file.
            Assert.Equal(InboxOutcome.Stored, await StoreAsync(second, "watch", Body(3), "after"));
            var after = await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.DeliveryId == "after");
            Assert.Equal(Body(3), (await second.Get<DeliveryStore>().LoadAsync([after.Id], CancellationToken.None))[after.Id].Body);
            Assert.Equal(5, (await db.WebhookLog.AsNoTracking().SingleAsync()).IndexedThrough);
        }
        finally
        {
            second.DeleteFiles();
        }
    }

    [Fact]
    public async Task ACorruptRecordInTheMiddle_IsReportedWithItsPlace_NeverIndexed_AndTheRecordsAfterItAre()
    {
        var first = await TestServices.StartAsync(Logged());
        var directory = first.Directory;
        var deliveries = Enumerable.Range(1, 3).Select(n => Delivery(first, "watch", Body(n), $"rec-{n}")).ToList();
        var logDirectory = first.Get<DeliveryLog>().Directory!;
        await first.Get<WebhookInbox>().ReadyOrTryAgainAsync(); // creates the log, empty
        await first.DisposeAsync();

        var positions = new List<LogPosition>();
        await using (var log = await SegmentLog.OpenAsync(new SegmentLogOptions(logDirectory)))
        {
            foreach (var delivery in deliveries)
            {
                positions.Add(await log.AppendAsync(LoggedDelivery.Encode(delivery)));
            }
        }

        var segment = SegmentFiles.List(logDirectory)[^1].Path;
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = positions[1].Offset + LogRecordFormat.HeaderSize + 40; // inside the second record's payload
            file.WriteByte(0xFF);
        }

        await using var second = await TestServices.StartAsync(Logged(), directory: directory);
        try
        {
            await second.Get<WebhookInbox>().ReadyOrTryAgainAsync();

            await using var db = await second.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            Assert.Equal(["rec-1", "rec-3"], await db.WebhookDeliveries.OrderBy(d => d.Id).Select(d => d.DeliveryId).ToListAsync());
            var damaged = Assert.Single(second.Logs.GetSnapshot(), r => r.Id.Id == 306);
            Assert.Contains($"offset {positions[1].Offset}", damaged.Message, StringComparison.Ordinal);
            Assert.Contains(Path.GetFileName(segment), damaged.Message, StringComparison.Ordinal);
        }
        finally
        {
            second.DeleteFiles();
        }
    }

    [Fact]
    public async Task BodiesStoredBeforeTheLog_AndInIt_AreBothRead_AndTurningItOffKeepsReadingIt()
    {
        var off = Logged();
        off["Webhooks:Log"] = "false";
        var first = await TestServices.StartAsync(off);
        var directory = first.Directory;
        await StoreAsync(first, "push", Push, "before-the-log");
        await first.DisposeAsync();

        var second = await TestServices.StartAsync(Logged(), directory: directory);
        await StoreAsync(second, "watch", Body(1), "in-the-log");
        await second.DisposeAsync();

        await using var third = await TestServices.StartAsync(off, directory: directory);
        try
        {
            await StoreAsync(third, "watch", Body(2), "after-the-log");
            var store = third.Get<DeliveryStore>();
            var loaded = await store.LoadAsync([1, 2, 3], CancellationToken.None);

            Assert.Equal([Push, Body(1), Body(2)], [loaded[1].Body, loaded[2].Body, loaded[3].Body]);
            Assert.Equal([null, 1L, null], [loaded[1].LogSequence, loaded[2].LogSequence, loaded[3].LogSequence]);
        }
        finally
        {
            third.DeleteFiles();
        }
    }

    /// <summary>Forty 8.8 KB pushes stored one at a time, so each is its own record: about seven to a 64 KiB segment.</summary>
    private static async Task<TestServices> FortyPushesInSmallSegmentsAsync()
    {
        var settings = Logged();
        settings["Webhooks:LogSegmentBytes"] = "65536";
        var services = await TestServices.StartAsync(settings);
        for (var n = 0; n < 40; n++)
        {
            await StoreAsync(services, "push", Push, $"push-{n}");
        }

        return services;
    }

    [Fact]
    public async Task Trim_DeletesTheSealedSegmentsNoStoredDeliveryReads_AndTheRestStillRead()
    {
        await using var services = await FortyPushesInSmallSegmentsAsync();
        try
        {

            var log = services.Get<DeliveryLog>();
            var store = services.Get<DeliveryStore>();
            var before = log.Segments();
            Assert.InRange(before.Count, 5, 8);
            var longAgo = services.Time.GetUtcNow().AddDays(-30);
            Assert.Equal(0, await store.TrimLogAsync(longAgo, CancellationToken.None)); // every delivery still stored

            // Retention took the oldest 30 (as its pass does: the rows and their bodies).
            await using (var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
            {
                await db.Database.ExecuteSqlRawAsync("DELETE FROM webhook_delivery_bodies WHERE \"DeliveryPk\" <= 30");
                await db.Database.ExecuteSqlRawAsync("DELETE FROM webhook_deliveries WHERE \"Id\" <= 30");
            }

            var deleted = await store.TrimLogAsync(longAgo, CancellationToken.None);

            var after = log.Segments();
            Assert.Equal(before.Count - deleted, after.Count);
            Assert.True(deleted >= 3, $"{deleted} of {before.Count} segments deleted");
            Assert.True(after[0].FirstSequence <= 31, "the segment holding the oldest delivery still stored is kept");
            var loaded = await store.LoadAsync(Enumerable.Range(31, 10).Select(i => (long)i).ToList(), CancellationToken.None);
            Assert.All(loaded.Values, d => Assert.Equal(Push, d.Body));
            Assert.Equal(10, loaded.Count);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task AnOldDeliveryStillStored_HasItsBodyMovedIntoTheDatabase_SoTheSegmentsAfterItsGo()
    {
        await using var services = await FortyPushesInSmallSegmentsAsync();
        try
        {

            var log = services.Get<DeliveryLog>();
            var store = services.Get<DeliveryStore>();
            var before = log.Segments();
            var now = services.Time.GetUtcNow();
            await using (var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
            {
                // Retention took 2..30; delivery 1 is still owed (a paused subscription, say) and 20 days old.
                await db.Database.ExecuteSqlRawAsync("DELETE FROM webhook_delivery_bodies WHERE \"DeliveryPk\" BETWEEN 2 AND 30");
                await db.Database.ExecuteSqlRawAsync("DELETE FROM webhook_deliveries WHERE \"Id\" BETWEEN 2 AND 30");
                var old = await db.WebhookDeliveries.SingleAsync(d => d.Id == 1);
                old.ReceivedAt = now.AddDays(-20);
                await db.SaveChangesAsync();
            }

            // Kept within the cut-off, the old delivery holds back every segment: nothing goes.
            Assert.Equal(0, await store.TrimLogAsync(now.AddDays(-30), CancellationToken.None));

            // Past it (Webhooks:Retention, 14 days): its body moves into the database, and the segments up to the next
            // delivery still stored go.
            var deleted = await store.TrimLogAsync(now.AddDays(-14), CancellationToken.None);
            Assert.True(deleted >= 3, $"{deleted} of {before.Count} segments deleted");
            Assert.DoesNotContain(log.Segments(), s => s.FirstSequence == 1);
            await using (var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
            {
                var moved = await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.Id == 1);
                Assert.Null(moved.LogSequence);
                Assert.Null(moved.LogOffset);
                Assert.Equal(Push, moved.Body); // from the database's column (the codec decodes it), not from the log
            }

            var loaded = await store.LoadAsync([1L, .. Enumerable.Range(31, 10).Select(i => (long)i)], CancellationToken.None);
            Assert.Equal(11, loaded.Count);
            Assert.All(loaded.Values, d => Assert.Equal(Push, d.Body));
            Assert.Equal(0, await store.TrimLogAsync(now.AddDays(-14), CancellationToken.None)); // nothing more to move or delete
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task ASecondServiceOnTheSameDatabase_IsRefusedTheLog_AndStoresItsBodiesInTheDatabase_WhichBothRead()
    {
        await using var owner = await TestServices.StartAsync(Logged());
        try
        {
            await using var other = new DeliveryLog(Microsoft.Extensions.Options.Options.Create(owner.Get<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value),
                Microsoft.Extensions.Options.Options.Create(new WebhookOptions()));
            await StoreAsync(owner, "watch", Body(1), "by-the-owner");

            var refused = await Assert.ThrowsAsync<DeliveryLogInUseException>(() => other.OpenAsync(0, CancellationToken.None));
            Assert.Contains(owner.Get<DeliveryLog>().Directory!, refused.Message, StringComparison.Ordinal);

            // A second service on the same file: warned once, and its deliveries' bodies go to the database.
            await using var second = await TestServices.StartAsync(Logged(), directory: owner.Directory);
            Assert.Equal(InboxOutcome.Stored, await StoreAsync(second, "watch", Body(2), "by-the-second"));
            Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 341);
            var loaded = await second.Get<DeliveryStore>().LoadAsync([1, 2], CancellationToken.None);
            Assert.Equal(1, loaded[1].LogSequence);
            Assert.Null(loaded[2].LogSequence);
            Assert.Equal([Body(1), Body(2)], [loaded[1].Body, loaded[2].Body]);
        }
        finally
        {
            owner.DeleteFiles();
        }
    }

    [Fact]
    public async Task DiskFullWhileAppending_FailsThatStore_LosesNothingAcknowledged_AndIngestResumesWhenSpaceReturns()
    {
        // A real full disk: the log on a 256 KiB tmpfs, most of it taken by a file that is removed later.
        var mount = Path.Combine(Path.GetTempPath(), "hubgate-full-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(mount);
        await RunAsync("mount", $"-t tmpfs -o size=256k tmpfs {mount}");
        try
        {
            var settings = Logged();
            settings["Webhooks:LogDirectory"] = Path.Combine(mount, "log");
            await using var services = await TestServices.StartAsync(settings);
            try
            {
                var filler = Path.Combine(mount, "filler");
                await File.WriteAllBytesAsync(filler, new byte[200 * 1024]);
                var acknowledged = new List<string>();
                DeliveryStoreException? full = null;
                for (var n = 0; n < 20 && full is null; n++)
                {
                    try
                    {
                        Assert.Equal(InboxOutcome.Stored, await StoreAsync(services, "push", Push, $"full-{n}"));
                        acknowledged.Add($"full-{n}");
                    }
                    catch (DeliveryStoreException e)
                    {
                        full = e; // the receiver answers 503 for it
                    }
                }

                Assert.NotNull(full);
                Assert.InRange(acknowledged.Count, 1, 10);
                Assert.Contains(services.Logs.GetSnapshot(), r => r.Id.Id == 301 && r.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase));

                File.Delete(filler); // space returns
                Assert.Equal(InboxOutcome.Stored, await StoreAsync(services, "push", Push, "after-space-returned"));
                acknowledged.Add("after-space-returned");

                await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
                var rows = await db.WebhookDeliveries.AsNoTracking().OrderBy(d => d.Id).ToListAsync();
                Assert.Equal(acknowledged, rows.Select(r => r.DeliveryId));
                var loaded = await services.Get<DeliveryStore>().LoadAsync(rows.Select(r => r.Id).ToList(), CancellationToken.None);
                Assert.All(loaded.Values, d => Assert.Equal(Push, d.Body));

                // Nothing the failed append half-wrote is left to be read back: the log holds exactly the acknowledged.
                var records = new List<long>();
                await foreach (var item in services.Get<DeliveryLog>().ReadAfterAsync(0, CancellationToken.None))
                {
                    records.Add(Assert.IsType<LogRecord>(item).Sequence);
                }

                Assert.Equal(rows.Select(r => loaded[r.Id].LogSequence!.Value), records);
            }
            finally
            {
                services.DeleteFiles();
            }
        }
        finally
        {
            await RunAsync("umount", mount);
            System.IO.Directory.Delete(mount, recursive: true);
        }
    }

    private static async Task RunAsync(string command, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, arguments)
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, $"{command} {arguments} failed ({process.ExitCode}): {error} (this test needs root, as the suite's machine gives)");
    }

    [Fact]
    public async Task ByDefault_EveryBody_GoesToTheLog_AndItsRowHoldsOnlyWhere()
    {
        await using var services = await TestServices.StartAsync(Settings());
        try
        {
            Assert.Equal(InboxOutcome.Stored, await StoreAsync(services, "watch", Body(1), "tiny"));
            Assert.Equal(InboxOutcome.Stored, await StoreAsync(services, "push", Push, "push"));
            await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            var rows = await db.WebhookDeliveries.AsNoTracking().ToDictionaryAsync(d => d.DeliveryId);
            Assert.All(rows.Values, r => Assert.NotNull(r.LogSequence));
            var loaded = await services.Get<DeliveryStore>().LoadAsync(rows.Values.Select(r => r.Id).ToList(), CancellationToken.None);
            Assert.Equal(Body(1), loaded[rows["tiny"].Id].Body);
            Assert.Equal(Push, loaded[rows["push"].Id].Body);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task WithAThreshold_OnlyBodiesFromIt_GoToTheLog_AndABatchOfBoth_IsStoredAndReadByteForByte()
    {
        var settings = Settings();
        settings["Webhooks:LogBodiesFrom"] = "65536";
        await using var services = await TestServices.StartAsync(settings);
        try
        {
            var large = System.Text.Encoding.UTF8.GetBytes($"{{\"zen\":\"{new string('z', 70 * 1024)}\"}}");
            // Concurrent, so that the writer is likely to take both kinds in one batch (one synced commit then).
            var stored = await Task.WhenAll(
                StoreAsync(services, "push", Push, "small"), StoreAsync(services, "ping", large, "large"),
                StoreAsync(services, "watch", Body(1), "smaller"), StoreAsync(services, "ping", large.Reverse().ToArray(), "large-2"));

            Assert.All(stored, s => Assert.Equal(InboxOutcome.Stored, s));
            await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            var rows = await db.WebhookDeliveries.AsNoTracking().ToDictionaryAsync(d => d.DeliveryId);
            Assert.Null(rows["small"].LogSequence);
            Assert.Null(rows["smaller"].LogSequence);
            Assert.NotNull(rows["large"].LogSequence);
            Assert.NotNull(rows["large-2"].LogSequence);
            var loaded = await services.Get<DeliveryStore>().LoadAsync(rows.Values.Select(r => r.Id).ToList(), CancellationToken.None);
            Assert.Equal(Push, loaded[rows["small"].Id].Body);
            Assert.Equal(large, loaded[rows["large"].Id].Body);
            Assert.Equal(large.Reverse(), loaded[rows["large-2"].Id].Body);
            Assert.Equal(2, (await db.WebhookLog.SingleAsync()).IndexedThrough);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task TheLogsFolder_IsAsPrivateAsTheDatabase_OwnerOnly_EvenWhereItExistedOpenBefore()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes
        }

        var settings = Logged();
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"), "elsewhere");
        System.IO.Directory.CreateDirectory(directory); // an operator's folder, 0755
        settings["Webhooks:LogDirectory"] = directory;
        await using var services = await TestServices.StartAsync(settings);
        try
        {
            await StoreAsync(services, "watch", Body(1), "private");

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        }
        finally
        {
            services.DeleteFiles();
            System.IO.Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);
        }
    }

    [Fact]
    public void ARecord_RoundTripsEveryField_AndTruncatedBytesAreRefused()
    {
        var delivery = new WebhookDeliveryEntity
        {
            App = "ghes", DeliveryId = "d-1", Event = "pull_request", Action = "closed", InstallationId = 42, RepositoryId = null, HookId = 7,
            RepositoryFullName = "octo/d\u00e9mo", ReceivedAt = new DateTimeOffset(2026, 12, 7, 23, 59, 1, 123, TimeSpan.Zero).AddTicks(4567),
            BodySha256 = "abc", HeadersJson = null, Body = Push,
        };

        var record = LoggedDelivery.Encode(delivery);
        var back = LoggedDelivery.Decode(record);

        Assert.Equivalent(delivery, back, strict: true);
        Assert.Equal(Push, LoggedDelivery.Body(record).ToArray());
        Assert.Throws<InvalidDataException>(() => LoggedDelivery.Decode(record.AsSpan(0, 30)));
        Assert.Throws<InvalidDataException>(() => LoggedDelivery.Body(record.AsMemory(0, record.Length - 1)));
    }
}
