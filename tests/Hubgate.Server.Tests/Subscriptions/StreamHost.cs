using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// The real server on Kestrel at 127.0.0.1 with a Stream subscription <c>dev</c> (events <c>push</c> and <c>watch</c>), a
/// paused one <c>held</c>, a client <c>listener</c> allowed to read <c>dev</c> and a client <c>other</c> that is not; and
/// a listener's side of the stream, read with the runtime's Server-Sent Events parser.
/// </summary>
internal sealed class StreamHost : IDisposable
{
    public const string Secret = "stream-webhook-secret";
    public const string AdminKey = "stream-admin-key-7d1e";
    public const string ListenerKey = "stream-listener-key-2b9a";
    public const string OtherKey = "stream-other-key-c40f";

    public StreamHost()
    {
        App = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = AdminKey,
            ["Hubgate:Clients:listener:Key"] = ListenerKey,
            ["Hubgate:Clients:listener:Streams:0"] = "dev",
            ["Hubgate:Clients:other:Key"] = OtherKey,
            ["GitHub:WebhookSecret"] = Secret,
            ["Subscriptions:dev:Kind"] = "Stream",
            ["Subscriptions:dev:Events:0"] = "push",
            ["Subscriptions:dev:Events:1"] = "watch",
            ["Subscriptions:held:Kind"] = "Stream",
            ["Subscriptions:held:Paused"] = "true",
        });
        App.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        App.StartServer();
        // Kestrel's own address (loopback, the port it was given), spoken to with a plain client: a real listener's view.
        var address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Client = new HttpClient { BaseAddress = new Uri(address), Timeout = Timeout.InfiniteTimeSpan };
    }

    public HubgateApplication App { get; }

    public HttpClient Client { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    public void Dispose()
    {
        Client.Dispose();
        App.Dispose();
    }

    /// <summary>Delivers <paramref name="body"/> as GitHub would; returns its delivery id.</summary>
    public async Task<string> SendAsync(string @event, byte[] body)
    {
        var id = Guid.NewGuid().ToString();
        using var request = WebhookFixtures.Delivery("/webhooks/github", @event, body, Secret, id);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return id;
    }

    /// <summary>A small <c>watch</c> body, different for each <paramref name="n"/>.</summary>
    public static byte[] Watch(int n) => System.Text.Encoding.UTF8.GetBytes(
        $"{{\"action\":\"started\",\"n\":{n},\"repository\":{{\"id\":7,\"full_name\":\"octo/stream\"}},\"sender\":{{\"login\":\"d\u00e9v\"}}}}");

    public static HttpRequestMessage EventsRequest(string key, string subscription = "dev", string query = "", long? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/subscriptions/{subscription}/events{query}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    /// <summary>
    /// Connects as a listener, reads <paramref name="count"/> events (failing after <paramref name="limit"/>), then
    /// disconnects.
    /// </summary>
    public async Task<List<Event>> ReadAsync(int count, TimeSpan limit, string query = "", long? lastEventId = null, string key = ListenerKey)
    {
        var events = await TryReadAsync(count, limit, query, lastEventId, key);
        Assert.True(events.Count == count, $"The listener got {events.Count} of {count} events within {limit}.");
        return events;
    }

    /// <summary>As <see cref="ReadAsync"/>, but returns what came within <paramref name="limit"/>, however many.</summary>
    public async Task<List<Event>> TryReadAsync(int count, TimeSpan limit, string query = "", long? lastEventId = null, string key = ListenerKey)
    {
        using var deadline = new CancellationTokenSource(limit);
        using var request = EventsRequest(key, query: query, lastEventId: lastEventId);
        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<Event>(count);
        var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
        await using (stream)
        {
            try
            {
                await foreach (var item in SseParser.Create(stream, (_, data) => data.ToArray()).EnumerateAsync(deadline.Token))
                {
                    events.Add(Event.Parse(item));
                    if (events.Count == count)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
            }
        }

        return events;
    }

    /// <summary>How many deliveries the inbox holds.</summary>
    public async Task<int> InboxCountAsync()
    {
        await using var db = await App.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.WebhookDeliveries.CountAsync();
    }

    /// <summary>The inbox's smallest and largest sequence, and how many are not fanned out, as text for a failure message.</summary>
    public async Task<string> InboxRangeAsync()
    {
        await using var db = await App.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var first = await db.WebhookDeliveries.MinAsync(d => (long?)d.Id);
        var last = await db.WebhookDeliveries.MaxAsync(d => (long?)d.Id);
        var waiting = await db.WebhookDeliveries.CountAsync(d => !d.FannedOut);
        return $"{first}-{last}, {waiting} not fanned out";
    }

    /// <summary>The delivery ids of <paramref name="subscription"/>'s rows, in sequence order, with their state.</summary>
    public async Task<List<(long Sequence, string DeliveryId, DeliveryState State)>> RowsAsync(string subscription = "dev")
    {
        await using var db = await App.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var rows = await db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == subscription)
            .Join(db.WebhookDeliveries.AsNoTracking(), s => s.DeliverySeq, d => d.Id, (s, d) => new { s.DeliverySeq, d.DeliveryId, s.State })
            .OrderBy(r => r.DeliverySeq).ToListAsync();
        return rows.Select(r => (r.DeliverySeq, r.DeliveryId, r.State)).ToList();
    }

    /// <summary>One event as a listener reads it: the SSE id and type, and the envelope (payload as its raw bytes).</summary>
    internal sealed record Event(string? Id, string Type, long Sequence, string DeliveryId, string GitHubEvent, string? Repository, byte[] Payload)
    {
        public static Event Parse(SseItem<byte[]> item)
        {
            using var envelope = JsonDocument.Parse(item.Data);
            var root = envelope.RootElement;
            return new Event(item.EventId, item.EventType, root.GetProperty("sequence").GetInt64(), root.GetProperty("deliveryId").GetString()!,
                root.GetProperty("event").GetString()!, root.GetProperty("repository").GetString(),
                BodyOf(item.Data));
        }

        /// <summary>The envelope's last member is the body: every byte after <c>"payload":</c> up to the closing brace.</summary>
        private static byte[] BodyOf(byte[] data)
        {
            var start = data.AsSpan().IndexOf("\"payload\":"u8) + "\"payload\":"u8.Length;
            return data[start..data.AsSpan().LastIndexOf((byte)'}')];
        }
    }
}
