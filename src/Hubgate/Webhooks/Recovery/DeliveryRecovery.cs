using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>
/// Finds the deliveries GitHub failed to send to one App (<c>GET /app/hook/deliveries</c> on that App's host, its JWT,
/// cursor pagination, newest first) that the inbox does not hold as that App's, and asks GitHub to send each again
/// (<c>POST /app/hook/deliveries/{id}/attempts</c>); the redelivery comes to that App's webhook URL. Each App has its
/// own run, lease and requests. GitHub lists every attempt; a guid counts as delivered when any of
/// its attempts was answered OK. One run at a time across replicas (a PostgreSQL advisory lock held for the run; on
/// SQLite, where one process owns the file, within the process). What was asked is kept in <c>recovery_requests</c>:
/// a guid is not asked again while GitHub has not sent the redelivery, and never again once Hubgate refused the
/// redelivery with a 4xx (it would be the same bytes, signature and answer) — it is reported instead.
/// </summary>
internal sealed partial class DeliveryRecovery(
    GitHubClientFactory clients,
    IDbContextFactory<HubgateDbContext> databases,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<DeliveryRecovery> logger)
{
    // pg_try_advisory_lock(int, int) class for "delivery recovery" ("HgRc").
    private const int RecoveryLockClass = 0x48675263;

    /// <summary>How long an accepted request may go without GitHub's redelivery showing up before it is asked again.</summary>
    private static readonly TimeSpan AwaitRedeliveryFor = TimeSpan.FromHours(1);

    /// <summary>How long requests are remembered: past GitHub's 3 days of delivery log, they cannot matter.</summary>
    private static readonly TimeSpan ForgetRequestsAfter = TimeSpan.FromDays(7);

    /// <summary>The Apps a run of this process holds the lease of (the whole lease on SQLite, the first step on PostgreSQL).</summary>
    private readonly ConcurrentDictionary<string, bool> _running = new(StringComparer.Ordinal);

    /// <summary>Recovers App <c>default</c>'s deliveries (see <see cref="RecoverAsync(string, TimeSpan, bool, IReadOnlyCollection{string}?, CancellationToken)"/>).</summary>
    public Task<RecoveryReport> RecoverAsync(TimeSpan lookback, bool dryRun = false, IReadOnlyCollection<string>? events = null,
        CancellationToken cancellationToken = default) =>
        RecoverAsync(GitHubApp.DefaultName, lookback, dryRun, events, cancellationToken);

    /// <summary>
    /// Looks back <paramref name="lookback"/> (GitHub keeps deliveries for 3 days) in the delivery log of the App named
    /// <paramref name="app"/> and requests redeliveries of the failed deliveries of <paramref name="events"/> (null:
    /// <c>Webhooks:RecoverEvents</c>; empty: every event). When another run for that App holds the lease, returns at once
    /// with <see cref="RecoveryReport.Skipped"/> set.
    /// </summary>
    /// <exception cref="GitHubAppNotFoundException">No such App.</exception>
    public async Task<RecoveryReport> RecoverAsync(string app, TimeSpan lookback, bool dryRun = false, IReadOnlyCollection<string>? events = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lookback, TimeSpan.Zero);
        var since = time.GetUtcNow() - lookback;
        var wanted = new HashSet<string>(
            (events ?? [.. options.CurrentValue.RecoverEvents]).Select(e => e.Trim()).Where(e => e.Length > 0), StringComparer.OrdinalIgnoreCase);

        using var client = clients.CreateHttpClient(app, installationId: null);
        if (!_running.TryAdd(app, true))
        {
            return Skip(app, since, wanted);
        }

        try
        {
            var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                if (db.IsPostgres)
                {
                    // A session lock on a connection held open for the run: released when the run ends or, if this
                    // process dies, when its connection closes.
                    await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                    var leased = await db.Database
                        .SqlQuery<bool>($"SELECT pg_try_advisory_lock({RecoveryLockClass}, {LockKey(app)}) AS \"Value\"")
                        .SingleAsync(cancellationToken).ConfigureAwait(false);
                    if (!leased)
                    {
                        return Skip(app, since, wanted);
                    }
                }

                try
                {
                    return await RunAsync(db, client, app, since, wanted, dryRun, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (db.IsPostgres)
                    {
                        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({RecoveryLockClass}, {LockKey(app)})", CancellationToken.None)
                            .ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            _running.TryRemove(app, out _);
        }
    }

    /// <summary>A comma-separated list of events (<c>push,pull_request</c>); null when <paramref name="text"/> is empty.</summary>
    public static IReadOnlyCollection<string>? ParseEvents(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// The advisory lock's second key for an App: 0 for <c>default</c> (the key of every release before there were several
    /// Apps, so a mixed-version rollout still runs one recovery at a time), else a stable hash of the name.
    /// </summary>
    private static int LockKey(string app) =>
        app == GitHubApp.DefaultName ? 0 : BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(app)), 0) | 1;

    private RecoveryReport Skip(string app, DateTimeOffset since, HashSet<string> wanted)
    {
        Log.Skipped(logger, app);
        return new RecoveryReport(since, 0, 0, 0, 0, [])
        {
            App = app,
            Events = [.. wanted],
            Skipped = "another recovery run for this App (on this or another replica) is in progress; nothing was asked",
        };
    }

    private async Task<RecoveryReport> RunAsync(HubgateDbContext db, HttpClient client, string app, DateTimeOffset since, HashSet<string> wanted,
        bool dryRun, CancellationToken cancellationToken)
    {
        var (attempts, scanned) = await ListAsync(client, since, cancellationToken).ConfigureAwait(false);

        var failed = attempts.Where(kv => !kv.Value.Any(a => a.Ok)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var deliveredLater = attempts.Count(kv => kv.Value.Any(a => a.Ok) && kv.Value.Any(a => !a.Ok));
        var stored = new HashSet<string>(StringComparer.Ordinal);
        var asked = new Dictionary<string, RecoveryRequestEntity>(StringComparer.Ordinal);
        foreach (var chunk in failed.Keys.Chunk(500))
        {
            stored.UnionWith(await db.WebhookDeliveries.AsNoTracking()
                .Where(d => d.App == app && chunk.Contains(d.DeliveryId))
                .Select(d => d.DeliveryId)
                .ToListAsync(cancellationToken).ConfigureAwait(false));
            foreach (var row in await db.RecoveryRequests.Where(r => r.App == app && chunk.Contains(r.DeliveryGuid)).ToListAsync(cancellationToken).ConfigureAwait(false))
            {
                asked[row.DeliveryGuid] = row;
            }
        }

        var now = time.GetUtcNow();
        var requested = new List<RedeliveryRequest>();
        var refused = new List<RefusedRedelivery>();
        var (awaiting, filtered) = (0, 0);
        foreach (var (guid, list) in failed.Where(kv => !stored.Contains(kv.Key)).OrderBy(kv => kv.Value.Max(a => a.Id)))
        {
            var latest = list.MaxBy(a => a.Id)!;
            if (wanted.Count > 0 && !wanted.Contains(latest.Event))
            {
                filtered++;
                continue;
            }

            asked.TryGetValue(guid, out var row);
            switch (Decide(row, list, now))
            {
                case Decision.Refused:
                    if (row!.Outcome != RecoveryOutcome.Refused && !dryRun)
                    {
                        row.Outcome = RecoveryOutcome.Refused;
                        row.StatusCode = latest.StatusCode;
                        row.Error = latest.Status;
                        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                        Log.RefusedAgain(logger, app, guid, latest.Event, latest.StatusCode, row.Requests);
                    }

                    refused.Add(new RefusedRedelivery(guid, latest.Event, latest.Action, latest.StatusCode, latest.Status, row.Requests, row.LastRequestedAt));
                    continue;
                case Decision.Awaiting:
                    awaiting++;
                    continue;
            }

            var request = dryRun
                ? new RedeliveryRequest(latest.Id, guid, latest.Event, latest.Action, latest.DeliveredAt, latest.Status, false, null)
                : await AskAsync(client, app, latest, cancellationToken).ConfigureAwait(false);
            requested.Add(request);
            if (!dryRun)
            {
                await RememberAsync(db, app, row, latest, request, now, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!dryRun)
        {
            var forgetBefore = now - ForgetRequestsAfter;
            await db.RecoveryRequests.Where(r => r.App == app && r.LastRequestedAt < forgetBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        }

        var report = new RecoveryReport(since, scanned, failed.Count, stored.Count, deliveredLater, requested)
        {
            App = app,
            Refused = refused,
            Awaiting = awaiting,
            Filtered = filtered,
            Events = [.. wanted],
        };
        Log.Finished(logger, app, scanned, failed.Count, stored.Count, report.Accepted, requested.Count - report.Accepted, refused.Count, awaiting, filtered);
        return report;
    }

    private enum Decision
    {
        Ask,
        Awaiting,
        Refused,
    }

    /// <summary>
    /// Whether to ask for a failed guid again, from what was asked before (<paramref name="row"/>) and the attempts
    /// GitHub made since (ids above the one asked for): a 4xx from Hubgate is final; any other failure is asked again;
    /// no attempt yet is waited for, up to <see cref="AwaitRedeliveryFor"/>.
    /// </summary>
    private static Decision Decide(RecoveryRequestEntity? row, List<HookAttempt> attempts, DateTimeOffset now)
    {
        if (row is null || row.Outcome == RecoveryOutcome.NotAccepted)
        {
            return Decision.Ask;
        }

        var since = attempts.Where(a => a.Id > row.HookDeliveryId).MaxBy(a => a.Id);
        if (since is null)
        {
            return row.Outcome == RecoveryOutcome.Refused ? Decision.Refused
                : now - row.LastRequestedAt < AwaitRedeliveryFor ? Decision.Awaiting
                : Decision.Ask;
        }

        return since.StatusCode is >= 400 and < 500 ? Decision.Refused : Decision.Ask;
    }

    /// <summary>Every attempt GitHub lists since <paramref name="since"/>, by guid, and how many were read.</summary>
    private static async Task<(Dictionary<string, List<HookAttempt>> Attempts, int Scanned)> ListAsync(HttpClient client, DateTimeOffset since,
        CancellationToken cancellationToken)
    {
        var attempts = new Dictionary<string, List<HookAttempt>>(StringComparer.Ordinal);
        var scanned = 0;
        await foreach (var item in client.GetAllAsync(new Uri("app/hook/deliveries?per_page=100", UriKind.Relative),
                           cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var attempt = HookAttempt.From(item);
            if (attempt is null)
            {
                continue;
            }

            if (attempt.DeliveredAt < since)
            {
                break; // newest first: everything after this is older
            }

            scanned++;
            if (!attempts.TryGetValue(attempt.Guid, out var list))
            {
                attempts[attempt.Guid] = list = [];
            }

            list.Add(attempt);
        }

        return (attempts, scanned);
    }

    /// <summary>Asks GitHub to redeliver <paramref name="latest"/> (GitHub sends the same body, signature and guid).</summary>
    private async Task<RedeliveryRequest> AskAsync(HttpClient client, string app, HookAttempt latest, CancellationToken cancellationToken)
    {
        string? error;
        var accepted = false;
        try
        {
            using var response = await client.PostAsync(
                new Uri($"app/hook/deliveries/{latest.Id.ToString(CultureInfo.InvariantCulture)}/attempts", UriKind.Relative),
                content: null, cancellationToken).ConfigureAwait(false);
            accepted = response.IsSuccessStatusCode;
            error = accepted ? null : $"GitHub answered {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            error = e.Message;
        }
        catch (GitHubApiException e)
        {
            error = e.Message;
        }

        if (accepted)
        {
            Log.Redelivery(logger, app, latest.Guid, latest.Event, latest.Status);
        }
        else
        {
            Log.RedeliveryFailed(logger, app, latest.Guid, latest.Event, error!);
        }

        return new RedeliveryRequest(latest.Id, latest.Guid, latest.Event, latest.Action, latest.DeliveredAt, latest.Status, accepted, error);
    }

    /// <summary>Records the request at once, so a run that stops half-way still leaves what it asked.</summary>
    private static async Task RememberAsync(HubgateDbContext db, string app, RecoveryRequestEntity? row, HookAttempt latest, RedeliveryRequest request,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (row is null)
        {
            row = new RecoveryRequestEntity { App = app, DeliveryGuid = latest.Guid, Event = latest.Event, FirstRequestedAt = now };
            db.RecoveryRequests.Add(row);
        }

        row.Action = latest.Action;
        row.HookDeliveryId = latest.Id;
        row.LastRequestedAt = now;
        row.Requests++;
        row.Outcome = request.Accepted ? RecoveryOutcome.Requested : RecoveryOutcome.NotAccepted;
        row.StatusCode = null;
        row.Error = request.Error;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed record HookAttempt(long Id, string Guid, string Event, string? Action, DateTimeOffset DeliveredAt, string Status, int StatusCode)
    {
        /// <summary>GitHub's <c>status</c> is <c>OK</c> for a delivery answered with 2xx.</summary>
        public bool Ok => string.Equals(Status, "OK", StringComparison.OrdinalIgnoreCase);

        public static HookAttempt? From(JsonElement item)
        {
            if (item.ValueKind != JsonValueKind.Object ||
                !item.TryGetProperty("id", out var id) || !id.TryGetInt64(out var idValue) ||
                !item.TryGetProperty("guid", out var guid) || guid.GetString() is not { Length: > 0 } guidValue ||
                !item.TryGetProperty("delivered_at", out var at) || !at.TryGetDateTimeOffset(out var deliveredAt))
            {
                return null;
            }

            return new HookAttempt(
                idValue,
                guidValue,
                item.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "",
                item.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null,
                deliveredAt,
                item.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "",
                item.TryGetProperty("status_code", out var c) && c.TryGetInt32(out var code) ? code : 0);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 330, Level = LogLevel.Information, Message = "Asked GitHub to redeliver App {App}'s delivery {Guid} ({Event}); its last attempt: {Status}")]
        public static partial void Redelivery(ILogger logger, string app, string guid, string @event, string status);

        [LoggerMessage(EventId = 331, Level = LogLevel.Warning, Message = "Could not ask GitHub to redeliver App {App}'s delivery {Guid} ({Event}): {Error}")]
        public static partial void RedeliveryFailed(ILogger logger, string app, string guid, string @event, string error);

        [LoggerMessage(EventId = 332, Level = LogLevel.Information,
            Message = "Delivery recovery of App {App}: {Scanned} attempts scanned, {Failed} deliveries never delivered, {Stored} of them already stored, {Accepted} redeliveries requested, {NotAccepted} not accepted by GitHub, {Refused} refused again by Hubgate, {Awaiting} awaiting GitHub's redelivery, {Filtered} left out by the event filter")]
        public static partial void Finished(ILogger logger, string app, int scanned, int failed, int stored, int accepted, int notAccepted, int refused, int awaiting,
            int filtered);

        [LoggerMessage(EventId = 334, Level = LogLevel.Warning,
            Message = "GitHub redelivered App {App}'s delivery {Guid} ({Event}) and Hubgate refused it again with {StatusCode} (asked {Requests} times): not asking again. Look at why it is refused (webhook secret, size, payload).")]
        public static partial void RefusedAgain(ILogger logger, string app, string guid, string @event, int statusCode, int requests);

        [LoggerMessage(EventId = 335, Level = LogLevel.Information, Message = "Delivery recovery of App {App} skipped: another run holds its recovery lease")]
        public static partial void Skipped(ILogger logger, string app);
    }
}
