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
/// A database of the single-App schema (the migration before <c>KeyByApp</c>), holding a row in every table that became
/// keyed by App, upgraded on the provider of this pass: every row is kept, under <c>default</c>, with its values and the
/// ids that tie rows together; and a second App can then hold the same installation, repository and delivery ids.
/// </summary>
public sealed class KeyByAppMigrationTests : IAsyncDisposable
{
    private const string KeyByApp = "KeyByApp";
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = "{\"zen\":\"Keep it logically awesome.\"}"u8.ToArray();

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"));
    private readonly ServiceProvider _services;

    public KeyByAppMigrationTests()
    {
        Directory.CreateDirectory(_directory);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(TestDatabase.Settings(_directory)).Build();
        _services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration)
            .AddHubgateStorage(configuration).BuildServiceProvider();
    }

    [Fact]
    public async Task SingleAppDatabase_Migrated_KeepsEveryRowUnderDefault_WithValuesAndRelations()
    {
        var ids = await BuildSingleAppDatabaseAsync();

        await _services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);

        await using var db = await CreateAsync();
        var installations = await db.Installations.AsNoTracking().OrderBy(i => i.Id).ToListAsync();
        Assert.Equal([(StoredApp.Default, 1L), (StoredApp.Default, 2L)], installations.Select(i => (i.App, i.Id)));
        Assert.Equal(("octo-org", "sealed-token", At.AddHours(1), At, InstallationStatus.Active),
            (installations[0].AccountLogin, installations[0].TokenCiphertext, installations[0].TokenExpiresAt, installations[0].TokenMintedAt, installations[0].Status));
        Assert.Equal(("octo-user", InstallationStatus.Suspended, (string?)null), (installations[1].AccountLogin, installations[1].Status, installations[1].TokenCiphertext));

        var repositories = await db.Repositories.AsNoTracking().OrderBy(r => r.Id).ToListAsync();
        Assert.Equal([(StoredApp.Default, 100L, 1L, "octo-org/app", true), (StoredApp.Default, 101L, 2L, "octo-user/lib", false)],
            repositories.Select(r => (r.App, r.Id, r.InstallationId, r.FullName, r.Private)));

        var commit = await db.Commits.AsNoTracking().Include(c => c.FileChanges).SingleAsync();
        Assert.Equal((StoredApp.Default, ids.Commit, 100L, "abc123", "Fix the thing"), (commit.App, commit.Id, commit.RepositoryId, commit.Sha, commit.Message));
        Assert.Equal([("src/a.cs", FileChangeKind.Modified)], commit.FileChanges.Select(f => (f.Path, f.Kind)));

        var pull = await db.PullRequests.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, 100L, 7, "Add a thing", PullRequestState.Merged), (pull.App, pull.RepositoryId, pull.Number, pull.Title, pull.State));

        var push = await db.Pushes.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, 100L, "push-1", "refs/heads/main", 1), (push.App, push.RepositoryId, push.DeliveryId, push.Ref, push.CommitsStored));

        // Since subscriptions, what became of each is the built-in subscription's row (migrated from the inbox's columns).
        var deliveries = await db.LocalDeliveries().OrderBy(d => d.Id).ToListAsync();
        Assert.Equal(
            [
                (StoredApp.Default, ids.Deliveries[0], "d-processed", DeliveryState.Processed, 1, (string?)null),
                (StoredApp.Default, ids.Deliveries[1], "d-dead", DeliveryState.Dead, 5, "downstream said no"),
                (StoredApp.Default, ids.Deliveries[2], "d-pending", DeliveryState.Pending, 0, null),
            ],
            deliveries.Select(d => (d.App, d.Id, d.DeliveryId, d.State, d.Attempts, d.LastError)));
        Assert.All(deliveries, d => Assert.Equal(Body, d.Body));
        Assert.Equal([1L, 1L, 2L], deliveries.Select(d => d.InstallationId ?? 0));

        var recovery = await db.RecoveryRequests.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, "guid-1", 42L, RecoveryOutcome.Requested), (recovery.App, recovery.DeliveryGuid, recovery.HookDeliveryId, recovery.Outcome));

        var client = await db.Clients.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, "ci", "read", true, "[\"octo-org\"]"), (client.App, client.Name, client.AppAccess, client.Tokens, client.Installations));

        var scoped = await db.ScopedTokens.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, 1L, "repos=app", "sealed-scoped"), (scoped.App, scoped.InstallationId, scoped.ScopeKey, scoped.TokenCiphertext));

        var vend = await db.TokenVends.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, "ci", 1L, "repos=app"), (vend.App, vend.Client, vend.InstallationId, vend.Scope));

        var state = await db.AppState.AsNoTracking().SingleAsync();
        Assert.Equal((StoredApp.Default, "github.clock_offset_ms", "1500"), (state.App, state.Key, state.Value));
    }

    [Fact]
    public async Task SingleAppDatabase_Migrated_LetsASecondAppHoldTheSameIds_ButNotTheDefaultAppTwice()
    {
        await BuildSingleAppDatabaseAsync();
        await _services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);

        await using (var db = await CreateAsync())
        {
            const string Ghes = "ghes";
            db.Installations.Add(new InstallationEntity { App = Ghes, Id = 1, AccountLogin = "ghes-org", CreatedAt = At, UpdatedAt = At });
            db.Repositories.Add(new RepositoryEntity { App = Ghes, Id = 100, InstallationId = 1, Name = "app", FullName = "ghes-org/app", CreatedAt = At, UpdatedAt = At });
            db.Commits.Add(new CommitEntity { App = Ghes, RepositoryId = 100, Sha = "abc123", CreatedAt = At });
            db.PullRequests.Add(new PullRequestEntity { App = Ghes, RepositoryId = 100, Number = 7, UpdatedAt = At });
            db.Pushes.Add(new PushEntity { App = Ghes, RepositoryId = 100, DeliveryId = "push-1", Ref = "refs/heads/main", ReceivedAt = At });
            db.WebhookDeliveries.Add(new WebhookDeliveryEntity { App = Ghes, DeliveryId = "d-processed", Event = "ping", Body = Body, BodySha256 = "h", ReceivedAt = At });
            db.ScopedTokens.Add(new ScopedTokenEntity { App = Ghes, InstallationId = 1, ScopeKey = "repos=app", TokenCiphertext = "other", MintedAt = At });
            db.RecoveryRequests.Add(new RecoveryRequestEntity { App = Ghes, DeliveryGuid = "guid-1", Event = "push" });
            db.AppState.Add(new AppStateEntity { App = Ghes, Key = "github.clock_offset_ms", Value = "-200" });
            await db.SaveChangesAsync();
        }

        await using (var db = await CreateAsync())
        {
            Assert.Equal(2, await db.Installations.CountAsync(i => i.Id == 1));
            Assert.Equal(2, await db.WebhookDeliveries.CountAsync(d => d.DeliveryId == "d-processed"));
            Assert.Equal("octo-org", (await db.Installations.SingleAsync(i => i.App == StoredApp.Default && i.Id == 1)).AccountLogin);
        }

        // Within one App the keys still hold.
        await using (var db = await CreateAsync())
        {
            db.WebhookDeliveries.Add(new WebhookDeliveryEntity { DeliveryId = "d-processed", Event = "ping", Body = Body, BodySha256 = "h", ReceivedAt = At });
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }

        await using (var db = await CreateAsync())
        {
            db.Installations.Add(new InstallationEntity { Id = 1, CreatedAt = At, UpdatedAt = At });
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }
    }

    /// <summary>Ids the database gave the rows (deliveries, the commit), to check they survive the migration.</summary>
    private sealed record SingleAppIds(long Commit, long[] Deliveries);

    /// <summary>The schema before <c>KeyByApp</c>, with rows written as that schema's code wrote them (raw SQL).</summary>
    private async Task<SingleAppIds> BuildSingleAppDatabaseAsync()
    {
        await using var db = await CreateAsync();
        var before = db.Database.GetMigrations().TakeWhile(m => !m.EndsWith(KeyByApp, StringComparison.Ordinal)).Last();
        await db.GetService<IMigrator>().MigrateAsync(before);
        await db.Database.OpenConnectionAsync();
        try
        {
            var sql = new RawSql(db);
            await sql.RunAsync(
                "INSERT INTO installations (\"Id\", \"AccountLogin\", \"AccountType\", \"Status\", \"CreatedAt\", \"UpdatedAt\", \"TokenCiphertext\", \"TokenExpiresAt\", \"TokenMintedAt\") " +
                "VALUES (1, 'octo-org', 'Organization', 'Active', @p0, @p0, 'sealed-token', @p1, @p0)", At, At.AddHours(1));
            await sql.RunAsync(
                "INSERT INTO installations (\"Id\", \"AccountLogin\", \"Status\", \"SuspendedAt\", \"CreatedAt\", \"UpdatedAt\") " +
                "VALUES (2, 'octo-user', 'Suspended', @p0, @p0, @p0)", At);
            await sql.RunAsync(
                "INSERT INTO repositories (\"Id\", \"InstallationId\", \"Name\", \"FullName\", \"OwnerLogin\", \"Private\", \"Status\", \"CreatedAt\", \"UpdatedAt\") " +
                "VALUES (100, 1, 'app', 'octo-org/app', 'octo-org', @p0, 'Active', @p1, @p1), (101, 2, 'lib', 'octo-user/lib', 'octo-user', @p2, 'Disabled', @p1, @p1)",
                true, At, false);
            var commit = await sql.ScalarAsync(
                "INSERT INTO commits (\"RepositoryId\", \"Sha\", \"Message\", \"Ref\", \"CreatedAt\") VALUES (100, 'abc123', 'Fix the thing', 'refs/heads/main', @p0) RETURNING \"Id\"", At);
            await sql.RunAsync("INSERT INTO commit_file_changes (\"CommitId\", \"Path\", \"Kind\") VALUES (@p0, 'src/a.cs', 'Modified')", commit);
            await sql.RunAsync(
                "INSERT INTO pull_requests (\"RepositoryId\", \"Number\", \"Title\", \"State\", \"Draft\", \"UpdatedAt\") VALUES (100, 7, 'Add a thing', 'Merged', @p0, @p1)",
                false, At);
            await sql.RunAsync(
                "INSERT INTO pushes (\"RepositoryId\", \"DeliveryId\", \"Ref\", \"Created\", \"Deleted\", \"Forced\", \"CommitsStored\", \"CommitsFetched\", \"ReceivedAt\") " +
                "VALUES (100, 'push-1', 'refs/heads/main', @p0, @p0, @p0, 1, 0, @p1)", false, At);
            long[] deliveries =
            [
                await DeliveryAsync(sql, "d-processed", "Processed", 1, null, installationId: 1),
                await DeliveryAsync(sql, "d-dead", "Dead", 5, "downstream said no", installationId: 1),
                await DeliveryAsync(sql, "d-pending", "Pending", 0, null, installationId: 2),
            ];
            await sql.RunAsync(
                "INSERT INTO recovery_requests (\"DeliveryGuid\", \"Event\", \"HookDeliveryId\", \"FirstRequestedAt\", \"LastRequestedAt\", \"Requests\", \"Outcome\") " +
                "VALUES ('guid-1', 'push', 42, @p0, @p0, 1, 'Requested')", At);
            await sql.RunAsync(
                "INSERT INTO clients (\"Name\", \"KeySha256\", \"Installations\", \"Repositories\", \"Permissions\", \"App\", \"Tokens\", \"Admin\", \"CreatedAt\", \"KeyIssuedAt\") " +
                "VALUES ('ci', 'ab12', '[\"octo-org\"]', '[]', '{}', 'read', @p0, @p1, @p2, @p2)", true, false, At);
            await sql.RunAsync(
                "INSERT INTO scoped_tokens (\"InstallationId\", \"ScopeKey\", \"TokenCiphertext\", \"MintedAt\", \"ExpiresAt\") VALUES (1, 'repos=app', 'sealed-scoped', @p0, @p1)",
                At, At.AddHours(1));
            await sql.RunAsync(
                "INSERT INTO token_vends (\"Client\", \"InstallationId\", \"Scope\", \"VendedAt\") VALUES ('ci', 1, 'repos=app', @p0)", At);
            await sql.RunAsync("INSERT INTO app_state (\"Key\", \"Value\", \"UpdatedAt\") VALUES ('github.clock_offset_ms', '1500', @p0)", At);
            return new SingleAppIds(commit, deliveries);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static async Task<long> DeliveryAsync(RawSql sql, string deliveryId, string state, int attempts, string? error, long installationId)
    {
        var id = await sql.ScalarAsync(
            "INSERT INTO webhook_deliveries (\"DeliveryId\", \"Event\", \"Action\", \"InstallationId\", \"ReceivedAt\", \"BodySha256\", \"State\", \"Attempts\", " +
            "\"AttemptsAtReplay\", \"NextAttemptAt\", \"LastError\") VALUES (@p0, 'push', NULL, @p1, @p2, 'h', @p3, @p4, 0, @p2, @p5) RETURNING \"Id\"",
            deliveryId, installationId, At, state, attempts, (object?)error ?? DBNull.Value);
        await sql.RunAsync("INSERT INTO webhook_delivery_bodies (\"DeliveryPk\", \"Body\") VALUES (@p0, @p1)", id, Body);
        return id;
    }

    /// <summary>Parameterized statements on the context's open connection, with times as the provider stores them.</summary>
    private sealed class RawSql(HubgateDbContext db)
    {
        public async Task RunAsync(string text, params object[] values)
        {
            await using var command = Command(text, values);
            await command.ExecuteNonQueryAsync();
        }

        public async Task<long> ScalarAsync(string text, params object[] values)
        {
            await using var command = Command(text, values);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        private System.Data.Common.DbCommand Command(string text, object[] values)
        {
            var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = text;
            for (var i = 0; i < values.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"@p{i}";
                parameter.Value = values[i] is DateTimeOffset time && !db.IsPostgres
                    ? new DateTimeOffsetToBinaryConverter().ConvertToProvider(time)!
                    : values[i];
                command.Parameters.Add(parameter);
            }

            return command;
        }
    }

    private async Task<HubgateDbContext> CreateAsync() =>
        await _services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();

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
