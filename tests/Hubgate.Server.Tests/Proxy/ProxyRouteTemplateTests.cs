using Hubgate.Server.Proxy;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>Metric labels of bounded cardinality, and the decoding that compares a request target to its route.</summary>
public sealed class ProxyRouteTemplateTests
{
    [Theory]
    [InlineData("/repos/acme/api", "/repos/{owner}/{repo}")]
    [InlineData("/repos/acme/api/pulls", "/repos/{owner}/{repo}/pulls")]
    [InlineData("/repos/acme/api/git/refs/heads/main", "/repos/{owner}/{repo}/git/…")]
    [InlineData("/repositories/123/issues", "/repositories/{id}/issues")]
    [InlineData("/app/installations/42/access_tokens", "/app/installations/{id}/access_tokens")]
    [InlineData("/orgs/Acme/installation", "/orgs/{name}/installation")]
    [InlineData("/gists/aa5a315d61ae9438b18d", "/gists/{value}")]
    [InlineData("/", "/")]
    public void Of_ReplacesNamesAndIds(string path, string template) => Assert.Equal(template, ProxyRouteTemplate.Of(path));

    [Theory]
    [InlineData("/proxy/%69nstallations/1", "/proxy/installations/1")]
    [InlineData("/proxy/%41%7e%2D%5F%2e", "/proxy/A~-_.")]
    [InlineData("/proxy/a%2Fb%25c%3F%20", "/proxy/a%2Fb%25c%3F%20")] // reserved and other characters stay encoded
    [InlineData("/proxy/%2569", "/proxy/%2569")] // decoded once, never twice
    [InlineData("/proxy/%6", "/proxy/%6")]
    public void DecodeUnreserved_DecodesOnlyUnreservedCharacters(string raw, string decoded) =>
        Assert.Equal(decoded, ProxyPath.DecodeUnreserved(raw));
}
