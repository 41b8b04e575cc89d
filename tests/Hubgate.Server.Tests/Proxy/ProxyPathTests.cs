using Hubgate.Server.Proxy;

namespace Hubgate.Server.Tests.Proxy;

public sealed class ProxyPathTests
{
    private static readonly Uri GitHub = new("https://api.github.com/");
    private static readonly Uri Enterprise = new("https://ghe.example.com/api/v3/");

    [Theory]
    [InlineData("repos/octocat/hello-world", "https://api.github.com/repos/octocat/hello-world")]
    [InlineData("repos/octocat/hello-world/pulls?state=open&per_page=100", "https://api.github.com/repos/octocat/hello-world/pulls?state=open&per_page=100")]
    [InlineData("installation/repositories", "https://api.github.com/installation/repositories")]
    [InlineData("app", "https://api.github.com/app")]
    [InlineData("repos/o/r/contents/docs%20folder/a%2Bb.md", "https://api.github.com/repos/o/r/contents/docs%20folder/a%2Bb.md")]
    [InlineData("", "https://api.github.com/")]
    [InlineData("user@evil.example.com", "https://api.github.com/user@evil.example.com")]
    [InlineData("repos/o/r/compare/main...fork:feature", "https://api.github.com/repos/o/r/compare/main...fork:feature")]
    [InlineData("search/issues?q=author:octocat+is:pr", "https://api.github.com/search/issues?q=author:octocat+is:pr")]
    public void TryResolve_PlainPaths_StayBelowTheBase(string tail, string expected)
    {
        Assert.True(ProxyPath.TryResolve(tail, GitHub, out var target, out var problem), problem);
        Assert.Equal(expected, target.AbsoluteUri);
    }

    [Fact]
    public void TryResolve_EnterpriseBase_KeepsTheApiPrefix()
    {
        Assert.True(ProxyPath.TryResolve("repos/a/b", Enterprise, out var target, out _));
        Assert.Equal("https://ghe.example.com/api/v3/repos/a/b", target.AbsoluteUri);
    }

    [Theory]
    [InlineData("../admin")]
    [InlineData("repos/../../admin")]
    [InlineData("repos/./o/r")]
    [InlineData("repos/%2e%2e/%2e%2e/admin")]
    [InlineData("repos/%2E%2E/x")]
    [InlineData("repos/o%2Fr")]
    [InlineData("repos%5c..%5cadmin")]
    [InlineData("repos/o/r%252e%252e")]
    [InlineData("/evil.example.com/x")]
    [InlineData("//evil.example.com/x")]
    [InlineData("https://evil.example.com/x")]
    [InlineData("http:evil.example.com")]
    [InlineData("javascript:alert(1)")]
    [InlineData("repos\\..\\admin")]
    [InlineData("repos/o/r#fragment")]
    [InlineData("repos//o/r")]
    [InlineData("repos/o/r%00")]
    public void TryResolve_TricksThatLeaveOrBlurTheBase_AreRefused(string tail)
    {
        Assert.False(ProxyPath.TryResolve(tail, Enterprise, out _, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }
}
