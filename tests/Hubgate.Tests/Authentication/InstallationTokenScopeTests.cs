using System.Net;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Authentication;

/// <summary>
/// Installation tokens down-scoped to repositories and permissions: one canonical key per scope, minted with the scope
/// in the request body, cached, persisted and single-flight per (installation, scope), recovered like the
/// installation's own token, and GitHub's 422 turned into an error naming the scope.
/// </summary>
public sealed class InstallationTokenScopeTests
{
    private static readonly InstallationTokenScope ApiRead = InstallationTokenScope.Create(["api"], null, [new("contents", "read")]);

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static async Task<GitHubAppHarness> StartAsync()
    {
        var h = await GitHubAppHarness.StartAsync(configure: s => s.AddHttpClient("any").AddGitHubAppAuthentication());
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.AddRepository(1, 100, "acme", "api");
        h.GitHub.AddRepository(1, 101, "acme", "web");
        return h;
    }

    [Fact]
    public void Scope_IsCanonical_HoweverItIsWritten()
    {
        var a = InstallationTokenScope.Create(["Web", "api"], [3, 1], [new("Contents", "READ"), new("issues", "write")]);
        var b = InstallationTokenScope.Create(["API", "web", "api"], [1, 3, 3], [new("issues", "write"), new("contents", "read")]);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal("repositories=api,web;repository_ids=1,3;permissions=contents:read,issues:write", a.Key);
        Assert.Same(InstallationTokenScope.Full, InstallationTokenScope.Create([], null, null));
        Assert.NotEqual(a, InstallationTokenScope.Create(["api", "web"], [1, 3], [new("contents", "read")]));
    }

    [Theory]
    [InlineData("acme/api", "read")]
    [InlineData("api", "readwrite")]
    public void Scope_RefusesOwnerNamesAndUnknownLevels(string repository, string level) =>
        Assert.Throws<ArgumentException>(() => InstallationTokenScope.Create([repository], null, [new("contents", level)]));

    [Fact]
    public async Task ScopedToken_IsMintedWithItsScope_AndCachedApartFromTheInstallationsOwn()
    {
        await using var h = await StartAsync();
        var provider = h.Services.Get<InstallationTokenProvider>();

        var scoped = await provider.GetTokenAsync(1, ApiRead, Timeout);
        var again = await provider.GetTokenAsync(1, InstallationTokenScope.Create(["API"], [], [new("contents", "read")]), Timeout);
        var full = await provider.GetTokenAsync(1, Timeout);

        Assert.Equal(scoped.Token, again.Token);
        Assert.NotEqual(scoped.Token, full.Token);
        Assert.Equal(["{\"repositories\":[\"api\"],\"permissions\":{\"contents\":\"read\"}}", ""], h.GitHub.Mints.Select(m => m.Body));
        Assert.Equal("selected", scoped.RepositorySelection);
        Assert.Equal("{\"contents\":\"read\"}", scoped.PermissionsJson);
    }

    [Fact]
    public async Task ScopedToken_TwoHundredConcurrentCallers_MintOnce()
    {
        await using var h = await StartAsync();
        h.GitHub.MintDelay = TimeSpan.FromMilliseconds(300);
        var provider = h.Services.Get<InstallationTokenProvider>();

        var tokens = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(_ => Task.Run(async () => await provider.GetTokenAsync(1, ApiRead, Timeout))));

        Assert.Single(h.GitHub.Mints);
        Assert.Single(tokens.Select(t => t.Token).Distinct());
    }

    [Fact]
    public async Task ScopedToken_AfterRestart_ReusesThePersistedOne_UntilTheInstallationIsDropped()
    {
        await using var h = await StartAsync();
        var before = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, ApiRead, Timeout);

        await h.RestartAsync();
        var after = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, ApiRead, Timeout);
        await h.Services.Get<InstallationTokenProvider>().DropAsync(1, Timeout);
        await h.RestartAsync();
        var dropped = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, ApiRead, Timeout);

        Assert.Equal(before.Token, after.Token);
        Assert.NotEqual(before.Token, dropped.Token);
        Assert.Equal(2, h.GitHub.Mints.Count);
    }

    [Fact]
    public async Task ScopedToken_RevokedByGitHub_IsReplacedWithOneOfTheSameScope()
    {
        await using var h = await StartAsync();
        var provider = h.Services.Get<InstallationTokenProvider>();
        var first = await provider.GetTokenAsync(1, ApiRead, Timeout);
        h.Advance(TimeSpan.FromSeconds(30)); // past GitHub's replication lag window
        h.GitHub.RevokeToken(first.Token);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("repos/acme/api", UriKind.Relative)).ForInstallation(1).WithTokenScope(ApiRead);
        using var response = await h.Services.Get<IHttpClientFactory>().CreateClient("any").SendAsync(request, Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, h.GitHub.Mints.Count);
        Assert.All(h.GitHub.Mints, m => Assert.Contains("\"repositories\":[\"api\"]", m.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ScopedRequest_ReachesOnlyTheScopesRepositories()
    {
        await using var h = await StartAsync();
        var client = h.Services.Get<IHttpClientFactory>().CreateClient("any");

        using var own = new HttpRequestMessage(HttpMethod.Get, new Uri("repos/acme/api", UriKind.Relative)).ForInstallation(1).WithTokenScope(ApiRead);
        using var other = new HttpRequestMessage(HttpMethod.Get, new Uri("repos/acme/web", UriKind.Relative)).ForInstallation(1).WithTokenScope(ApiRead);

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(own, Timeout)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(other, Timeout)).StatusCode);
    }

    [Theory]
    [InlineData("archived", null, "repositories archived", "There is at least one repository that does not exist or is not accessible to the parent installation.")]
    [InlineData(null, "administration", "permissions administration:write", "The permissions requested are not granted to this installation.")]
    public async Task ScopeGitHubRefuses_ThrowsNamingTheScope_AndStoresNothing(string? repository, string? permission, string named, string gitHubSays)
    {
        await using var h = await StartAsync();
        var scope = InstallationTokenScope.Create(repository is null ? [] : [repository], null,
            permission is null ? [] : [new(permission, "write")]);

        var refused = await Assert.ThrowsAsync<InstallationTokenScopeException>(
            async () => await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, scope, Timeout));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
        Assert.Contains(gitHubSays, refused.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        await using var db = await h.Services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        Assert.Empty(await db.ScopedTokens.ToListAsync());
    }
}
