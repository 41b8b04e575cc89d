using System.Globalization;
using System.Net.Http.Headers;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Access;

/// <summary>What the policy tests share: the App's settings for the fake, the model webhooks would leave, a client's HTTP client.</summary>
internal static class AccessTestModel
{
    /// <summary>The fake GitHub with the installations and repositories of <see cref="SeedAsync"/>.</summary>
    public static async Task<FakeGitHubServer> StartGitHubAsync()
    {
        var gitHub = await FakeGitHubServer.StartAsync();
        gitHub.AddInstallation(1, "acme");
        gitHub.AddRepository(1, 100, "acme", "api");
        gitHub.AddRepository(1, 101, "acme", "web");
        gitHub.AddRepository(1, 102, "acme", "docs");
        gitHub.AddInstallation(2, "globex");
        gitHub.AddRepository(2, 200, "globex", "site");
        return gitHub;
    }

    /// <summary>Adds the fake's App credentials and turns off sync and the worker.</summary>
    public static Dictionary<string, string?> WithGitHub(this Dictionary<string, string?> settings, FakeGitHubServer gitHub)
    {
        settings["GitHub:AppId"] = gitHub.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal);
        settings["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri;
        settings["GitHub:SyncInterval"] = "0";
        settings["Webhooks:RunWorker"] = "false";
        return settings;
    }

    /// <summary>
    /// The model as webhooks would have left it (account logins and repository names for id look-ups): installation 1
    /// of acme with acme/api (100), acme/web (101), acme/docs (102); installation 2 of globex with globex/site (200).
    /// </summary>
    public static async Task SeedAsync(HubgateApplication app)
    {
        var databases = app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        await using var db = await databases.CreateDbContextAsync();
        var now = DateTimeOffset.UtcNow;
        db.Installations.AddRange(
            new InstallationEntity { Id = 1, AccountLogin = "acme", CreatedAt = now, UpdatedAt = now },
            new InstallationEntity { Id = 2, AccountLogin = "globex", CreatedAt = now, UpdatedAt = now });
        db.Repositories.AddRange(
            new RepositoryEntity { Id = 100, InstallationId = 1, Name = "api", FullName = "acme/api", CreatedAt = now, UpdatedAt = now },
            new RepositoryEntity { Id = 101, InstallationId = 1, Name = "web", FullName = "acme/web", CreatedAt = now, UpdatedAt = now },
            new RepositoryEntity { Id = 102, InstallationId = 1, Name = "docs", FullName = "acme/docs", CreatedAt = now, UpdatedAt = now },
            new RepositoryEntity { Id = 200, InstallationId = 2, Name = "site", FullName = "globex/site", CreatedAt = now, UpdatedAt = now });
        await db.SaveChangesAsync();
    }

    /// <summary>An HTTP client of the server carrying a client's key.</summary>
    public static HttpClient Client(this HubgateApplication app, string key)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
