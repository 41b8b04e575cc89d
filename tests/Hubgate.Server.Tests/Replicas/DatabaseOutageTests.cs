using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;
using Npgsql;

namespace Hubgate.Server.Tests.Replicas;

/// <summary>
/// PostgreSQL stopped and started again under the running server, with deliveries arriving throughout: 503 while it
/// is gone (GitHub then marks the delivery failed and redelivers), never a 500, nothing acknowledged lost, and
/// processing resumes without a restart.
/// </summary>
[Trait("Database", "Postgres")]
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private const string Secret = "outage-webhook-secret";
    private ThrowawayPostgres _postgres = null!;
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _postgres = await ThrowawayPostgres.StartAsync();
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task DatabaseStoppedAndRestarted_503WhileDown_No500_NothingAcknowledgedLost_ProcessingResumes()
    {
        var connectionString = _postgres.CreateDatabase("hubgate");
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Hubgate"] = connectionString,
            ["GitHub:WebhookSecret"] = Secret,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:PollInterval"] = "00:00:00.050",
        });
        using var client = app.CreateClient();
        var body = WebhookFixtures.Load("push", "with-new-branch.payload.json");
        var answers = new List<(string Id, HttpStatusCode Status)>();

        async Task<HttpStatusCode> SendAsync(string id)
        {
            using var request = WebhookFixtures.Delivery("/webhooks/github", "push", body, Secret, id);
            using var response = await client.SendAsync(request);
            answers.Add((id, response.StatusCode));
            return response.StatusCode;
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync($"before-{i}"));
        }

        await _postgres.StopAsync();
        var whileDown = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            whileDown.Add(await SendAsync($"down-{i}"));
        }

        using (var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.False((await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("databaseReachable").GetBoolean());
        }

        await _postgres.StartServerAsync();

        // After the restart the pool's old connections are dead: the first writes may still fail (503). GitHub would
        // redeliver; so does this loop, bounded.
        var afterIds = Enumerable.Range(0, 20).Select(i => $"after-{i}").Concat(Enumerable.Range(0, 20).Select(i => $"down-{i}")).ToList();
        foreach (var id in afterIds)
        {
            var clock = Stopwatch.StartNew();
            while (await SendAsync(id) is not (HttpStatusCode.Accepted or HttpStatusCode.OK) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }

        Assert.All(whileDown, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        Assert.DoesNotContain(answers, a => a.Status == HttpStatusCode.InternalServerError);
        var acknowledged = answers.Where(a => a.Status is HttpStatusCode.Accepted or HttpStatusCode.OK).Select(a => a.Id).ToHashSet();
        Assert.Equal(60, acknowledged.Count);

        // Processing resumes by itself: every acknowledged delivery ends processed, once.
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var processed = new Dictionary<string, int>();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(90); await Task.Delay(200))
        {
            processed.Clear();
            await using var command = new NpgsqlCommand("""SELECT d."DeliveryId", s."Attempts" FROM subscription_deliveries s JOIN webhook_deliveries d ON d."Id" = s."DeliverySeq" WHERE s."Subscription" = 'local' AND s."State" = 'Processed'""", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                processed[reader.GetString(0)] = reader.GetInt32(1);
            }

            if (processed.Count >= acknowledged.Count)
            {
                break;
            }
        }

        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), processed.Keys.Order(StringComparer.Ordinal));
        await using var total = new NpgsqlCommand("SELECT count(*) FROM webhook_deliveries", connection);
        Assert.Equal(60L, await total.ExecuteScalarAsync());
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.Contains("Could not store", StringComparison.Ordinal));
    }
}
