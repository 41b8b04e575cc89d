using Hubgate.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Hubgate.Tests.Infrastructure;

/// <summary>A fake GitHub plus the library's services configured as its App, sharing one clock.</summary>
internal sealed class GitHubAppHarness : IAsyncDisposable
{
    private GitHubAppHarness(FakeGitHubServer gitHub, TestServices services)
    {
        GitHub = gitHub;
        Services = services;
    }

    public FakeGitHubServer GitHub { get; }
    public TestServices Services { get; private set; }

    public static async Task<GitHubAppHarness> StartAsync(
        Action<Dictionary<string, string?>>? settings = null,
        FakeGitHubOptions? gitHubOptions = null,
        TimeProvider? time = null,
        Action<IServiceCollection>? configure = null)
    {
        var gitHub = await FakeGitHubServer.StartAsync(gitHubOptions);
        var all = Settings(gitHub);
        settings?.Invoke(all);
        var services = await TestServices.StartAsync(all, time as FakeTimeProvider, configure: s =>
        {
            if (time is not null and not FakeTimeProvider)
            {
                s.AddSingleton(time);
            }

            configure?.Invoke(s);
        });
        return new GitHubAppHarness(gitHub, services);
    }

    public static Dictionary<string, string?> Settings(FakeGitHubServer gitHub) => new()
    {
        ["GitHub:AppId"] = gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem,
        ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
        ["GitHub:RetryDelay"] = "00:00:00.020",
        ["GitHub:RequestTimeout"] = "00:00:02",
    };

    /// <summary>Moves our clock and GitHub's together, as real time would.</summary>
    public void Advance(TimeSpan by)
    {
        Services.Time.Advance(by);
        GitHub.Clock.Offset += by;
    }

    /// <summary>Disposes the services and starts them again on the same database (a process restart).</summary>
    public async Task RestartAsync(Action<Dictionary<string, string?>>? settings = null)
    {
        var directory = Services.Directory;
        var time = Services.Time;
        await Services.DisposeAsync();
        var all = Settings(GitHub);
        settings?.Invoke(all);
        Services = await TestServices.StartAsync(all, time, directory);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        Services.DeleteFiles();
        await GitHub.DisposeAsync();
    }
}
