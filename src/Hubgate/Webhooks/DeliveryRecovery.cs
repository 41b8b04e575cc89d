using System.Globalization;
using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Hubgate.Webhooks;

/// <summary>One redelivery Hubgate asked GitHub for.</summary>
public sealed record RedeliveryRequest(long HookDeliveryId, string DeliveryGuid, string Event, string? Action, DateTimeOffset DeliveredAt, string Status, bool Accepted, string? Error);

/// <summary>What a recovery run found and did.</summary>
public sealed record RecoveryReport(
    DateTimeOffset Since,
    int Scanned,
    int Failed,
    int AlreadyStored,
    int DeliveredLater,
    IReadOnlyList<RedeliveryRequest> Requested)
{
    public int Accepted => Requested.Count(r => r.Accepted);
}

/// <summary>
/// Finds the deliveries GitHub failed to send (<c>GET /app/hook/deliveries</c>, App JWT, cursor pagination, newest
/// first) that the inbox does not hold, and asks GitHub to send each again
/// (<c>POST /app/hook/deliveries/{id}/attempts</c>). GitHub lists every attempt; a guid counts as delivered when any of
/// its attempts was answered OK.
/// </summary>
public sealed partial class DeliveryRecovery(
    IHttpClientFactory clients,
    IDbContextFactory<HubgateDbContext> databases,
    TimeProvider time,
    ILogger<DeliveryRecovery> logger)
{
    /// <summary>Looks back <paramref name="lookback"/> (GitHub keeps deliveries for 3 days) and requests redeliveries.</summary>
    public async Task<RecoveryReport> RecoverAsync(TimeSpan lookback, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lookback, TimeSpan.Zero);
        var since = time.GetUtcNow() - lookback;
        var client = clients.CreateClient(GitHubClientFactory.ClientName);

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

        var failedGuids = attempts.Where(kv => !kv.Value.Any(a => a.Ok)).Select(kv => kv.Key).ToList();
        var deliveredLater = attempts.Count(kv => kv.Value.Any(a => a.Ok) && kv.Value.Any(a => !a.Ok));
        HashSet<string> stored;
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            stored = [];
            foreach (var chunk in failedGuids.Chunk(500))
            {
                stored.UnionWith(await db.WebhookDeliveries.AsNoTracking()
                    .Where(d => chunk.Contains(d.DeliveryId))
                    .Select(d => d.DeliveryId)
                    .ToListAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        var requested = new List<RedeliveryRequest>();
        foreach (var guid in failedGuids.Where(g => !stored.Contains(g)))
        {
            // Redeliver the latest attempt (GitHub lists newest first).
            var latest = attempts[guid][0];
            string? error = null;
            var accepted = false;
            if (!dryRun)
            {
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
            }

            if (accepted)
            {
                Log.Redelivery(logger, latest.Guid, latest.Event, latest.Status);
            }
            else if (error is not null)
            {
                Log.RedeliveryFailed(logger, latest.Guid, latest.Event, error);
            }

            requested.Add(new RedeliveryRequest(latest.Id, latest.Guid, latest.Event, latest.Action, latest.DeliveredAt, latest.Status, accepted, error));
        }

        var report = new RecoveryReport(since, scanned, failedGuids.Count, stored.Count, deliveredLater, requested);
        Log.Finished(logger, scanned, failedGuids.Count, stored.Count, report.Accepted, requested.Count - report.Accepted);
        return report;
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
        [LoggerMessage(EventId = 330, Level = LogLevel.Information, Message = "Asked GitHub to redeliver {Guid} ({Event}); its last attempt: {Status}")]
        public static partial void Redelivery(ILogger logger, string guid, string @event, string status);

        [LoggerMessage(EventId = 331, Level = LogLevel.Warning, Message = "Could not ask GitHub to redeliver {Guid} ({Event}): {Error}")]
        public static partial void RedeliveryFailed(ILogger logger, string guid, string @event, string error);

        [LoggerMessage(EventId = 332, Level = LogLevel.Information,
            Message = "Delivery recovery: {Scanned} attempts scanned, {Failed} deliveries never delivered, {Stored} of them already stored, {Accepted} redeliveries requested, {Refused} refused")]
        public static partial void Finished(ILogger logger, int scanned, int failed, int stored, int accepted, int refused);
    }
}
