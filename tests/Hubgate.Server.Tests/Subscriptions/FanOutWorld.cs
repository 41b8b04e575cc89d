using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hubgate.Testing;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// What the fan-out tests send: three repositories over two installations (known to the fake GitHub), pushes and pull
/// requests for each as GitHub would send them, and subscriptions declared in configuration.
/// </summary>
internal static class FanOutWorld
{
    public const string WebhookSecret = "fan-out-webhook-secret";

    public sealed record Repo(long Installation, long Id, string Owner, string Name)
    {
        public string FullName => $"{Owner}/{Name}";
    }

    public static readonly Repo Hello = new(1, 186853002, "Codertocat", "Hello-World");
    public static readonly Repo Spoon = new(1, 186853003, "Codertocat", "Spoon-Knife");
    public static readonly Repo Api = new(2, 286853004, "Octo-org", "api");
    public static readonly Repo[] Repos = [Hello, Spoon, Api];

    /// <summary>One delivery as sent: its id, event, action, repository and exact bytes.</summary>
    public sealed record Sent(string Id, string Event, string? Action, Repo Repo, byte[] Body);

    public static async Task<FakeGitHubServer> StartGitHubAsync()
    {
        var gitHub = await FakeGitHubServer.StartAsync();
        gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        gitHub.AddInstallation(2, "Octo-org", accountType: "Organization");
        foreach (var repo in Repos)
        {
            gitHub.AddRepository(repo.Installation, repo.Id, repo.Owner, repo.Name, defaultBranch: "master");
        }

        return gitHub;
    }

    /// <summary>The server as <paramref name="gitHub"/>'s App, with a quick worker and loopback subscriptions allowed.</summary>
    public static Dictionary<string, string?> Settings(FakeGitHubServer gitHub) => new()
    {
        ["GitHub:WebhookSecret"] = WebhookSecret,
        ["GitHub:AppId"] = gitHub.AppId.ToString(CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
        ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
        ["GitHub:SyncInterval"] = "0",
        ["Webhooks:PollInterval"] = "00:00:00.050",
        ["Subscriptions:AllowLoopback"] = "true",
    };

    /// <summary>Declares the HTTP subscription <paramref name="name"/> to <paramref name="sink"/>'s path of that name, with <paramref name="more"/> keys.</summary>
    public static Dictionary<string, string?> Subscribe(this Dictionary<string, string?> settings, string name, FanOutSink sink,
        params (string Key, string Value)[] more)
    {
        settings[$"Subscriptions:{name}:Url"] = sink.Url(name);
        settings[$"Subscriptions:{name}:Secret"] = FanOutSink.Secret;
        foreach (var (key, value) in more)
        {
            settings[$"Subscriptions:{name}:{key}"] = value;
        }

        return settings;
    }

    /// <summary>A short retry schedule: <paramref name="count"/> retries of <paramref name="milliseconds"/> each.</summary>
    public static (string, string)[] QuickRetries(int count, int milliseconds = 200) =>
        [.. Enumerable.Range(0, count).Select(i => ($"Retry:{i}", TimeSpan.FromMilliseconds(milliseconds).ToString("c", CultureInfo.InvariantCulture)))];

    /// <summary>A push of one commit of its own (sha from <paramref name="n"/>) to <paramref name="repo"/>.</summary>
    public static Sent Push(Repo repo, int n)
    {
        var json = JsonNode.Parse(WebhookFixtures.PushOfOneCommit(n, repo.Installation))!.AsObject();
        SetRepository(json, repo);
        return new Sent($"push-{repo.Name}-{n}-{Guid.NewGuid():N}", "push", null, repo, Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    /// <summary>Pull request <paramref name="number"/> of <paramref name="repo"/> <paramref name="action"/> (<c>opened</c>, <c>closed</c>).</summary>
    public static Sent PullRequest(Repo repo, int number, string action)
    {
        var json = JsonNode.Parse(WebhookFixtures.Load("pull_request", $"{action}.payload.json"))!.AsObject();
        SetRepository(json, repo);
        json["number"] = number;
        json["pull_request"]!["number"] = number;
        json["pull_request"]!["id"] = (repo.Id * 1000) + number;
        return new Sent($"pr-{repo.Name}-{number}-{action}-{Guid.NewGuid():N}", "pull_request", action, repo, Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    private static void SetRepository(JsonObject json, Repo repo)
    {
        // as GitHub sends it: an Octokit receiver refuses an installation without its node_id
        json["installation"] = new JsonObject { ["id"] = repo.Installation, ["node_id"] = $"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{repo.Installation}" };
        var repository = json["repository"]!.AsObject();
        repository["id"] = repo.Id;
        repository["name"] = repo.Name;
        repository["full_name"] = repo.FullName;
        repository["owner"]!["login"] = repo.Owner;
        if (repository["owner"]!["name"] is not null)
        {
            repository["owner"]!["name"] = repo.Owner;
        }
    }

    /// <summary>Posts <paramref name="delivery"/> to <c>/webhooks/github</c> signed as GitHub signs it; the status, or null when there was no answer.</summary>
    public static async Task<HttpStatusCode?> SendAsync(HttpClient client, Sent delivery)
    {
        using var request = WebhookFixtures.Delivery("/webhooks/github", delivery.Event, delivery.Body, WebhookSecret, delivery.Id);
        try
        {
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Sends each, in order, asserting each is accepted (202).</summary>
    public static async Task SendAllAsync(HttpClient client, IEnumerable<Sent> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync(client, delivery));
        }
    }

    /// <summary>
    /// Per repository <paramref name="perRepo"/> pushes, interleaved across the repositories (push 0 of each, push 1 of
    /// each, …), plus an opened and a closed pull request per repository in the middle.
    /// </summary>
    public static List<Sent> Mix(int perRepo)
    {
        var all = new List<Sent>();
        for (var n = 0; n < perRepo; n++)
        {
            foreach (var repo in Repos)
            {
                all.Add(Push(repo, (int)(repo.Id % 1000 * 1000) + n));
                if (n == perRepo / 2)
                {
                    all.Add(PullRequest(repo, n + 1, "opened"));
                    all.Add(PullRequest(repo, n + 1, "closed"));
                }
            }
        }

        return all;
    }
}
