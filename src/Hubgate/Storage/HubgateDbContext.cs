using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Storage;

/// <summary>
/// Hubgate's one store: installations and their tokens, repositories, commits, pushes, pull requests,
/// the webhook inbox and the Data Protection key ring. Each database provider has a subclass that
/// owns its migrations (<see cref="SqliteHubgateDbContext"/>, <see cref="PostgresHubgateDbContext"/>).
/// </summary>
internal abstract class HubgateDbContext(DbContextOptions options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<InstallationEntity> Installations => Set<InstallationEntity>();
    public DbSet<RepositoryEntity> Repositories => Set<RepositoryEntity>();
    public DbSet<CommitEntity> Commits => Set<CommitEntity>();
    public DbSet<CommitFileChangeEntity> CommitFileChanges => Set<CommitFileChangeEntity>();
    public DbSet<PullRequestEntity> PullRequests => Set<PullRequestEntity>();
    public DbSet<PushEntity> Pushes => Set<PushEntity>();
    public DbSet<WebhookDeliveryEntity> WebhookDeliveries => Set<WebhookDeliveryEntity>();
    public DbSet<WebhookLogEntity> WebhookLog => Set<WebhookLogEntity>();
    public DbSet<SubscriptionEntity> Subscriptions => Set<SubscriptionEntity>();
    public DbSet<SubscriptionDeliveryEntity> SubscriptionDeliveries => Set<SubscriptionDeliveryEntity>();
    public DbSet<AppStateEntity> AppState => Set<AppStateEntity>();
    public DbSet<RecoveryRequestEntity> RecoveryRequests => Set<RecoveryRequestEntity>();
    public DbSet<ClientEntity> Clients => Set<ClientEntity>();
    public DbSet<ScopedTokenEntity> ScopedTokens => Set<ScopedTokenEntity>();
    public DbSet<TokenVendEntity> TokenVends => Set<TokenVendEntity>();
    public DbSet<AppEntity> Apps => Set<AppEntity>();
    public DbSet<AppManifestStateEntity> AppManifestStates => Set<AppManifestStateEntity>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    /// <summary>True when this context talks to PostgreSQL (row locks, advisory locks, SKIP LOCKED).</summary>
    public abstract bool IsPostgres { get; }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<Enum>().HaveConversion<string>().HaveMaxLength(32);
        if (!IsPostgres)
        {
            // SQLite has no date type; a sortable integer keeps comparisons and ORDER BY in SQL.
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        }
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<InstallationEntity>(b =>
        {
            b.ToTable("installations");
            b.HasKey(i => new { i.App, i.Id });
            b.Property(i => i.Id).ValueGeneratedNever();
            b.HasIndex(i => i.Status);
        });

        modelBuilder.Entity<RepositoryEntity>(b =>
        {
            b.ToTable("repositories");
            b.HasKey(r => new { r.App, r.Id });
            b.Property(r => r.Id).ValueGeneratedNever();
            b.HasIndex(r => new { r.App, r.InstallationId, r.Status });
            b.HasIndex(r => new { r.App, r.FullName });
        });

        modelBuilder.Entity<CommitEntity>(b =>
        {
            b.ToTable("commits");
            b.HasIndex(c => new { c.App, c.RepositoryId, c.Sha }).IsUnique();
            b.HasIndex(c => new { c.App, c.RepositoryId, c.Id });
            b.HasMany(c => c.FileChanges).WithOne().HasForeignKey(f => f.CommitId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<CommitFileChangeEntity>(b =>
        {
            b.ToTable("commit_file_changes");
            b.HasIndex(f => f.CommitId);
        });

        modelBuilder.Entity<PullRequestEntity>(b =>
        {
            b.ToTable("pull_requests");
            b.HasIndex(p => new { p.App, p.RepositoryId, p.Number }).IsUnique();
            b.HasIndex(p => new { p.App, p.RepositoryId, p.State });
        });

        modelBuilder.Entity<PushEntity>(b =>
        {
            b.ToTable("pushes");
            b.HasIndex(p => new { p.App, p.DeliveryId }).IsUnique();
            b.HasIndex(p => new { p.App, p.RepositoryId, p.Id });
        });

        modelBuilder.Entity<WebhookDeliveryEntity>(b =>
        {
            b.ToTable("webhook_deliveries");
            if (!IsPostgres)
            {
                // Sequence numbers are never reused (the convention leaves a key shared with a split table out).
                b.Property(d => d.Id).UseAutoincrement();

                // Bodies are stored compressed (PostgreSQL compresses large values itself).
                b.Property(d => d.Body).HasConversion(BodyCodec.Converter, BodyCodec.Comparer);
            }

            // GitHub documents the delivery id as unique per App: the same id from two Apps is two deliveries.
            b.HasIndex(d => new { d.App, d.DeliveryId }).IsUnique();
            b.Property(d => d.RepositoryFullName).HasMaxLength(256);

            // The fan-out reads what it has not handed to the subscriptions yet, in order: a partial index holds only those.
            b.HasIndex(d => new { d.FannedOut, d.Id }).HasDatabaseName("IX_webhook_deliveries_not_fanned_out").HasFilter("NOT \"FannedOut\"");
            b.HasIndex(d => new { d.BodySha256, d.ReceivedAt });
            b.HasIndex(d => d.ReceivedAt);

            // The body lives in a table of its own, keyed by the delivery's sequence. On SQLite a blob in the middle
            // of a row is rewritten by every update of the row (state, lease, attempts) and walked through for every
            // column after it; on its own it is written once, and as the last column it can be streamed in.
            b.SplitToTable("webhook_delivery_bodies", t =>
            {
                t.Property(d => d.Id).HasColumnName("DeliveryPk");
                t.Property(d => d.Body);
                t.Property(d => d.LogSequence);
                t.Property(d => d.LogOffset);
            });
        });

        modelBuilder.Entity<WebhookLogEntity>(b =>
        {
            b.ToTable("webhook_log");
            b.Property(x => x.Id).ValueGeneratedNever();
        });

        modelBuilder.Entity<SubscriptionEntity>(b =>
        {
            b.ToTable("subscriptions");
            b.HasKey(x => x.Name);
            b.Property(x => x.Name).HasMaxLength(64);
        });

        modelBuilder.Entity<SubscriptionDeliveryEntity>(b =>
        {
            b.ToTable("subscription_deliveries");
            b.HasKey(x => new { x.Subscription, x.DeliverySeq });
            b.Property(x => x.Subscription).HasMaxLength(64);
            // No foreign keys: every insert would pay a lookup for them. The store deletes a subscription's or a
            // delivery's rows itself (removal, retention).

            // The claim: a subscription's due rows by state and time, read in index order and stopped after a batch.
            b.HasIndex(x => new { x.Subscription, x.State, x.NextAttemptAt, x.DeliverySeq });
            // Ordering: whether an earlier row of the same key is still owed.
            b.HasIndex(x => new { x.Subscription, x.OrderKey, x.DeliverySeq });
            // Retention and a delivery's detail: every subscription's row for one delivery.
            b.HasIndex(x => x.DeliverySeq);
        });

        modelBuilder.Entity<AppStateEntity>(b =>
        {
            b.ToTable("app_state");
            b.HasKey(s => new { s.App, s.Key });
        });

        modelBuilder.Entity<RecoveryRequestEntity>(b =>
        {
            b.ToTable("recovery_requests");
            b.HasKey(r => new { r.App, r.DeliveryGuid });
            b.HasIndex(r => r.LastRequestedAt);
        });

        modelBuilder.Entity<ClientEntity>(b =>
        {
            b.ToTable("clients");
            b.HasKey(c => c.Name);
            b.Property(c => c.Name).HasMaxLength(64);
            b.Property(c => c.KeySha256).HasMaxLength(64);
            b.Property(c => c.AppAccess).HasMaxLength(16);
            b.HasIndex(c => c.KeySha256).IsUnique();
        });

        modelBuilder.Entity<ScopedTokenEntity>(b =>
        {
            b.ToTable("scoped_tokens");
            b.HasKey(t => new { t.App, t.InstallationId, t.ScopeKey });
        });

        modelBuilder.Entity<TokenVendEntity>(b =>
        {
            b.ToTable("token_vends");
            b.HasIndex(v => v.VendedAt);
        });

        modelBuilder.Entity<AppEntity>(b =>
        {
            b.ToTable("apps");
            b.HasKey(a => a.Name);
            b.Property(a => a.Name).HasMaxLength(64);
        });

        modelBuilder.Entity<AppManifestStateEntity>(b =>
        {
            b.ToTable("app_manifest_states");
            b.HasKey(s => s.StateSha256);
            b.Property(s => s.StateSha256).HasMaxLength(64);
            b.Property(s => s.Name).HasMaxLength(64);
            b.HasIndex(s => s.ExpiresAt);
        });

        // Every row belongs to one App; rows from before several Apps were supported are the default App's.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            if (entity.ClrType.GetProperty(nameof(InstallationEntity.App)) is { PropertyType: var type } && type == typeof(string))
            {
                modelBuilder.Entity(entity.ClrType).Property<string>(nameof(InstallationEntity.App))
                    .HasMaxLength(StoredApp.MaxLength).IsRequired().HasDefaultValue(StoredApp.Default);
            }
        }

        modelBuilder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
    }
}

/// <summary>The SQLite flavour of the store (the embedded default).</summary>
internal sealed class SqliteHubgateDbContext(DbContextOptions<SqliteHubgateDbContext> options) : HubgateDbContext(options)
{
    public override bool IsPostgres => false;
}

/// <summary>The PostgreSQL flavour of the store (several replicas on one database).</summary>
internal sealed class PostgresHubgateDbContext(DbContextOptions<PostgresHubgateDbContext> options) : HubgateDbContext(options)
{
    public override bool IsPostgres => true;
}
