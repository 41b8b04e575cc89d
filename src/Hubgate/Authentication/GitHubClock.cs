using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Hubgate.Authentication;

/// <summary>
/// GitHub's idea of "now": the local <see cref="TimeProvider"/> plus an offset learned from GitHub's
/// <c>Date</c> header when GitHub rejected a JWT for its <c>iat</c>/<c>exp</c>. The offset is persisted so a
/// restarted process on a skewed machine does not have to fail once to learn it again.
/// </summary>
internal sealed partial class GitHubClock(
    TimeProvider time,
    IDbContextFactory<HubgateDbContext> contexts,
    ILogger<GitHubClock> logger)
{
    internal const string StateKey = "github.clock_offset_ms";
    private long _offsetTicks;
    private Task? _loaded;

    /// <summary>The App whose host this clock follows; its offset is kept in that App's <c>app_state</c> row.</summary>
    public string App { get; init; } = Apps.GitHubApp.DefaultName;

    /// <summary>How far GitHub's clock is ahead of ours (negative: behind).</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>The current time as GitHub sees it.</summary>
    public DateTimeOffset UtcNow => time.GetUtcNow() + Offset;

    /// <summary>Local time, without the offset (for expiry bookkeeping of tokens GitHub dated itself).</summary>
    public TimeProvider TimeProvider => time;

    /// <summary>Loads the persisted offset once per process.</summary>
    public Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        var loaded = Volatile.Read(ref _loaded);
        if (loaded is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        loaded = LoadAsync(cancellationToken);
        Volatile.Write(ref _loaded, loaded);
        return loaded;
    }

    /// <summary>Learns the offset from a GitHub response's <c>Date</c> header and persists it.</summary>
    /// <returns>True when the offset changed.</returns>
    public async Task<bool> LearnFromAsync(DateTimeOffset gitHubNow, CancellationToken cancellationToken)
    {
        var offset = gitHubNow - time.GetUtcNow();
        // The Date header has one-second resolution; round so retries converge instead of flapping.
        offset = TimeSpan.FromSeconds(Math.Round(offset.TotalSeconds));
        var previous = TimeSpan.FromTicks(Interlocked.Exchange(ref _offsetTicks, offset.Ticks));
        if (previous == offset)
        {
            return false;
        }

        Log.OffsetLearned(logger, previous.TotalSeconds, offset.TotalSeconds);
        try
        {
            var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var value = ((long)offset.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var row = await db.AppState.FindAsync([App, StateKey], cancellationToken).ConfigureAwait(false);
                if (row is null)
                {
                    db.AppState.Add(new AppStateEntity { App = App, Key = StateKey, Value = value, UpdatedAt = time.GetUtcNow() });
                }
                else
                {
                    row.Value = value;
                    row.UpdatedAt = time.GetUtcNow();
                }

                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is DbUpdateException or System.Data.Common.DbException or InvalidOperationException)
        {
            // The offset still applies in memory; persisting it is an optimisation for the next start.
            Log.OffsetNotPersisted(logger, ex.GetType().Name);
        }

        return true;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var row = await db.AppState.AsNoTracking()
                    .FirstOrDefaultAsync(s => s.App == App && s.Key == StateKey, cancellationToken).ConfigureAwait(false);
                if (row?.Value is { } value && long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var ms))
                {
                    Interlocked.CompareExchange(ref _offsetTicks, TimeSpan.FromMilliseconds(ms).Ticks, 0);
                }
            }
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            Log.OffsetNotLoaded(logger, ex.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "GitHub's clock differs from ours: offset changed from {PreviousSeconds}s to {OffsetSeconds}s; App JWTs are now dated by GitHub's clock")]
        public static partial void OffsetLearned(ILogger logger, double previousSeconds, double offsetSeconds);

        [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Could not persist the clock offset ({Error}); it applies to this process only")]
        public static partial void OffsetNotPersisted(ILogger logger, string error);

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Could not load the persisted clock offset ({Error}); starting from zero")]
        public static partial void OffsetNotLoaded(ILogger logger, string error);
    }
}
