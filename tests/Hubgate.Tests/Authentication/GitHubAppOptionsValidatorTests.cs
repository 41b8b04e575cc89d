using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;

namespace Hubgate.Tests.Authentication;

public sealed class GitHubAppOptionsValidatorTests
{
    private static List<string> Validate(GitHubAppOptions options) =>
        new GitHubAppOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Validate_NothingConfigured_IsValid_ForWebhookOnlyUse() =>
        Assert.Empty(Validate(new GitHubAppOptions()));

    [Fact]
    public void Validate_UnreadableKeyFile_NamesTheKeyAndTheFile()
    {
        var failures = Validate(new GitHubAppOptions { AppId = 1, PrivateKeyPath = "/nonexistent/app.pem" });

        var failure = Assert.Single(failures);
        Assert.Contains("GitHub:PrivateKeyPath", failure, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/app.pem", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NotAPem_NamesTheKey()
    {
        var failure = Assert.Single(Validate(new GitHubAppOptions { AppId = 1, PrivateKey = "hello" }));
        Assert.Contains("GitHub:PrivateKey", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NotAnRsaKey_NamesTheKeyWithoutEchoingIt()
    {
        using var ec = System.Security.Cryptography.ECDsa.Create();
        var pem = ec.ExportPkcs8PrivateKeyPem();

        var failure = Assert.Single(Validate(new GitHubAppOptions { AppId = 1, PrivateKey = pem }));

        Assert.Contains("GitHub:PrivateKey", failure, StringComparison.Ordinal);
        Assert.Contains("RSA", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(pem[40..80], failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeyWithoutAppId_AsksForTheAppId()
    {
        var failure = Assert.Single(Validate(new GitHubAppOptions { PrivateKey = TestKeys.Pkcs1Pem }));
        Assert.Contains("GitHub:AppId", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://api.github.com/")]
    [InlineData("https://api.github.com/?x=1")]
    public void Validate_BadBaseUrl_NamesTheKey(string url)
    {
        var failure = Assert.Single(Validate(new GitHubAppOptions { ApiBaseUrl = new Uri(url) }));
        Assert.Contains("GitHub:ApiBaseUrl", failure, StringComparison.Ordinal);
    }
}
