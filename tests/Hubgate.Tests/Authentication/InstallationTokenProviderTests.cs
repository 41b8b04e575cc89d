using System.Text;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Hubgate.Testing;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Authentication;

public sealed class InstallationTokenProviderTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task GetToken_TwoHundredConcurrentCallers_MintOnce()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.MintDelay = TimeSpan.FromMilliseconds(300);
        var provider = h.Services.Get<InstallationTokenProvider>();

        var tokens = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(_ => Task.Run(async () => await provider.GetTokenAsync(1, Timeout))));

        Assert.Equal(1, h.GitHub.MintCountFor(1));
        Assert.Single(tokens.Select(t => t.Token).Distinct());
    }

    [Fact]
    public async Task GetToken_TenInstallationsAtOnce_MintTenTimesInParallel()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        for (var id = 1; id <= 10; id++)
        {
            h.GitHub.AddInstallation(id, "org" + id);
        }

        h.GitHub.MintDelay = TimeSpan.FromMilliseconds(200);
        var provider = h.Services.Get<InstallationTokenProvider>();

        var tokens = await Task.WhenAll(Enumerable.Range(1, 10).SelectMany(id => Enumerable.Repeat(id, 5))
            .Select(id => Task.Run(async () => (id, (await provider.GetTokenAsync(id, Timeout)).Token))));

        Assert.Equal(10, h.GitHub.MintCount);
        Assert.Equal(10, tokens.Distinct().Count());
        Assert.Equal(10, tokens.Select(t => t.Token).Distinct().Count());
    }

    [Fact]
    public async Task GetToken_AfterRestart_ReusesThePersistedToken()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(7, "acme");
        var before = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(7, Timeout);

        await h.RestartAsync();
        var after = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(7, Timeout);

        Assert.Equal(before.Token, after.Token);
        Assert.Equal(1, h.GitHub.MintCount);
    }

    [Fact]
    public async Task GetToken_WithinRefreshAheadWindow_MintsANewOne()
    {
        await using var h = await GitHubAppHarness.StartAsync(s => s["GitHub:TokenRefreshAhead"] = "00:05:00");
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.TokenLifetime = TimeSpan.FromMinutes(10);
        var provider = h.Services.Get<InstallationTokenProvider>();

        var first = await provider.GetTokenAsync(1, Timeout);
        h.Advance(TimeSpan.FromMinutes(4));
        var stillFirst = await provider.GetTokenAsync(1, Timeout);
        h.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var second = await provider.GetTokenAsync(1, Timeout);

        Assert.Same(first, stillFirst);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(2, h.GitHub.MintCount);
    }

    [Theory]
    [InlineData(nameof(ExpiresAtMode.Null))]
    [InlineData(nameof(ExpiresAtMode.Missing))]
    [InlineData(nameof(ExpiresAtMode.Unparsable))]
    public async Task GetToken_WithoutAUsableExpiry_IsUsedAndRefreshedNextTime(string mode) // the fake's knob is internal to it
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.ExpiresAtMode = Enum.Parse<ExpiresAtMode>(mode);
        var provider = h.Services.Get<InstallationTokenProvider>();

        var first = await provider.GetTokenAsync(1, Timeout);
        var second = await provider.GetTokenAsync(1, Timeout);

        Assert.Null(first.ExpiresAt);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(2, h.GitHub.MintCount);
    }

    [Fact]
    public async Task GetToken_LongTokens_AreStoredWhole()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.TokenLength = 520;
        var first = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);

        await h.RestartAsync();
        var reloaded = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);

        Assert.Equal(520, first.Token.Length);
        Assert.Equal(first.Token, reloaded.Token);
    }

    [Fact]
    public async Task GetToken_RemovedInstallation_MarksItDeletedAndThrows()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(5, "gone");
        h.GitHub.RemoveInstallation(5);

        var ex = await Assert.ThrowsAsync<InstallationNotFoundException>(
            async () => await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(5, Timeout));

        Assert.Contains("5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("uninstalled", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InstallationStatus.Deleted, await StatusOf(h, 5));
    }

    [Fact]
    public async Task GetToken_SuspendedInstallation_MarksItSuspendedAndThrows()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(6, "paused");
        h.GitHub.SuspendInstallation(6);

        var ex = await Assert.ThrowsAsync<InstallationSuspendedException>(
            async () => await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(6, Timeout));

        Assert.Contains("unsuspend", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InstallationStatus.Suspended, await StatusOf(h, 6));
    }

    [Fact]
    public async Task GetToken_TransientServerErrors_AreRetriedWithBackoff()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.EnqueueAccessTokenFault(FakeFault.InternalServerError, times: 1);
        h.GitHub.EnqueueAccessTokenFault(FakeFault.BadGateway, times: 1);

        var token = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);

        Assert.False(string.IsNullOrEmpty(token.Token));
        Assert.Equal(3, h.GitHub.Requests.Count(r => r.Path.EndsWith("/access_tokens", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GetToken_GitHubKeepsFailing_ThrowsAClearErrorAfterBoundedRetries()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.EnqueueAccessTokenFault(FakeFault.ServiceUnavailable, times: 10);

        var ex = await Assert.ThrowsAsync<GitHubApiException>(
            async () => await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout));

        Assert.Contains("503", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, h.GitHub.Requests.Count(r => r.Path.EndsWith("/access_tokens", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GetToken_HangingConnection_TimesOutWithAClearError()
    {
        await using var h = await GitHubAppHarness.StartAsync(s => s["GitHub:RequestTimeout"] = "00:00:00.300");
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.EnqueueAccessTokenFault(FakeFault.Hang, times: 10);

        var ex = await Assert.ThrowsAsync<GitHubApiException>(
            async () => await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout));

        Assert.Contains("did not answer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetToken_RefreshAheadFails_KeepsServingTheStillValidToken()
    {
        await using var h = await GitHubAppHarness.StartAsync(s => s["GitHub:TokenRefreshAhead"] = "00:05:00");
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.TokenLifetime = TimeSpan.FromMinutes(10);
        var provider = h.Services.Get<InstallationTokenProvider>();
        var first = await provider.GetTokenAsync(1, Timeout);

        h.Advance(TimeSpan.FromMinutes(6));
        h.GitHub.EnqueueAccessTokenFault(FakeFault.InternalServerError, times: 20);
        var during = await provider.GetTokenAsync(1, Timeout);

        Assert.Equal(first.Token, during.Token);
        Assert.Contains("token.refresh_failed", h.Services.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Database_NeverHoldsTheTokenInPlaintext()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        var token = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);
        await using (var db = await h.Services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
        {
            Assert.NotNull((await db.Installations.SingleAsync(i => i.Id == 1)).TokenCiphertext);
            Assert.NotEmpty(await db.DataProtectionKeys.ToListAsync());
        }

        var directory = h.Services.Directory;
        await h.Services.DisposeAsync();

        foreach (var file in Directory.GetFiles(directory))
        {
            var text = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            Assert.DoesNotContain(token.Token, text, StringComparison.Ordinal);
        }

        await h.RestartAsync();
    }

    [Fact]
    public async Task Logs_CarryRefreshEvents_ButNeverTheTokenOrKey()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        h.GitHub.AddInstallation(1, "acme");
        var token = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);
        var jwt = h.Services.Get<AppJwtFactory>().GetJwt();

        var logs = h.Services.AllLogText();

        Assert.Contains("token.refresh_start installation_id=1", logs, StringComparison.Ordinal);
        Assert.Contains("token.refresh_end installation_id=1", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Token, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(jwt, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(jwt.Split('.')[2], logs, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Token, token.ToString(), StringComparison.Ordinal);
    }

    private static async Task<InstallationStatus> StatusOf(GitHubAppHarness h, long id)
    {
        await using var db = await h.Services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return (await db.Installations.SingleAsync(i => i.Id == id)).Status;
    }
}
