using System.Buffers.Binary;
using System.IO.Compression;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Store.Log;
using Hubgate.Testing;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Storage;

/// <summary>Webhook bodies compressed for SQLite: every fixture comes back byte for byte, and old rows still read.</summary>
public sealed class BodyCodecTests
{
    [Fact]
    public void EveryFixture_RoundTrips_AndThoseOverOneKiBAreStoredInLessThanHalfTheBytes()
    {
        foreach (var fixture in WebhookFixtures.All())
        {
            var stored = BodyCodec.Encode(fixture.Body);
            Assert.Equal(fixture.Body, BodyCodec.Decode(stored));
            if (fixture.Body.Length >= BodyCodec.CompressFrom)
            {
                Assert.True(BodyCodec.IsEncoded(stored), fixture.Name);
                // LZ4 (fast): 2.4× to 3.4× on the fixtures over 1 KiB.
                Assert.True(stored.Length * 2 < fixture.Body.Length, $"{fixture.Name}: {fixture.Body.Length} → {stored.Length} bytes");
            }
        }
    }

    [Fact]
    public void SmallLargeAndIncompressibleBodies_AreStoredAsTheyAre_AndRawBodiesDecodeToThemselves()
    {
        byte[] small = [.. "{\"zen\":\"Keep it logically awesome.\"}"u8];
        var large = new byte[BodyCodec.CompressBelow];
        Array.Fill(large, (byte)' ');
        var random = new byte[8192];
        new Random(7).NextBytes(random);
        random[0] = (byte)'{';

        Assert.Same(small, BodyCodec.Encode(small));
        Assert.Same(large, BodyCodec.Encode(large));
        Assert.Same(random, BodyCodec.Encode(random));
        Assert.Same(random, BodyCodec.Decode(random)); // a body stored before compression existed
    }

    [Fact]
    public void BodiesStartingWithAZeroByte_RoundTrip_WhateverTheirSize()
    {
        byte[] small = [0x00, 0x01, 0x02];
        byte[] compressible = [0x00, 0x01, .. Enumerable.Repeat((byte)'a', 4096)];
        byte[] large = [0x00, .. new byte[BodyCodec.CompressBelow]];

        Assert.Equal(small, BodyCodec.Decode(BodyCodec.Encode(small)));
        Assert.Equal(compressible, BodyCodec.Decode(BodyCodec.Encode(compressible)));
        Assert.Equal(large, BodyCodec.Decode(BodyCodec.Encode(large)));
        Assert.True(BodyCodec.IsEncoded(BodyCodec.Encode(compressible)));
        Assert.Throws<InvalidDataException>(() => BodyCodec.Decode([0x00, 0x07, 1, 2, 3, 4, 5, 6]));
    }

    [Fact]
    public void BodiesBrotliCompressedByEarlierVersions_StillRead_AndNewOnesAreLz4()
    {
        var body = WebhookFixtures.Load("push", "with-new-branch.payload.json");
        var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(body.Length)];
        Assert.True(BrotliEncoder.TryCompress(body, compressed, out var written, quality: 1, window: 22));
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, body.Length);
        byte[] brotli = [0x00, 0x01, .. length, .. compressed.AsSpan(0, written)];

        Assert.True(BodyCodec.IsEncoded(brotli));
        Assert.Equal(body, BodyCodec.Decode(brotli));
        Assert.Throws<InvalidDataException>(() => BodyCodec.Decode(brotli[..^10]));

        var stored = BodyCodec.Encode(body);
        Assert.Equal([0x00, 0x02], stored[..2]);
        Assert.True(stored.Length < body.Length / 3, $"{body.Length} → {stored.Length} bytes");
    }

    [Fact]
    public void DamagedCompressedBody_FailsLoudly()
    {
        var stored = BodyCodec.Encode(WebhookFixtures.Load("push", "with-new-branch.payload.json"));
        Assert.Throws<InvalidDataException>(() => BodyCodec.Decode(stored[..^10]));

        var wrongLength = (byte[])stored.Clone();
        wrongLength[2] ^= 0x01;
        Assert.Throws<InvalidDataException>(() => BodyCodec.Decode(wrongLength));

        var garbled = (byte[])stored.Clone();
        garbled.AsSpan(20, 64).Fill(0xFF);
        Assert.Throws<InvalidDataException>(() => BodyCodec.Decode(garbled));

        // Any damage past the header either still decodes to a body of the recorded length or fails as a damaged row;
        // never another exception, never a read past the buffer.
        var random = new Random(16);
        for (var i = 0; i < 500; i++)
        {
            var damaged = (byte[])stored.Clone();
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                damaged[random.Next(6, damaged.Length)] = (byte)random.Next(256);
            }

            try
            {
                Assert.Equal(8827, BodyCodec.Decode(damaged).Length);
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Inbox_StoresBodiesCompressedOnSqlite_OrInTheDeliveryLog_AsTheyCameOnPostgres_AndEveryReadGetsTheOriginal(bool log)
    {
        var settings = Settings();
        settings["Webhooks:Log"] = log ? "true" : "false";
        settings["Webhooks:LogBodiesFrom"] = "0"; // the push is 8.8 KB
        await using var services = await TestServices.StartAsync(settings);
        try
        {
            var body = WebhookFixtures.Load("push", "with-new-branch.payload.json");
            Assert.Equal(InboxOutcome.Stored, await StoreAsync(services, "push", body, "compressed"));

            await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "SELECT b.\"Body\", b.\"LogSequence\" FROM webhook_delivery_bodies b JOIN webhook_deliveries d ON d.\"Id\" = b.\"DeliveryPk\" WHERE d.\"DeliveryId\" = 'compressed'";
            byte[] raw;
            long? logSequence;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                raw = (byte[])reader.GetValue(0);
                logSequence = reader.IsDBNull(1) ? null : reader.GetInt64(1);
            }

            await db.Database.CloseConnectionAsync();

            if (TestDatabase.IsPostgres)
            {
                Assert.Equal(body, raw);
                Assert.Null(logSequence);
            }
            else if (log)
            {
                // In the log, durable before the row was written: the row keeps only where.
                Assert.Empty(raw);
                Assert.Equal(1, logSequence);
                Assert.Single(services.Get<DeliveryLog>().Segments());
            }
            else
            {
                Assert.True(BodyCodec.IsEncoded(raw));
                Assert.True(raw.Length * 5 < body.Length * 2, $"{body.Length} → {raw.Length} bytes");
                Assert.Null(logSequence);
            }

            var stored = await ReadAsync(services, "compressed");
            Assert.Equal(body, (await services.Get<DeliveryStore>().LoadAsync([stored.Id], CancellationToken.None))[stored.Id].Body);
        }
        finally
        {
            services.DeleteFiles();
        }
    }
}
