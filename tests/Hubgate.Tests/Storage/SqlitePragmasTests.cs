using Hubgate.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Storage;

/// <summary>
/// Every SQLite connection Hubgate opens waits for the write lock, syncs commits in full and enforces foreign keys —
/// on its first open and on every reuse from the pool, where the settings are not applied again.
/// </summary>
public sealed class SqlitePragmasTests : IAsyncDisposable
{
    private readonly ScratchSqliteStorage _storage = new();

    [Fact]
    public async Task Settings_HoldOnFirstOpen_OnPooledReuse_AndOnNewNativeConnections()
    {
        var factory = _storage.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        for (var round = 0; round < 2; round++)
        {
            for (var open = 0; open < 3; open++)
            {
                await using var db = await factory.CreateDbContextAsync();
                Assert.Equal((10_000L, 2L, 1L), await SettingsAsync(db));
            }

            // Two at once: the second is a new native connection, not the pooled one.
            await using var first = await factory.CreateDbContextAsync();
            await using var second = await factory.CreateDbContextAsync();
            await first.Database.OpenConnectionAsync();
            Assert.Equal((10_000L, 2L, 1L), await SettingsAsync(second));
            await first.Database.CloseConnectionAsync();

            SqliteConnection.ClearAllPools(); // the next round starts from new native connections
        }
    }

    private static async Task<(long BusyTimeout, long Synchronous, long ForeignKeys)> SettingsAsync(HubgateDbContext db)
    {
        await db.Database.OpenConnectionAsync();
        try
        {
            var connection = db.Database.GetDbConnection();
            async Task<long> Pragma(string name)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {name}";
                return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            }

            return (await Pragma("busy_timeout"), await Pragma("synchronous"), await Pragma("foreign_keys"));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public ValueTask DisposeAsync() => _storage.DisposeAsync();
}
