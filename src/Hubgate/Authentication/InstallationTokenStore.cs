using System.Security.Cryptography;
using Hubgate.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Authentication;

/// <summary>
/// The installation row as the token provider sees it: the token encrypted with Data Protection (keys kept in
/// the same database), its expiry and grants; tokens of a narrower scope in <c>scoped_tokens</c>, one row per
/// (App, installation, scope). Every method takes the App first: installation ids are unique only within one App's
/// GitHub instance. On PostgreSQL, <see cref="RunExclusiveAsync{T}"/> serializes the mint per (App, installation,
/// scope) across processes with a transaction-scoped advisory lock.
/// </summary>
internal sealed class InstallationTokenStore(
    IDbContextFactory<HubgateDbContext> contexts,
    IDataProtectionProvider dataProtection,
    TimeProvider time)
{
    // Keys of pg_advisory_xact_lock(int, int): a fixed class id for "installation token mint", the installation id
    // mixed with a stable hash of the App's name unless it is the default App (for a narrower scope: another class, also
    // mixed with a stable hash of the scope's key; two keys that share a lock only wait for each other).
    private const int AdvisoryLockClass = 0x48756267; // "Hubg"
    private const int ScopedAdvisoryLockClass = 0x48756273; // "Hubs"

    private readonly IDataProtector _protector = dataProtection.CreateProtector("Hubgate.InstallationToken.v1");

    /// <summary>
    /// Runs <paramref name="work"/> with exclusive rights to mint for the installation: across processes on
    /// PostgreSQL (advisory lock held until the transaction ends), within the caller's single-flight elsewhere.
    /// </summary>
    public async Task<T> RunExclusiveAsync<T>(
        string app, long installationId, InstallationTokenScope scope, Func<HubgateDbContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (!db.IsPostgres)
            {
                return await work(db, cancellationToken).ConfigureAwait(false);
            }

            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var objectId = unchecked((int)installationId ^ (int)(installationId >> 32));
                if (app != StoredApp.Default)
                {
                    objectId ^= StableHash(app);
                }

                var lockClass = AdvisoryLockClass;
                if (!scope.IsFull)
                {
                    lockClass = ScopedAdvisoryLockClass;
                    objectId ^= StableHash(scope.Key);
                }

                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({lockClass}, {objectId})", cancellationToken).ConfigureAwait(false);
                var result = await work(db, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
        }
    }

    private static int StableHash(string text) => BitConverter.ToInt32(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>The persisted token, or null when there is none or it cannot be decrypted (key ring lost).</summary>
    public async Task<InstallationToken?> LoadAsync(HubgateDbContext db, string app, long installationId, InstallationTokenScope scope, CancellationToken cancellationToken)
    {
        if (!scope.IsFull)
        {
            var scoped = await db.ScopedTokens.AsNoTracking().Where(t => t.App == app && t.InstallationId == installationId && t.ScopeKey == scope.Key)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            return scoped is null ? null
                : Decrypt(scoped.TokenCiphertext, scoped.ExpiresAt, scoped.MintedAt, scoped.PermissionsJson, scoped.RepositorySelection);
        }

        var row = await db.Installations.AsNoTracking()
            .Where(i => i.App == app && i.Id == installationId)
            .Select(i => new { i.TokenCiphertext, i.TokenExpiresAt, i.TokenMintedAt, i.TokenPermissionsJson, i.TokenRepositorySelection })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return row?.TokenCiphertext is null ? null
            : Decrypt(row.TokenCiphertext, row.TokenExpiresAt, row.TokenMintedAt ?? DateTimeOffset.MinValue, row.TokenPermissionsJson, row.TokenRepositorySelection);
    }

    private InstallationToken? Decrypt(string ciphertext, DateTimeOffset? expiresAt, DateTimeOffset mintedAt, string? permissions, string? selection)
    {
        try
        {
            return new InstallationToken(_protector.Unprotect(ciphertext), expiresAt, mintedAt, permissions, selection);
        }
        catch (CryptographicException)
        {
            // Encrypted under a key ring this process cannot read: treat as absent and mint a new one.
            return null;
        }
    }

    /// <summary>Stores a freshly minted token on the installation's row, creating the row when needed.</summary>
    public async Task SaveAsync(HubgateDbContext db, string app, long installationId, InstallationTokenScope scope, InstallationToken token,
        CancellationToken cancellationToken)
    {
        if (!scope.IsFull)
        {
            await SaveScopedAsync(db, app, installationId, scope, token, cancellationToken).ConfigureAwait(false);
            return;
        }

        var now = time.GetUtcNow();
        var row = await db.Installations.FirstOrDefaultAsync(i => i.App == app && i.Id == installationId, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            row = new InstallationEntity { App = app, Id = installationId, CreatedAt = now, Status = InstallationStatus.Active };
            db.Installations.Add(row);
        }

        row.TokenCiphertext = _protector.Protect(token.Token);
        row.TokenExpiresAt = token.ExpiresAt;
        row.TokenMintedAt = token.MintedAt;
        row.TokenPermissionsJson = token.PermissionsJson;
        row.TokenRepositorySelection = token.RepositorySelection;
        row.RepositorySelection ??= token.RepositorySelection;
        if (row.Status != InstallationStatus.Active)
        {
            // GitHub just minted a token for it, so it is installed and not suspended.
            row.Status = InstallationStatus.Active;
        }

        row.UpdatedAt = now;
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException) when (db.Entry(row).State == EntityState.Added)
        {
            // Another process created the row meanwhile (a webhook); write the token onto it instead.
            db.ChangeTracker.Clear();
            await SaveAsync(db, app, installationId, scope, token, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SaveScopedAsync(HubgateDbContext db, string app, long installationId, InstallationTokenScope scope, InstallationToken token,
        CancellationToken cancellationToken)
    {
        var row = await db.ScopedTokens.FirstOrDefaultAsync(t => t.App == app && t.InstallationId == installationId && t.ScopeKey == scope.Key, cancellationToken)
            .ConfigureAwait(false);
        var ciphertext = _protector.Protect(token.Token);
        if (row is null)
        {
            row = new ScopedTokenEntity { App = app, InstallationId = installationId, ScopeKey = scope.Key, TokenCiphertext = ciphertext };
            db.ScopedTokens.Add(row);
        }

        row.TokenCiphertext = ciphertext;
        row.ExpiresAt = token.ExpiresAt;
        row.MintedAt = token.MintedAt;
        row.PermissionsJson = token.PermissionsJson;
        row.RepositorySelection = token.RepositorySelection;
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException) when (db.Entry(row).State == EntityState.Added)
        {
            // Another process stored a token of this scope meanwhile (SQLite has no cross-process lock); keep ours.
            db.ChangeTracker.Clear();
            await SaveScopedAsync(db, app, installationId, scope, token, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Forgets the persisted token of <paramref name="scope"/> (null: of every scope) if it is still the one minted at
    /// <paramref name="mintedAt"/> (null: whatever it is).
    /// </summary>
    public async Task ClearAsync(string app, long installationId, InstallationTokenScope? scope, DateTimeOffset? mintedAt, CancellationToken cancellationToken)
    {
        var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (scope is not { IsFull: true })
            {
                var scoped = db.ScopedTokens.Where(t => t.App == app && t.InstallationId == installationId);
                if (scope is not null)
                {
                    scoped = scoped.Where(t => t.ScopeKey == scope.Key);
                }

                if (mintedAt is { } minted)
                {
                    scoped = scoped.Where(t => t.MintedAt == minted);
                }

                await scoped.ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
                if (scope is not null)
                {
                    return;
                }
            }

            var query = db.Installations.Where(i => i.App == app && i.Id == installationId);
            if (mintedAt is { } m)
            {
                query = query.Where(i => i.TokenMintedAt == m);
            }

            await query.ExecuteUpdateAsync(s => s
                .SetProperty(i => i.TokenCiphertext, (string?)null)
                .SetProperty(i => i.TokenExpiresAt, (DateTimeOffset?)null), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records what GitHub said about the installation (deleted, suspended), keeping the row.</summary>
    public async Task MarkAsync(string app, long installationId, InstallationStatus status, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var updated = await db.Installations.Where(i => i.App == app && i.Id == installationId)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(i => i.Status, status)
                    .SetProperty(i => i.TokenCiphertext, (string?)null)
                    .SetProperty(i => i.TokenExpiresAt, (DateTimeOffset?)null)
                    .SetProperty(i => i.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
            await db.ScopedTokens.Where(t => t.App == app && t.InstallationId == installationId).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            if (updated == 0)
            {
                db.Installations.Add(new InstallationEntity { App = app, Id = installationId, Status = status, CreatedAt = now, UpdatedAt = now });
                try
                {
                    await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (DbUpdateException)
                {
                    // Created concurrently; the status is set by whoever created it or by the next refresh.
                }
            }
        }
    }
}
