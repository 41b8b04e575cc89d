using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hubgate.Testing;
using Hubgate.Authentication;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Integrations;

/// <summary>Signed deliveries into the running service, the worker building the model, the management API and `hubgate sync` reading it.</summary>
public sealed class IntegrationsApiTests : IAsyncLifetime
{
    private const string ApiKey = "integrations-api-key-51c0";
    private const string Secret = "integrations-secret";
    private const long Repo = 186853002;
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, Repo, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private Dictionary<string, string?> Settings() => ModelDeliveries.Settings(_gitHub, ApiKey, Secret);

    private static HttpClient Client(HubgateApplication app) => ModelDeliveries.Client(app, ApiKey);

    private static Task SendAsync(HttpClient client, string @event, byte[] body, string deliveryId) =>
        ModelDeliveries.SendAsync(client, Secret, @event, body, deliveryId);

    private static Task WaitProcessedAsync(HttpClient client, string deliveryId) => ModelDeliveries.WaitProcessedAsync(client, deliveryId);

    private static byte[] BigPush(int commits)
    {
        var json = JsonNode.Parse(WebhookFixtures.Load("push", "with-new-branch.payload.json"))!.AsObject();
        var template = json["commits"]![0]!;
        var list = new JsonArray();
        for (var i = 0; i < commits; i++)
        {
            var commit = template.DeepClone();
            commit["id"] = $"{i:x40}";
            commit["message"] = $"commit {i}";
            commit["modified"] = new JsonArray($"src/file{i}.cs", "README.md");
            list.Add(commit);
        }

        json["commits"] = list;
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task DeliveriesBuildTheModel_TheApiShowsIt_WithCursors_AndNeverAToken()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        await SendAsync(client, "installation", WebhookFixtures.Load("installation", "created.payload.json"), "m-1");
        await SendAsync(client, "push", WebhookFixtures.Load("push", "with-new-branch.payload.json"), "m-2"); // installation 1: looked up
        await SendAsync(client, "push", BigPush(120), "m-3");
        await SendAsync(client, "pull_request", WebhookFixtures.Load("pull_request", "opened.payload.json"), "m-4");
        await SendAsync(client, "pull_request", WebhookFixtures.Load("pull_request", "closed.payload.json"), "m-5");
        foreach (var id in new[] { "m-1", "m-2", "m-3", "m-4", "m-5" })
        {
            await WaitProcessedAsync(client, id);
        }

        var token = await app.Services.GetRequiredService<InstallationTokenProvider>().GetTokenAsync(1);

        var all = await GetAsync(client, "/api/installations");
        Assert.Equal([1L, 957387L], all.GetProperty("installations").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        var page = await GetAsync(client, "/api/installations?limit=1");
        Assert.Equal(1, page.GetProperty("nextAfter").GetInt64());
        var rest = await GetAsync(client, "/api/installations?limit=1&after=1");
        Assert.Equal(957387, rest.GetProperty("installations")[0].GetProperty("id").GetInt64());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("nextAfter").ValueKind);

        var one = await GetAsync(client, "/api/installations/1");
        Assert.Equal(("Codertocat", "active", 1), (one.GetProperty("account").GetString(), one.GetProperty("status").GetString(), one.GetProperty("repositories").GetInt32()));
        Assert.True(one.GetProperty("token").GetProperty("stored").GetBoolean());
        Assert.Equal(token.ExpiresAt!.Value, one.GetProperty("token").GetProperty("expiresAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(token.Token, one.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("ciphertext", one.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("write", one.GetProperty("permissions").GetProperty("pull_requests").GetString());

        var repositories = await GetAsync(client, "/api/installations/1/repositories");
        var repository = Assert.Single(repositories.GetProperty("repositories").EnumerateArray());
        Assert.Equal(("Codertocat/Hello-World", "refs/heads/master"), (repository.GetProperty("fullName").GetString(), repository.GetProperty("lastPushRef").GetString()));

        // 121 commits, 50 a page, newest stored first; following next_before visits each once.
        var shas = new List<string>();
        long? before = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var commits = await GetAsync(client, $"/api/repositories/{Repo}/commits?limit=50" + (before is null ? "" : $"&before={before}"));
            shas.AddRange(commits.GetProperty("commits").EnumerateArray().Select(c => c.GetProperty("sha").GetString()!));
            if (commits.GetProperty("nextBefore").ValueKind == JsonValueKind.Null)
            {
                break;
            }

            before = commits.GetProperty("nextBefore").GetInt64();
        }

        Assert.Equal(121, shas.Count);
        Assert.Equal(121, shas.Distinct().Count());
        Assert.Equal($"{119:x40}", shas[0]);
        var newest = (await GetAsync(client, $"/api/repositories/{Repo}/commits?limit=1")).GetProperty("commits")[0];
        Assert.Equal(["README.md", "src/file119.cs"], newest.GetProperty("files").GetProperty("modified").EnumerateArray().Select(f => f.GetString()).Order());

        var closed = await GetAsync(client, $"/api/repositories/{Repo}/pulls?state=closed");
        var pr = Assert.Single(closed.GetProperty("pulls").EnumerateArray());
        Assert.Equal((2, "closed", "Codertocat"), (pr.GetProperty("number").GetInt32(), pr.GetProperty("state").GetString(), pr.GetProperty("author").GetString()));
        Assert.Empty((await GetAsync(client, $"/api/repositories/{Repo}/pulls?state=open")).GetProperty("pulls").EnumerateArray());
        Assert.Single((await GetAsync(client, $"/api/repositories/{Repo}/pulls")).GetProperty("pulls").EnumerateArray());

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(new Uri($"/api/repositories/{Repo}/pulls?state=sleeping", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/api/installations/999", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/api/repositories/999/commits", UriKind.Relative))).StatusCode);
        using var anonymous = app.CreateClient();
        foreach (var path in new[] { "/api/installations", "/api/installations/1", "/api/installations/1/repositories", $"/api/repositories/{Repo}/commits", $"/api/repositories/{Repo}/pulls" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        Assert.DoesNotContain(token.Token, app.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheManagementApi()
    {
        using var app = new HubgateApplication(Settings());
        using var client = app.CreateClient();
        var document = await client.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[]
                 {
                     "/api/installations", "/api/installations/{id}", "/api/installations/{id}/repositories", "/api/repositories/{id}/commits",
                     "/api/repositories/{id}/pulls", "/api/deliveries", "/api/deliveries/{deliveryId}", "/api/deliveries/{deliveryId}/replay", "/api/sync",
                 })
        {
            Assert.Contains(expected, paths);
        }

        Assert.Equal("Hubgate management API", document.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public async Task SyncFromTheApiAndTheCli_RepairsTheModel()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        var response = await client.PostAsync(new Uri("/api/sync", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((1, 1, 1), (report.GetProperty("installationsSeen").GetInt32(), report.GetProperty("installationsAdded").GetInt32(),
            report.GetProperty("repositoriesAdded").GetInt32()));

        _gitHub.AddInstallation(2, "second-org");
        _gitHub.AddRepository(2, 77, "second-org", "tool");
        _gitHub.RemoveInstallation(1);
        var settings = Settings();
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var config = new System.CommandLine.InvocationConfiguration { Output = output, Error = error };

        Assert.Equal(0, await HubgateCommand.Build(settings).Parse(["sync"]).InvokeAsync(config));

        var text = output.ToString();
        Assert.Contains("[1/1] installation 2 (second-org): 1 repositories", text, StringComparison.Ordinal);
        Assert.Contains("Installations: 1 on GitHub, 1 added, 1 marked deleted", text, StringComparison.Ordinal);
        var gone = await GetAsync(client, "/api/installations/1");
        Assert.Equal("deleted", gone.GetProperty("status").GetString());
        Assert.Equal("disabled", (await GetAsync(client, $"/api/repositories/{Repo}")).GetProperty("status").GetString());

        using var json = new StringWriter();
        Assert.Equal(0, await HubgateCommand.Build(settings).Parse(["sync", "--json"]).InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = json }));
        Assert.Equal(1, JsonDocument.Parse(json.ToString()).RootElement.GetProperty("installationsSeen").GetInt32());
    }
}
