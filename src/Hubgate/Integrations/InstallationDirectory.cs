using System.Globalization;
using System.Net;
using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Hubgate.Apps;

namespace Hubgate.Integrations;

/// <summary>
/// Installations and repositories as GitHub describes them, written onto their rows: from webhook payloads, from
/// <c>GET /app/installations/{id}</c> when an event names an installation Hubgate has never seen, and from sync.
/// Token state on an installation row is never touched here. Every row is the given App's: installation and repository
/// ids are unique only within one App's GitHub instance.
/// </summary>
internal sealed class InstallationDirectory(GitHubClientFactory clients, GitHubApps apps, TimeProvider time)
{
    // Every event of the model looks its installation and repository up by key. DbSet.FindAsync builds, funcletizes
    // and caches a LINQ query on each call (about a tenth of the worker's CPU per delivery, measured); these are
    // compiled once. The results are tracked, as FindAsync's are.
    private static readonly Func<HubgateDbContext, string, long, CancellationToken, Task<InstallationEntity?>> InstallationByKey =
        EF.CompileAsyncQuery((HubgateDbContext db, string app, long id, CancellationToken _) =>
            db.Installations.FirstOrDefault(i => i.App == app && i.Id == id));

    private static readonly Func<HubgateDbContext, string, long, CancellationToken, Task<RepositoryEntity?>> RepositoryByKey =
        EF.CompileAsyncQuery((HubgateDbContext db, string app, long id, CancellationToken _) =>
            db.Repositories.FirstOrDefault(r => r.App == app && r.Id == id));

    /// <summary>The App's installation row, tracked: the one this context already tracks (even unsaved), else the stored one.</summary>
    public static async Task<InstallationEntity?> FindInstallationAsync(HubgateDbContext db, string app, long installationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Installations.Local.FindEntryUntyped([app, installationId])?.Entity
            ?? await InstallationByKey(db, app, installationId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The App's repository row, tracked: the one this context already tracks (even unsaved), else the stored one.</summary>
    public static async Task<RepositoryEntity?> FindRepositoryAsync(HubgateDbContext db, string app, long repositoryId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Repositories.Local.FindEntryUntyped([app, repositoryId])?.Entity
            ?? await RepositoryByKey(db, app, repositoryId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The tracked row for the App's <paramref name="installationId"/>, created (not yet saved) when absent.</summary>
    public static async Task<InstallationEntity> TrackInstallationAsync(HubgateDbContext db, string app, long installationId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var row = await FindInstallationAsync(db, app, installationId, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            row = new InstallationEntity { App = app, Id = installationId, CreatedAt = now, UpdatedAt = now, Status = InstallationStatus.Active };
            db.Installations.Add(row);
        }

        return row;
    }

    /// <summary>
    /// Copies what an installation object says (account, target, selection, permissions, events) and, when the object
    /// is not older than what last decided the installation's state (<paramref name="stateAt"/>: when the object was
    /// true), its suspension.
    /// </summary>
    public static void Apply(InstallationEntity row, JsonElement installation, DateTimeOffset now, DateTimeOffset stateAt)
    {
        ArgumentNullException.ThrowIfNull(row);
        row.AppId = installation.Int64("app_id") ?? row.AppId;
        if (installation.Object("account") is { } account)
        {
            ApplyAccount(row, account);
        }

        row.TargetType = installation.String("target_type") ?? row.TargetType;
        row.RepositorySelection = installation.String("repository_selection") ?? row.RepositorySelection;
        row.PermissionsJson = installation.RawJson("permissions") ?? row.PermissionsJson;
        row.EventsJson = installation.RawJson("events") ?? row.EventsJson;
        if (installation.TryGetProperty("suspended_at", out _) && EventTime.IsCurrent(row.StateEventAt, stateAt))
        {
            row.SuspendedAt = installation.Time("suspended_at");
            if (row.Status != InstallationStatus.Deleted)
            {
                row.Status = row.SuspendedAt is null ? InstallationStatus.Active : InstallationStatus.Suspended;
            }

            row.StateEventAt = stateAt;
        }

        row.UpdatedAt = now;
    }

    /// <summary>The account an installation belongs to (a user, an organization, or an enterprise with a slug).</summary>
    public static void ApplyAccount(InstallationEntity row, JsonElement account)
    {
        ArgumentNullException.ThrowIfNull(row);
        row.AccountLogin = account.String("login") ?? account.String("slug") ?? row.AccountLogin;
        row.AccountId = account.Int64("id") ?? row.AccountId;
        row.AccountType = account.String("type") ?? (account.String("slug") is not null ? "Enterprise" : row.AccountType);
    }

    /// <summary>
    /// The App's installation row; when Hubgate has none, that App's host is asked (<c>GET /app/installations/{id}</c>,
    /// that App's JWT) and the answer stored. Row null when GitHub answers 404: the App is not installed there (any
    /// more). When it would have to be asked but the App has no credentials (a webhook-only set-up), the row is null and
    /// <c>CannotAsk</c> says why, naming the missing keys: returned, not thrown, as that is every event of such a set-up.
    /// </summary>
    /// <exception cref="GitHubApiException">GitHub answered anything else than 200 or 404 (the delivery is retried).</exception>
    /// <exception cref="GitHubAppNotFoundException">The App is not (or no longer) one this deployment has.</exception>
    public async Task<(InstallationEntity? Row, string? CannotAsk)> FindOrFetchAsync(HubgateDbContext db, string app, long installationId,
        CancellationToken cancellationToken)
    {
        var row = await FindInstallationAsync(db, app, installationId, cancellationToken).ConfigureAwait(false);
        if (row is not null && row.AccountLogin is not null)
        {
            return (row, null);
        }

        // Unknown, or known only from a token mint (no account yet): GitHub describes it — if it can be asked. Checked
        // here rather than left to the request's JWT, which would fail the same way after building a whole request.
        if (apps.Get(app).Options is { HasAppCredentials: false } options)
        {
            return (null, new GitHubAppNotConfiguredException(options.MissingCredentialKeys()).Message);
        }

        using var client = clients.CreateHttpClient(app, installationId: null);
        using var response = await client.GetAsync(
            new Uri(string.Create(CultureInfo.InvariantCulture, $"app/installations/{installationId}"), UriKind.Relative),
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return (null, null);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new GitHubApiException(
                $"GitHub answered {(int)response.StatusCode} to GET /app/installations/{installationId}.", response.StatusCode);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            row ??= await TrackInstallationAsync(db, app, installationId, now, cancellationToken).ConfigureAwait(false);
            Apply(row, document.RootElement, now, stateAt: now); // GitHub's answer is true now
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return (row, null);
        }
    }

    /// <summary>
    /// Upserts a repository from a repository object (a webhook's <c>repository</c>, an entry of
    /// <c>repositories_added</c>, a page of <c>/installation/repositories</c>). Null when the object has no id.
    /// <paramref name="status"/>, when given, is GitHub's answer as of <paramref name="now"/> (sync) and is set; events
    /// decide the status themselves (<see cref="Decide"/>). A new row is active unless told otherwise.
    /// </summary>
    public static async Task<RepositoryEntity?> UpsertRepositoryAsync(HubgateDbContext db, string app, long installationId, JsonElement repository,
        DateTimeOffset now, RepositoryStatus? status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (repository.Int64("id") is not { } id)
        {
            return null;
        }

        var row = await FindRepositoryAsync(db, app, id, cancellationToken).ConfigureAwait(false);
        var fullName = repository.String("full_name");
        var name = repository.String("name") ?? fullName?.Split('/').Last() ?? id.ToString(CultureInfo.InvariantCulture);
        if (row is null)
        {
            row = new RepositoryEntity
            {
                App = app,
                Id = id,
                InstallationId = installationId,
                Name = name,
                FullName = fullName ?? name,
                CreatedAt = now,
                Status = status ?? RepositoryStatus.Active,
            };
            db.Repositories.Add(row);
        }
        else if (status is { } wanted)
        {
            row.Status = wanted;
        }

        if (status is not null)
        {
            row.StateEventAt = EventTime.Latest(row.StateEventAt, now);
        }

        row.InstallationId = installationId;
        row.Name = name;
        row.FullName = fullName ?? row.FullName;
        row.OwnerLogin = repository.Object("owner")?.String("login")
            ?? (fullName is not null && fullName.Contains('/', StringComparison.Ordinal) ? fullName[..fullName.IndexOf('/', StringComparison.Ordinal)] : row.OwnerLogin);
        row.Private = repository.Boolean("private") ?? row.Private;
        row.DefaultBranch = repository.String("default_branch") ?? row.DefaultBranch;
        row.UpdatedAt = now;
        return row;
    }

    /// <summary>
    /// Sets the status an event at <paramref name="eventAt"/> asks for, unless a newer event already decided it; false
    /// when it was too old. <c>deleted</c> always wins (nothing but a newer event brings a repository back), a deleted
    /// repository is never merely disabled, and with <paramref name="archiveUnknown"/> (the event says the App can see it,
    /// not whether it is archived: added, listed in <c>created</c>, any event of a disabled one) an archived one stays so.
    /// </summary>
    public static bool Decide(RepositoryEntity row, RepositoryStatus wanted, DateTimeOffset eventAt, bool archiveUnknown = false)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (wanted != RepositoryStatus.Deleted && !EventTime.IsCurrent(row.StateEventAt, eventAt))
        {
            return false;
        }

        row.Status = (wanted, row.Status) switch
        {
            (RepositoryStatus.Disabled, RepositoryStatus.Deleted) => RepositoryStatus.Deleted,
            (RepositoryStatus.Active, RepositoryStatus.Archived) when archiveUnknown => RepositoryStatus.Archived,
            _ => wanted,
        };
        row.StateEventAt = EventTime.Latest(row.StateEventAt, eventAt);
        return true;
    }

    /// <summary>Marks every repository of the App's installation disabled (kept: their history stays queryable).</summary>
    public static Task<int> DisableRepositoriesAsync(HubgateDbContext db, string app, long installationId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Repositories
            .Where(r => r.App == app && r.InstallationId == installationId && r.Status != RepositoryStatus.Disabled && r.Status != RepositoryStatus.Deleted)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RepositoryStatus.Disabled)
                .SetProperty(r => r.StateEventAt, now)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
    }
}
