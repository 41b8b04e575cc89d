using Hubgate.Storage;
using Hubgate.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Storage;

/// <summary>
/// Upgrading a database that already holds deliveries keeps every one of them, bodies included, on the provider of
/// this pass (SQLite, or the throwaway PostgreSQL).
/// </summary>
public sealed class MigrationTests : IAsyncDisposable
{
    private const string BodiesApart = "DeliveryBodiesApart";

    /// <summary>A 100 KB body as stored before bodies were compressed (as the receiver stores them, a JSON object).</summary>
    private static readonly byte[] LargeJson =
        System.Text.Encoding.UTF8.GetBytes("{\"data\":\"" + string.Concat(Enumerable.Range(0, 10_000).Select(i => i.ToString("D10", System.Globalization.CultureInfo.InvariantCulture))) + "\"}");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"));
    private readonly ServiceProvider _services;

    public MigrationTests()
    {
        Directory.CreateDirectory(_directory);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(TestDatabase.Settings(_directory)).Build();
        _services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration)
            .AddHubgateStorage(configuration).BuildServiceProvider();
    }

    [Fact]
    public async Task BodiesMovedToTheirOwnTable_EveryStoredBodyIsKept_AndSequencesGoOn()
    {
        await using (var db = await CreateAsync())
        {
            var before = db.Database.GetMigrations().TakeWhile(m => !m.EndsWith(BodiesApart, StringComparison.Ordinal)).Last();
            await db.GetService<IMigrator>().MigrateAsync(before);
            await InsertOldStyleAsync(db, 1, "old-1", [0x7b, 0x7d]);
            await InsertOldStyleAsync(db, 2, "old-2", LargeJson);
        }

        await _services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);

        await using (var db = await CreateAsync())
        {
            var stored = await db.WebhookDeliveries.AsNoTracking().OrderBy(d => d.Id).ToListAsync();
            Assert.Equal(["old-1", "old-2"], stored.Select(d => d.DeliveryId));
            Assert.Equal([0x7b, 0x7d], stored[0].Body);
            Assert.Equal(LargeJson, stored[1].Body);

            db.WebhookDeliveries.Add(new WebhookDeliveryEntity { DeliveryId = "new-1", Event = "ping", Body = [0x7b, 0x7d], BodySha256 = "n" });
            await db.SaveChangesAsync();
            Assert.Equal(3, (await db.WebhookDeliveries.SingleAsync(d => d.DeliveryId == "new-1")).Id);
        }
    }

    [Fact]
    public async Task BodiesApart_RolledBack_PutsTheBodiesBackInTheRow()
    {
        await _services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        await using (var db = await CreateAsync())
        {
            db.WebhookDeliveries.Add(new WebhookDeliveryEntity { DeliveryId = "d-1", Event = "ping", Body = [1, 2, 3], BodySha256 = "h" });
            await db.SaveChangesAsync();
        }

        await using (var db = await CreateAsync())
        {
            var before = db.Database.GetMigrations().TakeWhile(m => !m.EndsWith(BodiesApart, StringComparison.Ordinal)).Last();
            await db.GetService<IMigrator>().MigrateAsync(before);
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT \"Body\" FROM webhook_deliveries WHERE \"DeliveryId\" = 'd-1'";
            Assert.Equal([1, 2, 3], (byte[])(await command.ExecuteScalarAsync())!);
        }
    }

    private async Task<HubgateDbContext> CreateAsync() =>
        await _services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();

    /// <summary>A delivery as the schema before the split stored it: the body in the row.</summary>
    private static async Task InsertOldStyleAsync(HubgateDbContext db, long id, string deliveryId, byte[] body)
    {
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText =
            "INSERT INTO webhook_deliveries (\"Id\", \"DeliveryId\", \"Event\", \"ReceivedAt\", \"Body\", \"BodySha256\", \"State\", \"Attempts\", " +
            "\"AttemptsAtReplay\", \"NextAttemptAt\") VALUES (@id, @delivery, 'ping', @at, @body, 'h', 'Pending', 0, 0, @at)";
        void Add(string name, object value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        Add("@id", id);
        Add("@delivery", deliveryId);
        Add("@body", body);
        Add("@at", db.IsPostgres ? DateTimeOffset.UtcNow : new DateTimeOffsetToBinaryConverter().ConvertToProvider(DateTimeOffset.UtcNow)!);
        await command.ExecuteNonQueryAsync();
        if (db.IsPostgres)
        {
            // An explicit id does not move PostgreSQL's identity sequence; the application never gives one.
            await db.Database.ExecuteSqlRawAsync("SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'Id'), 2)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        TestDatabase.Delete(_directory);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
