using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;
using Hubgate.TestSupport;
using Hubgate.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// Processing throughput of the integration model: <c>pushes</c> push deliveries of 20 new commits with 5 file changes
/// each are stored through the inbox, then the worker processes them all; commits stored per second is the result.
/// <c>dotnet run -c Release --project bench/Hubgate.Benchmarks -- processing [pushes] [--postgres] [--replicas N]</c>: SQLite and
/// the in-process worker by default; <c>--postgres</c> on a throwaway PostgreSQL 15 (fsync on); <c>--replicas N</c> by N
/// server processes (build <c>src/Hubgate.Server</c> in Release first).
/// </summary>
internal static class ProcessingLoad
{
    private const int CommitsPerPush = 20;
    private const int FilesPerCommit = 5;

    public static async Task<int> RunAsync(int pushes, bool postgres, int replicas)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-processing-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        // PostgreSQL as in production: fsync on.
        var server = postgres ? await ThrowawayPostgres.StartAsync(durable: true) : null;
        try
        {
            var database = new Dictionary<string, string?>
            {
                ["Database:Provider"] = postgres ? "Postgres" : "Sqlite",
                ["ConnectionStrings:Hubgate"] = server?.CreateDatabase("hubgate") ?? $"Data Source={Path.Combine(directory, "hubgate.db")}",
            };
            await using var provider = await BenchHost.StartAsync(new Dictionary<string, string?>(database)
            {
                ["GitHub:WebhookSecret"] = "bench",
                ["Webhooks:RunWorker"] = "false",
                ["Webhooks:ClaimBatchSize"] = "16",
            }, withModel: true);
            await SeedAsync(provider);

            var inbox = provider.GetRequiredService<WebhookInbox>();
            for (var i = 0; i < pushes; i++)
            {
                var body = Push(i);
                PayloadInspector.TryInspect(body, out var facts);
                await inbox.StoreAsync(StoredApp.Default, new WebhookDeliveryEntity
                {
                    DeliveryId = Guid.NewGuid().ToString(),
                    Event = "push",
                    InstallationId = facts.InstallationId,
                    RepositoryId = facts.RepositoryId,
                    ReceivedAt = DateTimeOffset.UtcNow,
                    Body = body,
                    BodySha256 = Convert.ToHexStringLower(SHA256.HashData(body)),
                });
            }

            var contexts = provider.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
            var elapsed = replicas > 0
                ? await ProcessWithServersAsync(contexts, provider.GetRequiredService<FanOut>(), database, pushes, replicas)
                : await ProcessInProcessAsync(provider.GetRequiredService<DeliveryWorker>(), pushes);

            var db = await contexts.CreateDbContextAsync();
            await using (db)
            {
                var commits = await db.Commits.CountAsync();
                var files = await db.CommitFileChanges.CountAsync();
                var states = await db.SubscriptionDeliveries.GroupBy(d => d.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
                var retried = await db.SubscriptionDeliveries.CountAsync(d => d.Attempts > 1);
                var where = postgres ? "PostgreSQL" : "SQLite";
                var by = replicas > 0 ? $"{replicas} server process(es)" : "the in-process worker";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{where}, {by}: {pushes} pushes processed in {elapsed.TotalSeconds:0.00} s: {commits} commits, {files} file changes stored; " +
                    $"{commits / elapsed.TotalSeconds:0} commits/s, {pushes / elapsed.TotalSeconds:0} pushes/s; " +
                    $"states: {string.Join(", ", states.Select(s => $"{s.Key}={s.Count}"))}; tried more than once: {retried}"));
                return commits == pushes * CommitsPerPush ? 0 : 1;
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Npgsql.NpgsqlConnection.ClearAllPools();
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<TimeSpan> ProcessInProcessAsync(DeliveryWorker worker, int pushes)
    {
        var clock = Stopwatch.StartNew();
        for (var rounds = 0; rounds < pushes + 10; rounds++)
        {
            if (await worker.RunOnceAsync(CancellationToken.None) == 0)
            {
                break;
            }
        }

        return clock.Elapsed;
    }

    /// <summary>
    /// The stored deliveries are held back (due in an hour) while <paramref name="replicas"/> server processes start,
    /// then released at once; the time is from release until every one is finished.
    /// </summary>
    private static async Task<TimeSpan> ProcessWithServersAsync(IDbContextFactory<HubgateDbContext> contexts, FanOut fanOut,
        Dictionary<string, string?> database, int pushes, int replicas)
    {
        // Handed to the built-in subscription here, then held back until every server is up, so they all start at once.
        for (var i = 0; i < 1000 && await fanOut.RunAsync(CancellationToken.None) > 0; i++)
        {
        }

        var db = await contexts.CreateDbContextAsync();
        await using (db)
        {
            var later = DateTimeOffset.UtcNow.AddHours(1);
            await db.SubscriptionDeliveries.ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, later));
        }

        var settings = new Dictionary<string, string?>(database)
        {
            ["GitHub:WebhookSecret"] = "bench",
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Webhooks:ClaimBatchSize"] = "16",
        };
        var servers = await Task.WhenAll(Enumerable.Range(0, replicas).Select(_ => ServerProcess.StartAsync(settings)));
        try
        {
            db = await contexts.CreateDbContextAsync();
            await using (db)
            {
                var clock = Stopwatch.StartNew();
                var now = DateTimeOffset.UtcNow;
                await db.SubscriptionDeliveries.ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, now));
                var finished = new[] { DeliveryState.Processed, DeliveryState.Ignored, DeliveryState.Dead };
                while (clock.Elapsed < TimeSpan.FromMinutes(10))
                {
                    if (await db.SubscriptionDeliveries.CountAsync(d => finished.Contains(d.State)) >= pushes)
                    {
                        return clock.Elapsed;
                    }

                    await Task.Delay(50);
                }

                throw new TimeoutException($"Not drained within 10 minutes:\n{string.Join("\n", servers.Select(s => s.Output))}");
            }
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>The installation and repository are known, as they are in steady state: no GitHub lookups.</summary>
    private static async Task SeedAsync(IServiceProvider provider)
    {
        var db = await provider.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            var now = DateTimeOffset.UtcNow;
            db.Installations.Add(new InstallationEntity { Id = 1, AccountLogin = "Codertocat", CreatedAt = now, UpdatedAt = now });
            db.Repositories.Add(new RepositoryEntity { Id = 186853002, InstallationId = 1, Name = "Hello-World", FullName = "Codertocat/Hello-World", CreatedAt = now, UpdatedAt = now });
            await db.SaveChangesAsync();
        }
    }

    private static byte[] Push(int index)
    {
        var commits = new JsonArray();
        for (var c = 0; c < CommitsPerPush; c++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{index}/{c}")))[..40];
            var files = Enumerable.Range(0, FilesPerCommit).Select(f => (JsonNode)JsonValue.Create($"src/module{c}/file{f}.cs")!).ToArray();
            commits.Add(new JsonObject
            {
                ["id"] = sha,
                ["tree_id"] = sha,
                ["distinct"] = true,
                ["message"] = $"Change {index}.{c}\n\nA longer description of what this commit does and why.",
                ["timestamp"] = "2026-11-24T10:15:00-05:00",
                ["url"] = "https://github.com/Codertocat/Hello-World/commit/" + sha,
                ["author"] = new JsonObject { ["name"] = "Codertocat", ["email"] = "21031067+Codertocat@users.noreply.github.com", ["username"] = "Codertocat" },
                ["committer"] = new JsonObject { ["name"] = "GitHub", ["email"] = "noreply@github.com", ["username"] = "web-flow" },
                ["added"] = new JsonArray(files[0].DeepClone()),
                ["removed"] = new JsonArray(files[1].DeepClone()),
                ["modified"] = new JsonArray(files[2].DeepClone(), files[3].DeepClone(), files[4].DeepClone()),
            });
        }

        var push = new JsonObject
        {
            ["ref"] = "refs/heads/main",
            ["before"] = new string('0', 40),
            ["after"] = commits[^1]!["id"]!.DeepClone(),
            ["created"] = false,
            ["deleted"] = false,
            ["forced"] = false,
            ["commits"] = commits,
            ["head_commit"] = commits[^1]!.DeepClone(),
            ["repository"] = new JsonObject
            {
                ["id"] = 186853002,
                ["name"] = "Hello-World",
                ["full_name"] = "Codertocat/Hello-World",
                ["private"] = false,
                ["owner"] = new JsonObject { ["login"] = "Codertocat" },
                ["default_branch"] = "main",
            },
            ["pusher"] = new JsonObject { ["name"] = "Codertocat" },
            ["installation"] = new JsonObject { ["id"] = 1 },
        };
        return Encoding.UTF8.GetBytes(push.ToJsonString());
    }
}
