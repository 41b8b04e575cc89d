using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Access;

/// <summary>A client configured wrongly stops the server at start-up with a message naming the key.</summary>
public sealed class ClientOptionsTests
{
    [Theory]
    [InlineData("Hubgate:Clients:ci:Permissions:contents", "readwrite", "Hubgate:Clients:ci:Permissions:contents")]
    [InlineData("Hubgate:Clients:ci:KeySha256", "abc", "Hubgate:Clients:ci")]
    [InlineData("Hubgate:Clients:ci:Repositories:0", "just-a-name", "Hubgate:Clients:ci:Repositories")]
    [InlineData("Hubgate:Clients:admin:Key", "other", "Hubgate:Clients:admin")]
    [InlineData("Hubgate:Clients:ci:App", "Staging", "Hubgate:Clients:ci:App")]
    [InlineData("Hubgate:Clients:ci:App", "read", "Hubgate:Clients:ci:AppAccess")]
    [InlineData("Hubgate:Clients:ci:Streams:0", "Dev Stream", "Hubgate:Clients:ci:Streams:0")]
    public void InvalidClient_StopsTheStart_NamingTheKey(string key, string value, string named)
    {
        var failure = StartupFailure.Of(key, value, new Dictionary<string, string?> { ["Hubgate:Clients:ci:Key"] = "options-ci-key-8e3a" });

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }
}
