using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Storage;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// A <c>Stream</c> subscription read as Server-Sent Events from the real server: every delivery its filter passes, in
/// sequence order, GitHub's bytes exactly; resumable after <c>Last-Event-ID</c>, or after what was acknowledged; nothing
/// lost while the listener is away; readable only by admins and clients granted the stream.
/// </summary>
public sealed class StreamTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Listener_GetsEveryDeliveryItsFilterPasses_InSequenceOrder_WithGitHubsExactBytes()
    {
        using var host = new StreamHost();
        var push = WebhookFixtures.Load("push", "payload.json");
        // JSON may break lines between values: such a body travels on several data: lines and is joined back exactly.
        var multiLine = "{\n  \"action\": \"started\",\n  \"n\": 99,\n  \"note\": \"tab\\there \\\"quoted\\\" \u00e9\"\n}"u8.ToArray();
        var sent = new List<(string Id, string Event, byte[] Body)>();
        sent.Add(("", "watch", StreamHost.Watch(1)));
        sent.Add(("", "issues", "{\"action\":\"opened\",\"issue\":{\"number\":1}}"u8.ToArray()));
        sent.Add(("", "push", push));
        sent.Add(("", "watch", multiLine));
        sent.Add(("", "watch", StreamHost.Watch(2)));
        for (var i = 0; i < sent.Count; i++)
        {
            sent[i] = sent[i] with { Id = await host.SendAsync(sent[i].Event, sent[i].Body) };
        }

        var expected = sent.Where(s => s.Event != "issues").ToList();
        var events = await host.ReadAsync(expected.Count, Limit);

        Assert.Equal(expected.Select(s => s.Id), events.Select(e => e.DeliveryId));
        Assert.Equal(expected.Select(s => s.Event), events.Select(e => e.Type));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Body, events[i].Payload);
            Assert.Equal(events[i].Sequence.ToString(CultureInfo.InvariantCulture), events[i].Id);
        }

        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence), "events are in sequence order");
        Assert.DoesNotContain(await host.RowsAsync(), r => r.DeliveryId == sent[1].Id); // the filter kept issues out
        Assert.Equal("octo/stream", events[0].Repository);
    }

    [Fact]
    public async Task LastEventId_OrAfter_ResumesExactlyAfterThatSequence()
    {
        using var host = new StreamHost();
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await host.SendAsync("watch", StreamHost.Watch(i)));
        }

        var all = await host.ReadAsync(6, Limit);
        var resumed = await host.ReadAsync(3, Limit, lastEventId: all[2].Sequence);
        var after = await host.ReadAsync(1, Limit, query: $"?after={all[4].Sequence}");

        Assert.Equal(ids.Skip(3), resumed.Select(e => e.DeliveryId));
        Assert.Equal(ids[5], after.Single().DeliveryId);
    }

    [Fact]
    public async Task Ack_MarksRowsUpToItDelivered_AndAListenerWithoutACursorResumesAfterIt()
    {
        using var host = new StreamHost();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await host.SendAsync("watch", StreamHost.Watch(i)));
        }

        var first = await host.ReadAsync(4, Limit);
        var acknowledged = await AckAsync(host, StreamHost.ListenerKey, JsonContent.Create(new { sequence = first[1].Sequence }), "");

        Assert.Equal(2, acknowledged.GetProperty("acknowledged").GetInt32());
        var rows = await host.RowsAsync();
        Assert.Equal([DeliveryState.Processed, DeliveryState.Processed, DeliveryState.Pending, DeliveryState.Pending], rows.Select(r => r.State));

        var again = await host.ReadAsync(2, Limit);
        Assert.Equal(ids.Skip(2), again.Select(e => e.DeliveryId));

        var rest = await AckAsync(host, StreamHost.ListenerKey, null, $"?sequence={again[1].Sequence}");
        Assert.Equal(2, rest.GetProperty("acknowledged").GetInt32());
        Assert.All(await host.RowsAsync(), r => Assert.Equal(DeliveryState.Processed, r.State));
    }

    // The 30 s away is the listener's, the same on both databases; the stream's reads on PostgreSQL are the other tests'
    // here, in both passes. One pass keeps the suite within its time.
    [Fact]
    [Trait("Database", "Sqlite")]
    public async Task ListenerAwayFor30SecondsDuringABurstOf2000_GetsAll2000InSequenceOrderAfterReconnecting()
    {
        const int Burst = 2000;
        using var host = new StreamHost();
        // One after another: concurrent ingest on PostgreSQL can commit, and the fan-out hand out, a later sequence
        // before an earlier one, which a cursor by sequence does not go back for.
        var sending = Task.Run(async () =>
        {
            for (var n = 0; n < Burst; n++)
            {
                await host.SendAsync("watch", StreamHost.Watch(n));
            }
        });

        // Connected at the start of the burst, then gone for 30 s while it goes on.
        var before = await host.ReadAsync(50, TimeSpan.FromSeconds(120));
        var away = System.Diagnostics.Stopwatch.StartNew();
        await sending;
        var left = TimeSpan.FromSeconds(30) - away.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }

        var after = await host.TryReadAsync(Burst - before.Count, TimeSpan.FromSeconds(180), lastEventId: before[^1].Sequence);

        var received = before.Concat(after).ToList();
        var stored = await host.RowsAsync();
        var missing = stored.Where(r => !received.Any(e => e.Sequence == r.Sequence)).ToList();
        // Which deliveries never came, and where they stand: what tells a lost fan-out from a skipped read.
        Assert.True(missing.Count == 0 && received.Count == Burst, $"Received {received.Count} of {Burst} ({before.Count} before, reconnected after "
            + $"{before[^1].Sequence}); {stored.Count} rows for the stream; not received: "
            + string.Join(", ", missing.Take(10).Select(m => $"#{m.Sequence} ({m.State}, row {stored.IndexOf(m)})"))
            + $"; inbox: {await host.InboxCountAsync()} deliveries, sequences {await host.InboxRangeAsync()}.");
        Assert.Equal(Burst, stored.Count);
        Assert.Equal(stored.Select(r => r.DeliveryId), received.Select(e => e.DeliveryId));
        Assert.Equal(stored.Select(r => r.Sequence), received.Select(e => e.Sequence));
    }

    [Fact]
    public async Task ClientWithoutTheStreamRight_Gets403_OnEventsAndAck_WhileTheGrantedClientReads()
    {
        using var host = new StreamHost();
        await host.SendAsync("watch", StreamHost.Watch(1));

        using var events = await host.Client.SendAsync(StreamHost.EventsRequest(StreamHost.OtherKey), HttpCompletionOption.ResponseHeadersRead);
        using var ack = new HttpRequestMessage(HttpMethod.Post, "/api/subscriptions/dev/ack?sequence=1");
        ack.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StreamHost.OtherKey);
        using var acked = await host.Client.SendAsync(ack);

        Assert.Equal(HttpStatusCode.Forbidden, events.StatusCode);
        Assert.Equal("streams", (await events.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rule").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, acked.StatusCode);
        Assert.Single(await host.ReadAsync(1, Limit, key: StreamHost.ListenerKey));
        Assert.All(await host.RowsAsync(), r => Assert.Equal(DeliveryState.Pending, r.State));
    }

    [Fact]
    public async Task AClientAddedAtRunTime_WithTheStream_ReadsIt_OneWithoutItGets403_AndTheListShowsTheRight()
    {
        using var host = new StreamHost();
        await host.SendAsync("watch", StreamHost.Watch(1));

        async Task<(string Key, JsonElement Client)> AddAsync(string body)
        {
            using var add = new HttpRequestMessage(HttpMethod.Post, "/api/clients") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            add.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StreamHost.AdminKey);
            using var added = await host.Client.SendAsync(add);
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            var json = await added.Content.ReadFromJsonAsync<JsonElement>();
            return (json.GetProperty("key").GetString()!, json.GetProperty("client"));
        }

        var (readerKey, reader) = await AddAsync("""{"name":"ci-reader","streams":["dev"]}""");
        var (plainKey, _) = await AddAsync("""{"name":"ci-plain"}""");

        Assert.Equal(["dev"], reader.GetProperty("streams").EnumerateArray().Select(s => s.GetString()));
        Assert.Single(await host.ReadAsync(1, Limit, key: readerKey));
        using (var refused = await host.Client.SendAsync(StreamHost.EventsRequest(plainKey), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/clients");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StreamHost.AdminKey);
        var listed = (await (await host.Client.SendAsync(list)).Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("streams").EnumerateArray().Select(s => s.GetString()).ToList());
        Assert.Equal(["dev"], listed["ci-reader"]);
        Assert.Empty(listed["ci-plain"]);
        Assert.Equal(["dev"], listed["listener"]); // configured: Hubgate:Clients:listener:Streams
    }

    [Fact]
    public async Task AClientAddedAtRunTime_WithAStreamNameThatCannotBe_IsRefused_NamingTheField()
    {
        using var host = new StreamHost();
        using var add = new HttpRequestMessage(HttpMethod.Post, "/api/clients")
        {
            Content = new StringContent("""{"name":"ci-bad","streams":["Dev Stream"]}""", Encoding.UTF8, "application/json"),
        };
        add.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StreamHost.AdminKey);

        using var refused = await host.Client.SendAsync(add);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("Streams:0", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("held", HttpStatusCode.Conflict)]    // paused
    [InlineData("local", HttpStatusCode.Conflict)]   // not a stream
    [InlineData("nothing", HttpStatusCode.NotFound)]
    [InlineData("dev", HttpStatusCode.BadRequest, "?after=last")]
    public async Task Events_AnswersAProblem_ForWhatCannotBeRead(string subscription, HttpStatusCode status, string query = "")
    {
        using var host = new StreamHost();

        using var response = await host.Client.SendAsync(StreamHost.EventsRequest(StreamHost.AdminKey, subscription, query), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<JsonElement> AckAsync(StreamHost host, string key, HttpContent? content, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/subscriptions/dev/ack" + query) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        using var answer = JsonDocument.Parse(Encoding.UTF8.GetBytes(body));
        return answer.RootElement.Clone();
    }
}
