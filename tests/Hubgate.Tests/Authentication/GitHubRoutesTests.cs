using Hubgate.Authentication;

namespace Hubgate.Tests.Authentication;

public sealed class GitHubRoutesTests
{
    public static TheoryData<string, bool> Paths => new()
    {
        // App routes: the App's JWT.
        { "/app", true },
        { "app", true },
        { "/app/", true },
        { "/app/installations", true },
        { "/app/installations?per_page=100&page=2", true },
        { "/app/installations/42", true },
        { "/app/installations/42/access_tokens", true },
        { "/app/installations/42/suspended", true },
        { "/app/hook/config", true },
        { "/app/hook/deliveries", true },
        { "/app/hook/deliveries/9/attempts", true },
        { "/app/installation-requests", true },
        { "/APP/installations", true },
        { "/marketplace_listing/plans", true },
        { "/marketplace_listing/accounts/7", true },
        { "/marketplace_listing/stubbed/plans/1/accounts", true },
        { "/orgs/octo-org/installation", true },
        { "/repos/octocat/hello-world/installation", true },
        { "/users/octocat/installation", true },
        { "/enterprises/acme/installation", true },
        { "/repos/octocat/hello-world/installation?x=1", true },
        // Everything else: an installation token. No substring matching.
        { "/", false },
        { "", false },
        { "/installation/repositories", false },
        { "/repos/octocat/access_tokens", false },
        { "/repos/octocat/access_tokens/pulls", false },
        { "/repos/app/installations", false },
        { "/repos/octocat/app", false },
        { "/repos/app/app/contents/app/installations/1/access_tokens", false },
        { "/orgs/octo-org/installations", false },
        { "/orgs/octo-org/installation/extra", false },
        { "/orgs/installation", false },
        { "/orgs//installation", false },
        { "/repos/octocat/hello-world/installation/repositories", false },
        { "/repos/octocat/installation", false },
        { "/users/app/repos", false },
        { "/user/installations", false },
        { "/applications/grants", false },
        { "/apps/hubgate", false },
        { "/app-manifests/abc/conversions", false },
        { "/search/code?q=app/installations", false },
        { "/repos/octocat/hello-world/git/refs/heads/app", false },
        { "/marketplace_listing_stubbed", false },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void RequiresAppJwt_MatchesWholeSegmentsOnly(string path, bool expected) =>
        Assert.Equal(expected, GitHubRoutes.RequiresAppJwt(path));

    [Theory]
    [InlineData("https://api.github.com/", "https://api.github.com/repos/o/r", true, "/repos/o/r")]
    [InlineData("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/app/installations", true, "/app/installations")]
    [InlineData("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3x/app", false, "")]
    [InlineData("https://ghe.example.com/api/v3/", "https://ghe.example.com/app", false, "")]
    [InlineData("https://api.github.com/", "https://evil.example.com/repos/o/r", false, "")]
    [InlineData("https://api.github.com/", "http://api.github.com/repos/o/r", false, "")]
    [InlineData("https://api.github.com/", "https://api.github.com:8443/repos/o/r", false, "")]
    public void TryGetRelativePath_OnlyBelowTheApiBase(string baseUrl, string request, bool expected, string expectedPath)
    {
        var ok = GitHubRoutes.TryGetRelativePath(new Uri(request), new Uri(baseUrl), out var relative);

        Assert.Equal(expected, ok);
        if (ok)
        {
            Assert.Equal(expectedPath, relative.ToString());
        }
    }

    [Fact]
    public void RequiresAppJwt_OnGitHubEnterpriseBase_UsesThePathBelowTheBase()
    {
        var baseUrl = new Uri("https://ghe.example.com/api/v3/");
        Assert.True(GitHubRoutes.TryGetRelativePath(new Uri("https://ghe.example.com/api/v3/app/installations/1/access_tokens"), baseUrl, out var path));
        Assert.True(GitHubRoutes.RequiresAppJwt(path));
        Assert.True(GitHubRoutes.TryGetRelativePath(new Uri("https://ghe.example.com/api/v3/repos/a/app"), baseUrl, out path));
        Assert.False(GitHubRoutes.RequiresAppJwt(path));
    }
}
