using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Integrations;

/// <summary>The compare API behind truncated pushes: the fake as strict as GitHub, and what Hubgate does when GitHub cannot answer.</summary>
public sealed class PushCommitsTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    [Fact]
    public async Task FakeCompare_LikeGitHub_WithoutPagingOnlyTheLast250_WithPagingEveryCommitInOrder_AtMost100APage()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        var repository = h.GitHub.AddRepository(1, 7, "acme", "big");
        var first = JsonNode.Parse(h.GitHub.Push(1, repository, "main", 1, DateTimeOffset.UtcNow))!["after"]!.GetValue<string>();
        var after = JsonNode.Parse(h.GitHub.Push(1, repository, "main", 600, DateTimeOffset.UtcNow))!["after"]!.GetValue<string>();
        using var client = h.Services.Get<GitHubClientFactory>().CreateHttpClient(1);
        var path = $"repos/acme/big/compare/{first}...{after}";

        using var unpaged = JsonDocument.Parse(await client.GetStringAsync(new Uri(path, UriKind.Relative), Timeout));
        var commits = unpaged.RootElement.GetProperty("commits");
        Assert.Equal((600, 250, after), (unpaged.RootElement.GetProperty("total_commits").GetInt32(), commits.GetArrayLength(),
            commits[249].GetProperty("sha").GetString()));

        var all = await client.GetAllAsync(new Uri(path + "?per_page=500", UriKind.Relative), "commits", cancellationToken: Timeout).ToListAsync(Timeout);
        Assert.Equal(600, all.Count);
        Assert.Equal(after, all[^1].GetProperty("sha").GetString());
        Assert.StartsWith("change 2 of", all[0].GetProperty("commit").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(6, h.GitHub.CompareRequests(repository).Count(r => r.Query.Contains("per_page", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task FakeCompare_WithoutContentsPermission_403_ForAnotherInstallationsRepository_404()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme", permissions: new Dictionary<string, string> { ["metadata"] = "read" });
        var repository = h.GitHub.AddRepository(1, 7, "acme", "big");
        h.GitHub.AddInstallation(2, "other");
        h.GitHub.AddRepository(2, 8, "other", "tool");
        var after = JsonNode.Parse(h.GitHub.Push(1, repository, "main", 3, DateTimeOffset.UtcNow))!["after"]!.GetValue<string>();
        var factory = h.Services.Get<GitHubClientFactory>();
        using var one = factory.CreateHttpClient(1);
        using var two = factory.CreateHttpClient(2);

        Assert.Equal(HttpStatusCode.Forbidden, (await one.GetAsync(new Uri($"repos/acme/big/compare/main...{after}", UriKind.Relative), Timeout)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await two.GetAsync(new Uri($"repos/acme/big/compare/main...{after}", UriKind.Relative), Timeout)).StatusCode);
    }

    [Fact]
    public async Task TruncatedPush_WhenGitHubCannotCompare_ThePayloadsCommitsAreStored_NotRetriedForever()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        var repository = h.GitHub.AddRepository(1, 7, "acme", "big");
        h.GitHub.Push(1, repository, "main", 1, DateTimeOffset.UtcNow);
        var body = h.GitHub.Push(1, repository, "main", 2100, DateTimeOffset.UtcNow);
        h.GitHub.RemoveRepository(1, repository.Id); // the compare API now answers 404

        var delivery = await h.ProcessAsync("push", body);

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        Assert.Equal(2048, await db.Commits.CountAsync());
        var push = await db.Pushes.SingleAsync();
        Assert.Equal((2048, 0), (push.CommitsStored, push.CommitsFetched));
        Assert.Equal(404, Assert.Single(h.GitHub.CompareRequests(repository)).Status);
    }

    [Fact]
    public async Task TruncatedPushOfANamedApp_IsComparedOnThatAppsHost_WithItsToken()
    {
        await using var enterprise = await Hubgate.Testing.FakeGitHubServer.StartAsync(new Hubgate.Testing.FakeGitHubOptions { PathPrefix = "/api/v3", AppId = 777, OwnKey = true });
        await using var h = await ModelHarness.StartAsync(s =>
        {
            s["GitHub:Apps:ghes:AppId"] = "777";
            s["GitHub:Apps:ghes:PrivateKey"] = enterprise.PrivateKeyPkcs1Pem;
            s["GitHub:Apps:ghes:ApiBaseUrl"] = enterprise.ApiBaseUrl.AbsoluteUri;
        });
        h.GitHub.AddInstallation(1, "acme");
        enterprise.AddInstallation(1, "initech");
        var repository = enterprise.AddRepository(1, 7, "initech", "big");
        enterprise.Push(1, repository, "main", 1, DateTimeOffset.UtcNow);
        var body = enterprise.Push(1, repository, "main", 2100, DateTimeOffset.UtcNow);

        var delivery = await h.ProcessAsync("push", body, app: "ghes");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        var push = await db.Pushes.SingleAsync();
        Assert.Equal(("ghes", 2100, 52), (push.App, push.CommitsStored, push.CommitsFetched));
        Assert.All(enterprise.CompareRequests(repository), r => Assert.Equal(200, r.Status));
        Assert.Equal(1, enterprise.MintCountFor(1));
        Assert.Equal(0, h.GitHub.MintCount);
    }
}
