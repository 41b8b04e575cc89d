using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Rest;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Rest;

public sealed class GitHubPaginationTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static async Task<(GitHubAppHarness Harness, HttpClient Client)> StartAsync(int repositories)
    {
        var h = await GitHubAppHarness.StartAsync(configure: s => s.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1));
        h.GitHub.AddInstallation(1, "acme");
        for (var i = 1; i <= repositories; i++)
        {
            h.GitHub.AddRepository(1, i, "acme", "repo" + i);
        }

        return (h, h.Services.Get<IHttpClientFactory>().CreateClient("acme"));
    }

    [Fact]
    public async Task GetAll_FollowsNextLinksThroughEveryPage()
    {
        var (h, client) = await StartAsync(repositories: 250);
        await using var _ = h;

        var ids = new List<long>();
        await foreach (var repository in client.GetAllAsync(new Uri("installation/repositories?per_page=100", UriKind.Relative), cancellationToken: Timeout))
        {
            ids.Add(repository.GetProperty("id").GetInt64());
        }

        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), ids.Order());
        Assert.Equal(3, h.GitHub.Requests.Count(r => r.Path == "/installation/repositories"));
    }

    [Fact]
    public async Task GetAll_StoppingEarly_FetchesNoFurtherPages()
    {
        var (h, client) = await StartAsync(repositories: 250);
        await using var _ = h;

        var first = await client.GetAllAsync(new Uri("installation/repositories?per_page=100", UriKind.Relative), "repositories", cancellationToken: Timeout)
            .Take(120).ToListAsync(Timeout);

        Assert.Equal(120, first.Count);
        Assert.Equal(2, h.GitHub.Requests.Count(r => r.Path == "/installation/repositories"));
    }

    [Fact]
    public async Task GetAllTyped_DeserializesEachItem_OnATopLevelArray()
    {
        var (h, _) = await StartAsync(repositories: 0);
        await using var __ = h;
        for (var id = 2; id <= 5; id++)
        {
            h.GitHub.AddInstallation(id, "org" + id);
        }

        var app = h.Services.Get<IHttpClientFactory>().CreateClient("acme");
        var installations = await app.GetAllAsync<InstallationItem>(new Uri("app/installations?per_page=2", UriKind.Relative), cancellationToken: Timeout)
            .ToListAsync(Timeout);

        Assert.Equal([1L, 2, 3, 4, 5], installations.Select(i => i.Id).Order());
        Assert.Equal(3, h.GitHub.Requests.Count(r => r.Path == "/app/installations"));
    }

    [Fact]
    public async Task GetAll_ErrorPage_ThrowsWithTheStatus()
    {
        var (h, client) = await StartAsync(repositories: 1);
        await using var _ = h;

        var ex = await Assert.ThrowsAsync<GitHubApiException>(async () =>
            await client.GetAllAsync(new Uri("repos/acme/missing/issues", UriKind.Relative), cancellationToken: Timeout).ToListAsync(Timeout));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.StatusCode);
    }

    [Theory]
    [InlineData("<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\"", "https://api.github.com/x?page=2")]
    [InlineData("<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=3>; rel=\"next\"", "https://api.github.com/x?page=3")]
    [InlineData("<https://api.github.com/x?page=1>; rel=\"first\", <https://api.github.com/x?page=1>; rel=\"prev\"", null)]
    [InlineData("garbage", null)]
    public void NextLink_ReadsOnlyRelNext(string header, string? expected)
    {
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation("Link", header);

        Assert.Equal(expected, GitHubPagination.NextLink(response)?.AbsoluteUri);
    }

    private sealed record InstallationItem(long Id, JsonElement Account);
}
