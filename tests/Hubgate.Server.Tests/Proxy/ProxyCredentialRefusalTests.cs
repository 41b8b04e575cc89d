using Hubgate.Authentication;
using Hubgate.Problems;
using Hubgate.Server.Proxy;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>
/// The problem the proxy answers for a failed forward is chosen by the exception's type (or the type of one it wraps),
/// whatever its message says.
/// </summary>
public sealed class ProxyCredentialRefusalTests
{
    [Fact]
    public void CredentialsRefused_IsARefusedPath_ByItsTypeWhateverItsMessage()
    {
        var refused = new GitHubCredentialsRefusedException("Credentials kept from another host.", new Uri("http://127.0.0.2:9"));

        var (kind, message, _) = GitHubProxy.Describe(new HttpRequestException("forwarding failed", refused));

        Assert.Same(HubgateProblems.RefusedProxyPath, kind);
        Assert.Equal(refused.Message, message);
    }

    [Fact]
    public void AnotherExceptionWhoseMessageSaysRefusing_IsNotARefusedPath()
    {
        var (kind, message, _) = GitHubProxy.Describe(new InvalidOperationException("Refusing to send GitHub App credentials to http://127.0.0.2:9"));

        Assert.Same(HubgateProblems.GitHubFailed, kind);
        Assert.DoesNotContain("Refusing", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("installation-not-found")]
    [InlineData("installation-suspended")]
    [InlineData("app-key-rejected")]
    [InlineData("app-key-unreadable")]
    [InlineData("app-not-configured")]
    public void CredentialRefusals_AreKeyedOnTheirTypes_WhateverTheirWords(string refusal)
    {
        (Exception exception, ProblemKind expected) = refusal switch
        {
            "installation-not-found" => ((Exception)new InstallationNotFoundException(7), HubgateProblems.InstallationNotFound),
            "installation-suspended" => (new InstallationSuspendedException(7), HubgateProblems.InstallationSuspended),
            "app-key-rejected" => (new GitHubAppCredentialsRejectedException("default", 7, "other words"), HubgateProblems.GitHubFailed),
            "app-key-unreadable" => (new AppPrivateKeyException("other words"), HubgateProblems.AppNotConfigured),
            _ => (new GitHubAppNotConfiguredException("other words"), HubgateProblems.AppNotConfigured),
        };

        Assert.Same(expected, GitHubProxy.Describe(new HttpRequestException("forwarding failed", exception)).Kind);
    }
}
