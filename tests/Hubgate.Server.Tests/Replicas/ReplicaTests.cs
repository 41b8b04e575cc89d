using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Hubgate.Testing;
using Hubgate.TestSupport;
using Npgsql;

namespace Hubgate.Server.Tests.Replicas;

/// <summary>
/// Two real server processes on one PostgreSQL database, as two replicas behind a load balancer: deliveries shared
/// between them are processed exactly once, a token is minted once for both, and a replica killed with SIGKILL
/// loses nothing that was acknowledged.
/// </summary>
[Trait("Database", "Postgres")]
public sealed partial class ReplicaTests : IAsyncLifetime
{
    private const string Secret = "replica-webhook-secret";
    private const string ApiKey = "replica-api-key-7d21";
    private const long Installation = 1;
    private const long Repo = 186853002;

    private readonly string _database = "hg_replicas_" + Guid.NewGuid().ToString("N")[..12];
    private FakeGitHubServer _gitHub = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(Installation, "Codertocat", accountType: "User");
        _gitHub.AddRepository(Installation, Repo, "Codertocat", "Hello-World", defaultBranch: "master");
        _connectionString = ThrowawayPostgres.Shared.CreateDatabase(_database);
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        ThrowawayPostgres.Shared.DropDatabase(_database);
    }

    private Dictionary<string, string?> Settings(Action<Dictionary<string, string?>>? change = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Hubgate"] = _connectionString,
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:WebhookSecret"] = Secret,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:PollInterval"] = "00:00:00.050",
        };
        change?.Invoke(settings);
        return settings;
    }

    /// <summary>Both replicas started at the same moment on an empty database: migrations are applied once, safely.</summary>
    private async Task<(ServerProcess A, ServerProcess B)> StartTwoAsync(Action<Dictionary<string, string?>>? change = null)
    {
        var a = ServerProcess.StartAsync(Settings(change));
        var b = ServerProcess.StartAsync(Settings(change));
        try
        {
            return (await a, await b);
        }
        catch
        {
            await DisposeQuietly(a);
            await DisposeQuietly(b);
            throw;
        }
    }

    private static async Task DisposeQuietly(Task<ServerProcess> server)
    {
        try
        {
            await (await server).DisposeAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
    }

    /// <summary>A push of one commit of its own (sha from <paramref name="n"/>).</summary>
    private static async Task<HttpStatusCode?> SendAsync(HttpClient client, int n, string deliveryId)
    {
        using var request = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.PushOfOneCommit(n, Installation), Secret, deliveryId);
        try
        {
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null; // no answer: not acknowledged
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private async Task<T> QueryAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Waits (bounded) until no delivery is pending, failed or processing.</summary>
    private async Task WaitDrainedAsync(int expected, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var finished = await QueryAsync<long>("""SELECT count(*) FROM subscription_deliveries WHERE "Subscription" = 'local' AND "State" IN ('Processed', 'Ignored', 'Dead')""");
            if (finished >= expected)
            {
                return;
            }

            await Task.Delay(200);
        }

        var states = await QueryAsync<string>("""SELECT string_agg("State" || '=' || n, ', ') FROM (SELECT "State", count(*) n FROM subscription_deliveries WHERE "Subscription" = 'local' GROUP BY 1) s""");
        Assert.Fail($"Not drained within {limit}: {states}");
    }

    [Fact]
    public async Task TwoThousandDeliveries_SentAlternatelyToTwoReplicas_AreEachProcessedExactlyOnce()
    {
        const int count = 2000;
        var (a, b) = await StartTwoAsync();
        await using var _ = a;
        await using var __ = b;
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var answers = new ConcurrentBag<HttpStatusCode?>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, _) =>
            answers.Add(await SendAsync(n % 2 == 0 ? clientA : clientB, n, $"replica-{n}")));

        Assert.All(answers, s => Assert.Equal(HttpStatusCode.Accepted, s));
        await WaitDrainedAsync(count, TimeSpan.FromSeconds(180));

        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM webhook_deliveries"));
        Assert.Equal(count, await QueryAsync<long>("""SELECT count(*) FROM subscription_deliveries WHERE "Subscription" = 'local' AND "State" = 'Processed' AND "Attempts" = 1"""));
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM commits"));
        Assert.Equal(count, await QueryAsync<long>("""SELECT count(DISTINCT "Sha") FROM commits"""));
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM pushes"));
        Assert.Equal(1, await QueryAsync<long>("SELECT count(*) FROM repositories"));

        // GitHub redelivering to whichever replica the balancer picks: the other replica knows the id already.
        var again = await Task.WhenAll(Enumerable.Range(0, 100).Select(n => SendAsync(n % 2 == 0 ? clientB : clientA, n, $"replica-{n}")));
        Assert.All(again, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM webhook_deliveries"));
        Assert.False(a.HasExited || b.HasExited, a.Output + b.Output);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a client limited to contents:read: one token of its scope, serialized per (installation, scope)
    public async Task TwoHundredConcurrentProxyRequests_SplitAcrossReplicas_MintOneToken(bool scoped)
    {
        const string ScopedKey = "replica-scoped-key-41c9";
        var (a, b) = await StartTwoAsync(scoped ? s =>
        {
            s["Hubgate:Clients:reader:Key"] = ScopedKey;
            s["Hubgate:Clients:reader:Permissions:contents"] = "read";
            TestSecrets.Register(ScopedKey, "a client's key");
        } : null);
        await using var _ = a;
        await using var __ = b;
        _gitHub.MintDelay = TimeSpan.FromMilliseconds(300); // a slow mint: every request arrives while it is in flight
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        foreach (var client in new[] { clientA, clientB })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", scoped ? ScopedKey : ApiKey);
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async n =>
        {
            using var response = await (n % 2 == 0 ? clientA : clientB).GetAsync(new Uri("/proxy/installations/1/repos/Codertocat/Hello-World", UriKind.Relative));
            return response.StatusCode;
        }));

        Assert.All(answers, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(1, _gitHub.MintCountFor(Installation));
        Assert.Equal(scoped ? "{\"permissions\":{\"contents\":\"read\"}}" : string.Empty, Assert.Single(_gitHub.Mints).Body);
        Assert.Equal(200, _gitHub.Requests.Count(r => r.Path == "/repos/Codertocat/Hello-World" && r.Credential == FakeCredential.InstallationToken));
    }

    [Fact]
    public async Task ReplicaKilledDuringABurst_LosesNothingAcknowledged_AndTheOtherFinishesItsWork()
    {
        const int count = 1000;
        // A short lease, so the survivor takes over what the killed replica held within seconds.
        var (a, b) = await StartTwoAsync(s => s["Webhooks:LeaseDuration"] = "00:00:03");
        await using var _ = a;
        await using var __ = b;
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var acknowledged = new ConcurrentDictionary<int, HttpStatusCode>();
        var sent = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, _) =>
        {
            if (Interlocked.Increment(ref sent) == count / 3)
            {
                b.Kill();
            }

            var id = $"burst-{n}";
            var status = await SendAsync(n % 2 == 0 ? clientA : clientB, n, id);
            if (status is null or >= HttpStatusCode.InternalServerError)
            {
                // As GitHub would: no answer (or a 5xx) from one replica, so the delivery is sent again — here to the other.
                status = await SendAsync(clientA, n, id);
            }

            if (status is { } s)
            {
                acknowledged[n] = s;
            }
        });

        Assert.True(b.HasExited);
        Assert.Equal(count, acknowledged.Count);
        Assert.All(acknowledged.Values, s => Assert.True(s is HttpStatusCode.Accepted or HttpStatusCode.OK, s.ToString()));
        await WaitDrainedAsync(count, TimeSpan.FromSeconds(180));

        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM webhook_deliveries"));
        Assert.Equal(count, await QueryAsync<long>("""SELECT count(*) FROM subscription_deliveries WHERE "Subscription" = 'local' AND "State" = 'Processed'"""));
        // Only what the killed replica held when it died is tried a second time.
        Assert.True(await QueryAsync<long>("""SELECT max("Attempts") FROM subscription_deliveries WHERE "Subscription" = 'local'""") <= 2);
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM commits"));
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM pushes"));
        Assert.False(a.HasExited, a.Output);
    }
}
