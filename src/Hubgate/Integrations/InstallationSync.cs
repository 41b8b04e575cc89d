using System.Globalization;
using System.Net;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Hubgate.Integrations;

/// <summary>What one sync found and changed.</summary>
internal sealed record SyncReport(
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    int InstallationsSeen,
    int InstallationsAdded,
    int InstallationsRemoved,
    int InstallationsSuspended,
    int RepositoriesSeen,
    int RepositoriesAdded,
    int RepositoriesReactivated,
    int RepositoriesDisabled,
    IReadOnlyList<string> Errors)
{
    /// <summary>The App whose installations were listed and written.</summary>
    public string App { get; init; } = Apps.GitHubApp.DefaultName;

    public bool Changed => InstallationsAdded + InstallationsRemoved + RepositoriesAdded + RepositoriesReactivated + RepositoriesDisabled > 0;
}

/// <summary>One step of a running sync, for a terminal.</summary>
internal sealed record SyncProgress(long InstallationId, string? Account, int Index, int Total, int Repositories, string? Error);

/// <summary>
/// Repairs what webhooks missed, one App at a time: lists every installation of the App (<c>GET /app/installations</c> on
/// its host, its JWT) and each one's repositories (<c>GET /installation/repositories</c>, that App's installation token),
/// both paginated, writing only that App's rows; upserts them and marks
/// installations and repositories GitHub no longer returns as deleted / disabled (kept, never removed). Nothing is
/// marked missing unless its list was read to the end.
/// </summary>
internal sealed partial class InstallationSync(
    GitHubClientFactory clients,
    IDbContextFactory<HubgateDbContext> databases,
    GitHubApps apps,
    TimeProvider time,
    ILogger<InstallationSync> logger) : IDisposable
{
    private readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>Syncs App <c>default</c>'s installations.</summary>
    public Task<SyncReport> SyncAsync(IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default) =>
        SyncAsync(GitHubApp.DefaultName, progress, cancellationToken);

    /// <summary>Syncs the installations of the App named <paramref name="app"/> (its rows only).</summary>
    /// <exception cref="GitHubAppNotFoundException">No such App.</exception>
    public async Task<SyncReport> SyncAsync(string app, IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var target = apps.Get(app);
        // One sync at a time per process: the periodic job and an operator's `hubgate sync` / POST /api/sync.
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunAsync(target, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _running.Release();
        }
    }

    public void Dispose() => _running.Dispose();

    private async Task<SyncReport> RunAsync(GitHubApp target, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var app = target.Name;
        var started = time.GetUtcNow();
        var counts = new Counts();
        var errors = new List<string>();

        // The whole list first: only a complete list can say what GitHub no longer has.
        var installations = new List<System.Text.Json.JsonElement>();
        using (var client = clients.CreateHttpClient(app, installationId: null))
        {
            await foreach (var item in client.GetAllAsync(new Uri("app/installations?per_page=100", UriKind.Relative), cancellationToken: cancellationToken)
                               .ConfigureAwait(false))
            {
                installations.Add(item);
            }
        }

        var seen = new HashSet<long>();
        for (var index = 0; index < installations.Count; index++)
        {
            var json = installations[index];
            if (json.Int64("id") is not { } id)
            {
                continue;
            }

            seen.Add(id);
            counts.InstallationsSeen++;
            var (account, repositories, error) = await SyncInstallationAsync(app, id, json, counts, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                errors.Add(error);
            }

            progress?.Report(new SyncProgress(id, account, index + 1, installations.Count, repositories, error));
        }

        await RemoveMissingAsync(target, seen, counts, cancellationToken).ConfigureAwait(false);

        var report = new SyncReport(started, time.GetUtcNow() - started, counts.InstallationsSeen, counts.InstallationsAdded,
            counts.InstallationsRemoved, counts.InstallationsSuspended, counts.RepositoriesSeen, counts.RepositoriesAdded,
            counts.RepositoriesReactivated, counts.RepositoriesDisabled, errors) { App = app };
        Log.Finished(logger, app, report.InstallationsSeen, report.InstallationsAdded, report.InstallationsRemoved, report.RepositoriesSeen,
            report.RepositoriesAdded, report.RepositoriesReactivated, report.RepositoriesDisabled, errors.Count, report.Duration);
        return report;
    }

    private async Task<(string? Account, int Repositories, string? Error)> SyncInstallationAsync(
        string app, long id, System.Text.Json.JsonElement json, Counts counts, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);

        var existed = await db.Installations.AnyAsync(i => i.App == app && i.Id == id && i.AccountLogin != null, cancellationToken).ConfigureAwait(false);
        var row = await InstallationDirectory.TrackInstallationAsync(db, app, id, now, cancellationToken).ConfigureAwait(false);
        var wasDeleted = row.Status == InstallationStatus.Deleted;
        InstallationDirectory.Apply(row, json, now, stateAt: now);
        row.Status = row.SuspendedAt is null ? InstallationStatus.Active : InstallationStatus.Suspended;
        row.DeletedAt = null;
        row.SyncedAt = now;
        counts.InstallationsAdded += !existed || wasDeleted ? 1 : 0;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        if (row.Status == InstallationStatus.Suspended)
        {
            counts.InstallationsSuspended++;
            return (row.AccountLogin, 0, null); // a suspended installation gets no token: its repositories stay as they are
        }

        var listed = new HashSet<long>();
        try
        {
            using var client = clients.CreateHttpClient(app, id);
            await foreach (var repository in client.GetAllAsync(new Uri("installation/repositories?per_page=100", UriKind.Relative), "repositories",
                               cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (repository.Int64("id") is not { } repositoryId)
                {
                    continue;
                }

                var known = await db.Repositories.AsNoTracking().Where(r => r.App == app && r.Id == repositoryId).Select(r => (RepositoryStatus?)r.Status)
                    .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                var wanted = known is RepositoryStatus.Archived or RepositoryStatus.Deleted ? known : RepositoryStatus.Active;
                if (repository.Boolean("archived") is { } archived)
                {
                    wanted = archived ? RepositoryStatus.Archived : RepositoryStatus.Active;
                }

                await InstallationDirectory.UpsertRepositoryAsync(db, app, id, repository, now, wanted, cancellationToken).ConfigureAwait(false);
                listed.Add(repositoryId);
                counts.RepositoriesSeen++;
                counts.RepositoriesAdded += known is null ? 1 : 0;
                counts.RepositoriesReactivated += known == RepositoryStatus.Disabled ? 1 : 0;
                if (listed.Count % 100 == 0)
                {
                    await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                    db.ChangeTracker.Clear();
                }
            }
        }
        catch (Exception e) when (e is GitHubApiException or InstallationNotFoundException or InstallationSuspendedException or HttpRequestException)
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            var message = string.Create(CultureInfo.InvariantCulture, $"installation {id} ({row.AccountLogin}): repositories not listed: {e.Message}");
            Log.InstallationFailed(logger, app, id, e.Message);
            return (row.AccountLogin, listed.Count, message);
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        counts.RepositoriesDisabled += await db.Repositories
            .Where(r => r.App == app && r.InstallationId == id && !listed.Contains(r.Id) && (r.Status == RepositoryStatus.Active || r.Status == RepositoryStatus.Archived))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RepositoryStatus.Disabled)
                .SetProperty(r => r.StateEventAt, now)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken)
            .ConfigureAwait(false);
        return (row.AccountLogin, listed.Count, null);
    }

    private async Task RemoveMissingAsync(GitHubApp target, HashSet<long> seen, Counts counts, CancellationToken cancellationToken)
    {
        var app = target.Name;
        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var gone = await db.Installations
            .Where(i => i.App == app && i.Status != InstallationStatus.Deleted && !seen.Contains(i.Id))
            .Select(i => i.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in gone)
        {
            await db.Installations.Where(i => i.App == app && i.Id == id)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(i => i.Status, InstallationStatus.Deleted)
                    .SetProperty(i => i.DeletedAt, now)
                    .SetProperty(i => i.StateEventAt, now)
                    .SetProperty(i => i.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
            counts.RepositoriesDisabled += await InstallationDirectory.DisableRepositoriesAsync(db, app, id, now, cancellationToken).ConfigureAwait(false);
            await target.Tokens.DropAsync(id, cancellationToken).ConfigureAwait(false);
            counts.InstallationsRemoved++;
            Log.InstallationGone(logger, app, id);
        }
    }

    private sealed class Counts
    {
        public int InstallationsSeen;
        public int InstallationsAdded;
        public int InstallationsRemoved;
        public int InstallationsSuspended;
        public int RepositoriesSeen;
        public int RepositoriesAdded;
        public int RepositoriesReactivated;
        public int RepositoriesDisabled;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 510, Level = LogLevel.Information,
            Message = "Sync of App {App}: {Installations} installations ({Added} new, {Removed} gone), {Repositories} repositories ({RepositoriesAdded} new, {Reactivated} back, {Disabled} disabled), {Errors} errors, in {Duration}")]
        public static partial void Finished(ILogger logger, string app, int installations, int added, int removed, int repositories, int repositoriesAdded,
            int reactivated, int disabled, int errors, TimeSpan duration);

        [LoggerMessage(EventId = 511, Level = LogLevel.Warning,
            Message = "Sync of App {App}: installation {InstallationId} is no longer on GitHub: marked deleted, its repositories disabled, its token dropped")]
        public static partial void InstallationGone(ILogger logger, string app, long installationId);

        [LoggerMessage(EventId = 512, Level = LogLevel.Warning, Message = "Sync of App {App}: could not list the repositories of installation {InstallationId}: {Error}")]
        public static partial void InstallationFailed(ILogger logger, string app, long installationId, string error);
    }
}
