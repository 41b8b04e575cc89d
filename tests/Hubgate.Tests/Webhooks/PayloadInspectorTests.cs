using System.Text;
using Hubgate.Testing;
using Hubgate.Webhooks;

namespace Hubgate.Tests.Webhooks;

public sealed class PayloadInspectorTests
{
    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{\"a\":")]
    [InlineData("{} {}")]
    [InlineData("Hello, World!")]
    public void NotAJsonObject_IsRefused(string body) =>
        Assert.False(PayloadInspector.TryInspect(Encoding.UTF8.GetBytes(body), out _));

    [Fact]
    public void TopLevelFacts_AreRead_NestedLookalikesAreNot()
    {
        const string json = """
            {"pull_request":{"action":"nested","installation":{"id":9},"repository":{"id":9}},
             "action":"opened","installation":{"id":42,"node_id":"x"},"repository":{"id":7,"owner":{"id":9}},"hook_id":5}
            """;
        Assert.True(PayloadInspector.TryInspect(Encoding.UTF8.GetBytes(json), out var facts));
        Assert.Equal(new PayloadFacts("opened", 42, 7, 5), facts);
    }

    [Fact]
    public void DeeplyNestedBody_IsRefusedNotCrashed()
    {
        var deep = "{\"a\":" + string.Concat(Enumerable.Repeat("[", 5000)) + string.Concat(Enumerable.Repeat("]", 5000)) + "}";
        Assert.False(PayloadInspector.TryInspect(Encoding.UTF8.GetBytes(deep), out _));
    }

    [Fact]
    public void Fixtures_YieldTheirActionInstallationAndRepository()
    {
        Assert.True(PayloadInspector.TryInspect(WebhookFixtures.Load("pull_request", "opened.payload.json"), out var pr));
        Assert.Equal("opened", pr.Action);
        Assert.NotNull(pr.RepositoryId);

        Assert.True(PayloadInspector.TryInspect(WebhookFixtures.Load("push", "with-installation.payload.json"), out var push));
        Assert.Null(push.Action);
        Assert.NotNull(push.InstallationId);

        Assert.True(PayloadInspector.TryInspect(WebhookFixtures.Load("ping", "payload.json"), out var ping));
        Assert.NotNull(ping.HookId);
    }
}
