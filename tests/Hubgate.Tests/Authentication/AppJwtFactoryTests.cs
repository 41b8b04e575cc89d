using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hubgate.Tests.Authentication;

public sealed class AppJwtFactoryTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, string?> Settings(string? clientId = null, string? key = null) => new()
    {
        ["GitHub:AppId"] = "12345",
        ["GitHub:ClientId"] = clientId,
        ["GitHub:PrivateKey"] = key ?? TestKeys.Pkcs1Pem,
    };

    [Fact]
    public async Task GetJwt_Claims_FollowGitHubRules()
    {
        await using var services = await TestServices.StartAsync(Settings(), new FakeTimeProvider(Start));

        var jwt = services.Get<AppJwtFactory>().GetJwt();
        var (header, claims) = Jwt.Decode(jwt);

        Assert.Equal("RS256", header.GetProperty("alg").GetString());
        Assert.Equal("JWT", header.GetProperty("typ").GetString());
        Assert.Equal(Start.AddSeconds(-60).ToUnixTimeSeconds(), claims.GetProperty("iat").GetInt64());
        Assert.Equal(Start.AddMinutes(9).ToUnixTimeSeconds(), claims.GetProperty("exp").GetInt64());
        Assert.True(claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64() <= 600);
        Assert.Equal(12345, claims.GetProperty("iss").GetInt64());
        Assert.True(Jwt.SignatureIsValid(jwt, TestKeys.Rsa));
        services.DeleteFiles();
    }

    [Fact]
    public async Task GetJwt_WithClientId_UsesItAsIssuer()
    {
        await using var services = await TestServices.StartAsync(Settings(clientId: "Iv23liExample"), new FakeTimeProvider(Start));

        var (_, claims) = Jwt.Decode(services.Get<AppJwtFactory>().GetJwt());

        Assert.Equal("Iv23liExample", claims.GetProperty("iss").GetString());
        services.DeleteFiles();
    }

    [Fact]
    public async Task GetJwt_ReusedUntilSixtySecondsBeforeExpiry_ThenResigned()
    {
        var time = new FakeTimeProvider(Start);
        await using var services = await TestServices.StartAsync(Settings(), time);
        var factory = services.Get<AppJwtFactory>();

        var first = factory.GetJwt();
        time.Advance(TimeSpan.FromMinutes(7) + TimeSpan.FromSeconds(59));
        var stillFirst = factory.GetJwt();
        time.Advance(TimeSpan.FromSeconds(1));
        var second = factory.GetJwt();

        Assert.Same(first, stillFirst);
        Assert.NotEqual(first, second);
        Assert.Equal(time.GetUtcNow().AddMinutes(9).ToUnixTimeSeconds(), Jwt.Decode(second).Claims.GetProperty("exp").GetInt64());
        services.DeleteFiles();
    }

    [Theory]
    [InlineData("pkcs1")]
    [InlineData("pkcs8")]
    [InlineData("escaped-newlines")]
    [InlineData("file")]
    public async Task GetJwt_AcceptsEveryKeyForm(string form)
    {
        var settings = Settings();
        string? file = null;
        switch (form)
        {
            case "pkcs8":
                settings["GitHub:PrivateKey"] = TestKeys.Pkcs8Pem;
                break;
            case "escaped-newlines":
                settings["GitHub:PrivateKey"] = TestKeys.Pkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal);
                break;
            case "file":
                file = Path.GetTempFileName();
                await File.WriteAllTextAsync(file, TestKeys.Pkcs1Pem);
                settings["GitHub:PrivateKey"] = null;
                settings["GitHub:PrivateKeyPath"] = file;
                break;
        }

        try
        {
            await using var services = await TestServices.StartAsync(settings, new FakeTimeProvider(Start));
            Assert.True(Jwt.SignatureIsValid(services.Get<AppJwtFactory>().GetJwt(), TestKeys.Rsa));
            services.DeleteFiles();
        }
        finally
        {
            if (file is not null)
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task GetJwt_WithoutCredentials_NamesTheMissingKeys()
    {
        await using var services = await TestServices.StartAsync(new Dictionary<string, string?>());

        var ex = Assert.Throws<GitHubAppNotConfiguredException>(() => services.Get<AppJwtFactory>().GetJwt());

        Assert.Contains("GitHub:AppId", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GitHub:PrivateKeyPath", ex.Message, StringComparison.Ordinal);
        services.DeleteFiles();
    }
}
