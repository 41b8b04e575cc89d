using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Server.Setup;
using Hubgate.Integrations;
using Hubgate.Server.Access;
using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Server.Cli;

/// <summary>
/// The service's own registrations (same configuration sources, same database), without the web server or any
/// background work: what an operator command needs. The database is migrated before the command runs.
/// </summary>
internal sealed class CliServices : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CliServices(WebApplication app) => _app = app;

    public T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public IConfiguration Configuration => _app.Configuration;

    /// <summary>The services; the database is migrated first unless <paramref name="migrate"/> is false (<c>check</c> only looks).</summary>
    public static async Task<CliServices> StartAsync(IReadOnlyDictionary<string, string?>? settings, CancellationToken cancellationToken,
        bool migrate = true)
    {
        var builder = Hosting.HubgateHost.CreateBuilder([]);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        // Commands print their own results; logs only for what goes wrong, and no HTTP/retry chatter.
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration["Logging:LogLevel:Polly"] = "None";
        builder.Configuration["Logging:LogLevel:System.Net.Http"] = "None";
        builder.Configuration["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "None"; // failures are reported by the command
        builder.Services.AddHubgateStorage(builder.Configuration);
        builder.Services.AddGitHubApp(builder.Configuration);
        builder.Configuration["Webhooks:RunWorker"] = "false";
        // The running service owns SQLite's delivery log (one appender); what a command stores (recovery) keeps its
        // body in the database, which every reader reads as well.
        builder.Configuration["Webhooks:Log"] = "false";
        builder.Services.AddGitHubWebhooks(builder.Configuration);
        builder.Services.AddGitHubIntegrationModel(builder.Configuration);
        builder.Services.AddAccess(builder.Configuration);
        builder.Services.AddAppSetup(builder.Configuration);
        var app = builder.Build();
        if (migrate)
        {
            await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);

            // Stored Apps act in commands as in the service (--app NAME).
            await app.Services.GetRequiredService<GitHubAppStore>().RefreshAsync(cancellationToken);
        }

        return new CliServices(app);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
