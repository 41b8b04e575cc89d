using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>
/// GitHub's delivery log and redelivery (<c>GET /app/hook/deliveries</c>, <c>POST /app/hook/deliveries/{id}/attempts</c>)
/// as GitHub does them: a redelivery is answered 202 and then sent for real — the same body, signed with the App's
/// webhook secret, the same <c>X-GitHub-Delivery</c> — to the App's webhook URL within GitHub's 10 s, and added to the
/// log as a new attempt (a new, higher id, <c>redelivery: true</c>) with Hubgate's answer as its status; with no URL
/// configured (or none reachable) the attempt is logged as <c>failed to connect to host</c>, status code 0. Also a
/// settable latency per path, for slow-GitHub tests.
/// </summary>
public sealed partial class FakeGitHubServer
{
    private readonly Dictionary<string, byte[]> _hookPayloads = new(StringComparer.Ordinal);
    private readonly List<Task> _redeliveriesInFlight = [];
    private readonly List<(string Prefix, TimeSpan Delay, bool Exact)> _latencies = [];
    private (HttpClient Client, string Path, string Secret)? _webhook;

    /// <summary>
    /// The App's webhook: where redeliveries go (<paramref name="client"/>'s base address + <paramref name="path"/>)
    /// and the secret they are signed with.
    /// </summary>
    internal void SendWebhooksTo(HttpClient client, string path, string secret)
    {
        lock (_lock)
        {
            _webhook = (client, path, secret);
        }
    }

    /// <summary>A delivery in the log whose body GitHub keeps, so a redelivery of it sends <paramref name="payload"/> again.</summary>
    internal FakeHookDelivery AddHookDelivery(string guid, string @event, string? action, string status, int statusCode, DateTimeOffset deliveredAt,
        byte[] payload, long? installationId = null, long? repositoryId = null, long? appId = null)
    {
        lock (_lock)
        {
            _hookPayloads[guid] = payload; // first: a redelivery asked for as soon as the attempt is listed finds it
        }

        return AddHookDelivery(guid, @event, action, status, statusCode, deliveredAt, installationId, repositoryId, appId);
    }

    /// <summary>Every attempt in the log, oldest first.</summary>
    internal IReadOnlyList<FakeHookDelivery> HookDeliveryLog
    {
        get
        {
            lock (_lock)
            {
                return [.. _hookDeliveries];
            }
        }
    }

    /// <summary>Waits until every redelivery asked for so far has been sent and logged.</summary>
    internal Task RedeliveriesSentAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll([.. _redeliveriesInFlight]);
        }
    }

    /// <summary>
    /// Every request whose path (below the API base, without the query) starts with <paramref name="pathPrefix"/> — or,
    /// when <paramref name="exact"/>, is exactly it — is answered <paramref name="delay"/> later.
    /// </summary>
    internal void AddLatency(string pathPrefix, TimeSpan delay, bool exact = false)
    {
        lock (_lock)
        {
            _latencies.Add((pathPrefix, delay, exact));
        }
    }

    private Task LatencyAsync(string path, CancellationToken cancellationToken)
    {
        TimeSpan delay;
        lock (_lock)
        {
            delay = _latencies.Where(l => l.Exact ? path == l.Prefix : path.StartsWith(l.Prefix, StringComparison.Ordinal)).Select(l => l.Delay).DefaultIfEmpty().Max();
        }

        return delay > TimeSpan.Zero ? Task.Delay(delay, cancellationToken) : Task.CompletedTask;
    }

    private Answer HookDeliveries(HttpContext context, long appId)
    {
        var query = context.Request.Query;
        var perPage = Math.Clamp(int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var pp) ? pp : 30, 1, 100);
        List<FakeHookDelivery> all;
        lock (_lock)
        {
            all = [.. _hookDeliveries.Where(d => d.AppId == appId).OrderByDescending(d => d.DeliveredAt).ThenByDescending(d => d.Id)];
        }

        var start = 0;
        if (query["cursor"].ToString() is { Length: > 0 } cursor)
        {
            start = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(cursor)), CultureInfo.InvariantCulture);
        }

        var page = all.Skip(start).Take(perPage).Select(d => new
        {
            id = d.Id,
            guid = d.Guid,
            delivered_at = Iso(d.DeliveredAt),
            redelivery = d.Redelivery,
            duration = 0.25,
            status = d.Status,
            status_code = d.StatusCode,
            @event = d.Event,
            action = d.Action,
            installation_id = d.InstallationId,
            repository_id = d.RepositoryId,
            throttled_at = (string?)null,
        }).ToList();
        var answer = Ok(page);
        if (start + perPage < all.Count)
        {
            var next = Convert.ToBase64String(Encoding.UTF8.GetBytes((start + perPage).ToString(CultureInfo.InvariantCulture)));
            answer.Headers["Link"] = $"<{context.Request.Scheme}://{context.Request.Host}{context.Request.Path}?per_page={perPage}&cursor={Uri.EscapeDataString(next)}>; rel=\"next\"";
        }

        return answer;
    }

    private Answer Redeliver(string id, DateTimeOffset now, long appId)
    {
        lock (_lock)
        {
            if (!long.TryParse(id, CultureInfo.InvariantCulture, out var deliveryId) ||
                _hookDeliveries.Find(d => d.Id == deliveryId && d.AppId == appId) is not { } original)
            {
                return Error(404, "Not Found");
            }

            if (original.DeliveredAt < now - TimeSpan.FromDays(3))
            {
                return Error(422, "Validation Failed"); // GitHub keeps deliveries for 3 days
            }

            _redeliveries.Add(deliveryId);
            _redeliveriesInFlight.Add(Task.Run(() => SendAgainAsync(original)));
        }

        return new Answer(202, "{}");
    }

    private async Task SendAgainAsync(FakeHookDelivery original)
    {
        (HttpClient Client, string Path, string Secret)? webhook;
        byte[]? payload;
        lock (_lock)
        {
            webhook = original.AppId == AppId ? _webhook : _appWebhooks.TryGetValue(original.AppId, out var other) ? other : null;
            payload = _hookPayloads.GetValueOrDefault(original.Guid);
        }

        var (status, code) = ("failed to connect to host", 0);
        if (webhook is { } target)
        {
            using var request = WebhookDelivery.CreateRequest(new Uri(target.Path, UriKind.Relative), original.Event, payload ?? "{}"u8.ToArray(), target.Secret, original.Guid);
            request.Headers.Remove("X-GitHub-Hook-Installation-Target-ID");
            request.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-ID", original.AppId.ToString(CultureInfo.InvariantCulture));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                using var response = await target.Client.SendAsync(request, timeout.Token).ConfigureAwait(false);
                code = (int)response.StatusCode;
                status = response.IsSuccessStatusCode ? "OK" : $"Invalid HTTP Response: {code}";
            }
            catch (HttpRequestException)
            {
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                status = "timed out";
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        lock (_lock)
        {
            _hookDeliveries.Add(original with
            {
                Id = _hookDeliveries.Count + 1_000_001,
                Status = status,
                StatusCode = code,
                DeliveredAt = Clock.UtcNow,
                Redelivery = true,
            });
        }
    }
}
