using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// Processing throughput of the integration model: <c>pushes</c> push deliveries of 20 new commits with 5 file changes
/// each are stored through the inbox, then the worker processes them all; commits stored per second is the result.
/// <c>dotnet run -c Release --project bench/Hubgate.Benchmarks -- processing [pushes]</c>
/// </summary>
internal static class ProcessingLoad
{
    private const int CommitsPerPush = 20;
    private const int FilesPerCommit = 5;

    public static async Task<int> RunAsync(int pushes)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-processing-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(directory, "hubgate.db")}",
                ["GitHub:WebhookSecret"] = "bench",
                ["Webhooks:RunWorker"] = "false",
                ["Webhooks:ClaimBatchSize"] = "16",
            }).Build();
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(configuration);
            services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
            services.AddHubgateStorage(configuration);
            services.AddGitHubApp(configuration);
            services.AddGitHubWebhooks(configuration);
            services.AddGitHubIntegrationModel(configuration);
            await using var provider = services.BuildServiceProvider();
            await provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
            await SeedAsync(provider);

            var inbox = provider.GetRequiredService<WebhookInbox>();
            for (var i = 0; i < pushes; i++)
            {
                var body = Push(i);
                PayloadInspector.TryInspect(body, out var facts);
                await inbox.StoreAsync(new WebhookDeliveryEntity
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

            var worker = provider.GetRequiredService<DeliveryWorker>();
            var clock = Stopwatch.StartNew();
            var processed = 0;
            for (var rounds = 0; rounds < pushes + 10; rounds++)
            {
                var n = await worker.RunOnceAsync(CancellationToken.None);
                if (n == 0)
                {
                    break;
                }

                processed += n;
            }

            clock.Stop();
            var db = await provider.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            await using (db)
            {
                var commits = await db.Commits.CountAsync();
                var files = await db.CommitFileChanges.CountAsync();
                var states = await db.WebhookDeliveries.GroupBy(d => d.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{processed} pushes processed in {clock.Elapsed.TotalSeconds:0.00} s: {commits} commits, {files} file changes stored; " +
                    $"{commits / clock.Elapsed.TotalSeconds:0} commits/s, {processed / clock.Elapsed.TotalSeconds:0} pushes/s; " +
                    $"states: {string.Join(", ", states.Select(s => $"{s.Key}={s.Count}"))}"));
                return commits == pushes * CommitsPerPush ? 0 : 1;
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
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
