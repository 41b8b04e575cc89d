using Hubgate.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Storage;

/// <summary>
/// The in-process queue for SQLite write transactions: held from a transaction's start to its end, whichever way it
/// ends, and never left held — a leak would make every later writer wait out the busy timeout.
/// </summary>
public sealed class SqliteWriteGateTests : IAsyncDisposable
{
    private readonly ScratchSqliteStorage _storage = new();
    private readonly IDbContextFactory<HubgateDbContext> _factory;
    private readonly SqliteWriteGate _gate;

    public SqliteWriteGateTests()
    {
        _factory = _storage.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        _gate = _storage.Services.GetRequiredService<SqliteWriteGate>();
    }

    [Fact]
    public async Task Gate_IsHeldForATransaction_AndGivenBackOnCommit_Rollback_DisposalAndAFailedStatement()
    {
        await ScratchTableAsync();

        await using (var db = await _factory.CreateDbContextAsync())
        {
            var transaction = await db.Database.BeginTransactionAsync();
            Assert.True(_gate.IsHeld);
            await db.Database.ExecuteSqlRawAsync("INSERT INTO scratch (x) VALUES (1)");
            await transaction.CommitAsync();
            Assert.False(_gate.IsHeld);
        }

        await using (var db = await _factory.CreateDbContextAsync())
        {
            using var transaction = db.Database.BeginTransaction();
            Assert.True(_gate.IsHeld);
            transaction.Rollback();
            Assert.False(_gate.IsHeld);
        }

        // Disposed without a commit or rollback (an exception in the middle), on a connection opened by hand: the gate
        // goes back at the latest when the context lets the connection go.
        await using (var db = await _factory.CreateDbContextAsync())
        {
            await db.Database.OpenConnectionAsync();
            await using (var transaction = await db.Database.BeginTransactionAsync())
            {
                Assert.True(_gate.IsHeld);
                await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync("INSERT INTO no_such_table (x) VALUES (1)"));
            }
        }

        Assert.False(_gate.IsHeld);

        // SaveChanges' own transaction, and a write with no transaction at all.
        await using (var db = await _factory.CreateDbContextAsync())
        {
            db.Installations.Add(new InstallationEntity { Id = 42, AccountLogin = "octo", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            db.Installations.Add(new InstallationEntity { Id = 43, AccountLogin = "cat", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
            Assert.False(_gate.IsHeld);
            await db.Database.ExecuteSqlRawAsync("INSERT INTO scratch (x) VALUES (2)");
            Assert.False(_gate.IsHeld);
        }

        await using (var db = await _factory.CreateDbContextAsync())
        {
            Assert.Equal(2, await db.Installations.CountAsync());
            Assert.Equal([1L, 2L], await db.Database.SqlQueryRaw<long>("SELECT x AS Value FROM scratch ORDER BY x").ToListAsync());
        }
    }

    [Fact]
    public async Task ConcurrentWriters_EachWaitsItsTurn_AndEveryWriteLands()
    {
        await ScratchTableAsync();
        var writers = Enumerable.Range(1, 8).Select(i => Task.Run(async () =>
        {
            for (var n = 0; n < 10; n++)
            {
                await using var db = await _factory.CreateDbContextAsync();
                await using var transaction = await db.Database.BeginTransactionAsync();
                await db.Database.ExecuteSqlAsync($"INSERT INTO scratch (x) VALUES ({(i * 100) + n})");
                await transaction.CommitAsync();
            }
        }));
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(_gate.IsHeld);
        await using var check = await _factory.CreateDbContextAsync();
        Assert.Equal(80, await check.Database.SqlQueryRaw<long>("SELECT count(*) AS Value FROM scratch").SingleAsync());
    }

    [Fact]
    public async Task TheInboxsTransaction_IsHandedTheGateBeforeOthersWaiting_WhichKeepTheirOrder()
    {
        await ScratchTableAsync();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task Writer(string name, bool first) => Task.Run(async () =>
        {
            await using var db = await _factory.CreateDbContextAsync();
            Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction;
            if (first)
            {
                using (SqliteWriteGate.First())
                {
                    transaction = await db.Database.BeginTransactionAsync();
                }
            }
            else
            {
                transaction = await db.Database.BeginTransactionAsync();
            }

            await using (transaction)
            {
                order.Enqueue(name);
                await db.Database.ExecuteSqlAsync($"INSERT INTO scratch (x) VALUES ({order.Count})");
                await transaction.CommitAsync();
            }
        });

        async Task QueuedAsync(int waiting)
        {
            for (var i = 0; i < 200 && _gate.Waiting < waiting; i++)
            {
                await Task.Delay(10);
            }

            Assert.Equal(waiting, _gate.Waiting);
        }

        List<Task> writers = [];
        await using (var holder = await _factory.CreateDbContextAsync())
        {
            await using var held = await holder.Database.BeginTransactionAsync();
            writers.Add(Writer("state-1", first: false));
            await QueuedAsync(1);
            writers.Add(Writer("state-2", first: false));
            await QueuedAsync(2);
            writers.Add(Writer("inbox", first: true));
            await QueuedAsync(3);
            await held.CommitAsync();
        }

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["inbox", "state-1", "state-2"], order);
        Assert.False(_gate.IsHeld);
    }

    private async Task ScratchTableAsync()
    {
        await using var db = await _factory.CreateDbContextAsync();
        await db.Database.MigrateAsync();
        await db.Database.ExecuteSqlRawAsync("CREATE TABLE IF NOT EXISTS scratch (x INTEGER NOT NULL)");
        Assert.False(_gate.IsHeld);
    }

    public ValueTask DisposeAsync() => _storage.DisposeAsync();
}
