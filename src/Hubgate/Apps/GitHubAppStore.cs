using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Hubgate.Apps;

/// <summary>
/// Apps added at run time, kept in the <c>apps</c> table with their private key, client secret and webhook secrets
/// encrypted (Data Protection, purpose <c>Hubgate.App.v1</c>, the key ring in the same database), and made live in
/// <see cref="GitHubApps"/> at once. Other replicas learn of an App from <see cref="RefreshAsync"/> (at start-up and
/// periodically) or, sooner, from <see cref="FindAsync"/> when a request names an App they do not know yet. Removal is
/// soft: the row stays, so that what was recorded under the App's name stays explained, but the App stops acting and
/// accepting deliveries everywhere.
/// </summary>
internal sealed partial class GitHubAppStore(
    IDbContextFactory<HubgateDbContext> databases,
    IDataProtectionProvider dataProtection,
    GitHubApps apps,
    TimeProvider time,
    ILogger<GitHubAppStore> logger)
{
    /// <summary>How long a name that is neither registered nor stored is not looked up again.</summary>
    public static readonly TimeSpan NegativeCacheLifetime = TimeSpan.FromSeconds(5);

    private readonly IDataProtector _protector = dataProtection.CreateProtector("Hubgate.App.v1");
    private readonly ConcurrentDictionary<string, DateTimeOffset> _missing = new(StringComparer.Ordinal);

    /// <summary>Stores a new App (or one removed earlier under the same name) and registers it; refused with a reason otherwise.</summary>
    public async Task<AppChange> AddAsync(GitHubAppRegistration registration, string? owner, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (Check(registration) is { } problem)
        {
            return AppChange.Fail(AppChangeError.Invalid, problem);
        }

        if (apps.TryGet(registration.Name, out var existing) && IsConfigured(existing))
        {
            return AppChange.Fail(AppChangeError.Conflict,
                $"An App named '{registration.Name}' is configured (GitHub:Apps:{registration.Name}, or GitHub:* for default); configured Apps are changed in configuration.");
        }

        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var row = await db.Apps.FirstOrDefaultAsync(a => a.Name == registration.Name, cancellationToken).ConfigureAwait(false);
        if (row is { RemovedAt: null })
        {
            return AppChange.Fail(AppChangeError.Conflict, $"An App named '{registration.Name}' is stored; remove it first (hubgate apps remove {registration.Name}).");
        }

        var isNew = row is null;
        row ??= new AppEntity { Name = registration.Name, ApiBaseUrl = "", PrivateKeyCiphertext = "" };
        row.AppId = registration.AppId;
        row.ClientId = registration.ClientId;
        row.Slug = registration.Slug;
        row.ApiBaseUrl = registration.ApiBaseUrl.AbsoluteUri;
        row.WebBaseUrl = registration.WebBaseUrl?.AbsoluteUri;
        row.Owner = owner;
        row.CreatedBy = actor;
        row.CreatedAt = now;
        row.RemovedAt = null;
        row.PrivateKeyCiphertext = _protector.Protect(registration.PrivateKeyPem);
        row.ClientSecretCiphertext = registration.ClientSecret is { Length: > 0 } secret ? _protector.Protect(secret) : null;
        string[] secrets = [.. new[] { registration.WebhookSecret }.Concat(registration.AdditionalWebhookSecrets).OfType<string>().Where(s => s.Length > 0)];
        row.WebhookSecretsCiphertext = secrets.Length == 0 ? null : _protector.Protect(JsonSerializer.Serialize(secrets));
        if (isNew)
        {
            db.Apps.Add(row);
        }

        // The registry has the last word on what can act (the key, the host, no second App with this host and App id).
        GitHubApp app;
        try
        {
            app = apps.Register(registration);
        }
        catch (Exception e) when (e is ArgumentException or AppPrivateKeyException)
        {
            return AppChange.Fail(AppChangeError.Invalid, e.Message);
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Another replica stored the same name between the look-up and the insert.
            apps.Unregister(registration.Name);
            return AppChange.Fail(AppChangeError.Conflict, $"An App named '{registration.Name}' is stored; remove it first (hubgate apps remove {registration.Name}).");
        }

        _missing.TryRemove(registration.Name, out _);
        Log.Added(logger, registration.Name, registration.AppId, registration.ApiBaseUrl.Host, actor);
        return new AppChange(Summary(row, app), null, null);
    }

    /// <summary>Removes a stored App: it stops acting and accepting deliveries on this replica at once, on others at their next look-up.</summary>
    public async Task<AppChange> RemoveAsync(string name, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (apps.TryGet(name, out var existing) && IsConfigured(existing))
        {
            return AppChange.Fail(AppChangeError.Conflict, $"App '{name}' is configured (GitHub:Apps:{name}); remove it from configuration.");
        }

        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var changed = await db.Apps.Where(a => a.Name == name && a.RemovedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.RemovedAt, now), cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            return AppChange.Fail(AppChangeError.NotFound, $"No App named '{name}' is stored.");
        }

        apps.Unregister(name);
        Log.Removed(logger, name, actor);
        return new AppChange(null, null, null);
    }

    /// <summary>Every App: the registry's (configured and stored) and the stored ones removed earlier. Never a secret.</summary>
    public async Task<IReadOnlyList<AppSummary>> ListAsync(CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var rows = (await db.Apps.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.Name, StringComparer.Ordinal);
        var list = new List<AppSummary>();
        foreach (var app in apps.All)
        {
            list.Add(rows.TryGetValue(app.Name, out var row) && app.Source == GitHubAppSource.Database ? Summary(row, app) : Summary(app));
        }

        // Stored Apps this process has not registered (removed ones, or added on another replica a moment ago).
        list.AddRange(rows.Values.Where(r => list.All(a => a.Name != r.Name)).Select(r => Summary(r, null)));
        return [.. list.OrderBy(a => a.Name, StringComparer.Ordinal)];
    }

    /// <summary>One App by name (live or removed), or null.</summary>
    public async Task<AppSummary?> ShowAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(a => a.Name == name);

    /// <summary>
    /// The App named <paramref name="name"/>: the registered one, else a stored one another replica added (loaded and
    /// registered now). Null when there is none; such a name is not looked up again for <see cref="NegativeCacheLifetime"/>.
    /// </summary>
    public async ValueTask<GitHubApp?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (apps.TryGet(name, out var app))
        {
            return app;
        }

        var now = time.GetUtcNow();
        if (!GitHubApp.IsValidName(name) || (_missing.TryGetValue(name, out var until) && until > now))
        {
            return null;
        }

        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var row = await db.Apps.AsNoTracking().FirstOrDefaultAsync(a => a.Name == name && a.RemovedAt == null, cancellationToken).ConfigureAwait(false);
        if (row is null || Registration(row) is not { } registration)
        {
            if (_missing.Count > 10_000)
            {
                _missing.Clear(); // bounded: names come from requests
            }

            _missing[name] = now + NegativeCacheLifetime;
            return null;
        }

        try
        {
            return apps.Register(registration);
        }
        catch (Exception e) when (e is ArgumentException or AppPrivateKeyException)
        {
            Log.NotRegistered(logger, name, e.Message);
            return null;
        }
    }

    /// <summary>
    /// A configured App, whose name a stored App cannot take — but an unconfigured <c>default</c> (a deployment started
    /// without <c>GitHub:AppId</c>) can be created or added at run time.
    /// </summary>
    private static bool IsConfigured(GitHubApp app) =>
        app.Source == GitHubAppSource.Configuration && (app.Name != GitHubApp.DefaultName || app.IsConfigured);

    /// <summary>
    /// Makes the registry match the table: registers every live stored App (new or changed), unregisters stored Apps
    /// removed on another replica. Returns how many Apps were registered.
    /// </summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var rows = await db.Apps.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
        var registered = 0;
        foreach (var row in rows)
        {
            var known = apps.TryGet(row.Name, out var app) ? app : null;
            if (known is not null && IsConfigured(known))
            {
                Log.ShadowedByConfiguration(logger, row.Name);
                continue;
            }

            if (row.RemovedAt is not null)
            {
                if (known is not null)
                {
                    apps.Unregister(row.Name);
                }

                continue;
            }

            if (known is not null && known.Options.AppId == row.AppId && known.ApiBaseUrl.AbsoluteUri == new Uri(row.ApiBaseUrl).AbsoluteUri)
            {
                continue; // unchanged
            }

            if (Registration(row) is { } registration)
            {
                try
                {
                    apps.Register(registration);
                    registered++;
                }
                catch (Exception e) when (e is ArgumentException or AppPrivateKeyException)
                {
                    Log.NotRegistered(logger, row.Name, e.Message);
                }
            }
        }

        return registered;
    }

    private GitHubAppRegistration? Registration(AppEntity row)
    {
        try
        {
            var secrets = row.WebhookSecretsCiphertext is { } encrypted
                ? JsonSerializer.Deserialize<string[]>(_protector.Unprotect(encrypted)) ?? []
                : [];
            return new GitHubAppRegistration(row.Name, row.AppId, row.ClientId,
                row.ClientSecretCiphertext is { } clientSecret ? _protector.Unprotect(clientSecret) : null,
                _protector.Unprotect(row.PrivateKeyCiphertext), new Uri(row.ApiBaseUrl), row.WebBaseUrl is { } web ? new Uri(web) : null,
                secrets.FirstOrDefault(), [.. secrets.Skip(1)], row.Slug);
        }
        catch (CryptographicException)
        {
            // Encrypted under a key ring this process cannot read: the App cannot act here; say so once per look-up.
            Log.Undecryptable(logger, row.Name);
            return null;
        }
    }

    /// <summary>What makes a registration unusable, in words; null when it can be used.</summary>
    public static string? Check(GitHubAppRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (!GitHubApp.IsValidName(registration.Name))
        {
            return $"'{registration.Name}' is not an App name: 1 to 64 of a-z, 0-9 and '-'.";
        }

        if (registration.AppId <= 0)
        {
            return "The App id must be a positive number (the App's settings page shows it).";
        }

        if (!registration.ApiBaseUrl.IsAbsoluteUri || registration.ApiBaseUrl.Scheme is not ("https" or "http"))
        {
            return $"The API base URL '{registration.ApiBaseUrl}' is not an absolute http(s) URL (https://api.github.com/ or https://HOST/api/v3/).";
        }

        try
        {
            using var key = AppPrivateKey.Load(new GitHubAppOptions { PrivateKey = registration.PrivateKeyPem });
        }
        catch (AppPrivateKeyException e)
        {
            return "The private key: " + e.Message.Replace("GitHub:PrivateKey: ", "", StringComparison.Ordinal);
        }

        return null;
    }

    private static AppSummary Summary(AppEntity row, GitHubApp? app) => new(
        row.Name, GitHubAppSource.Database, row.AppId, row.ClientId, row.Slug, new Uri(row.ApiBaseUrl),
        app?.WebBaseUrl ?? (row.WebBaseUrl is { } web ? new Uri(web) : GitHubApp.DeriveWebBaseUrl(new Uri(row.ApiBaseUrl))),
        row.Owner, row.CreatedBy, row.CreatedAt, row.RemovedAt, row.RemovedAt is null, row.WebhookSecretsCiphertext is not null);

    private static AppSummary Summary(GitHubApp app) => new(
        app.Name, app.Source, app.Options.AppId ?? 0, app.Options.ClientId, app.Slug, app.ApiBaseUrl, app.WebBaseUrl,
        null, null, null, null, app.IsConfigured, app.WebhookSecrets.Count > 0);

    private static partial class Log
    {
        [LoggerMessage(EventId = 470, Level = LogLevel.Information, Message = "App {App} (id {AppId} on {Host}) added by {Actor}")]
        public static partial void Added(ILogger logger, string app, long appId, string host, string actor);

        [LoggerMessage(EventId = 471, Level = LogLevel.Information, Message = "App {App} removed by {Actor}: its deliveries are refused from now on; its history is kept")]
        public static partial void Removed(ILogger logger, string app, string actor);

        [LoggerMessage(EventId = 472, Level = LogLevel.Warning,
            Message = "Stored App {App} cannot be decrypted with this key ring (DataProtection settings differ from the replica that stored it); it is not served here")]
        public static partial void Undecryptable(ILogger logger, string app);

        [LoggerMessage(EventId = 473, Level = LogLevel.Warning, Message = "Stored App {App} is shadowed by a configured App of the same name; the configured one is used")]
        public static partial void ShadowedByConfiguration(ILogger logger, string app);

        [LoggerMessage(EventId = 474, Level = LogLevel.Warning, Message = "Stored App {App} could not be registered: {Reason}")]
        public static partial void NotRegistered(ILogger logger, string app, string reason);
    }
}

/// <summary>An App as listed by <c>hubgate apps list</c> and <c>/api/apps</c>: never a key or a secret.</summary>
internal sealed record AppSummary(
    string Name,
    GitHubAppSource Source,
    long AppId,
    string? ClientId,
    string? Slug,
    Uri ApiBaseUrl,
    Uri WebBaseUrl,
    string? Owner,
    string? CreatedBy,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? RemovedAt,
    bool Live,
    bool HasWebhookSecret);

/// <summary>Why a change to the stored Apps was refused.</summary>
internal enum AppChangeError
{
    Invalid,
    Conflict,
    NotFound,
}

/// <summary>The outcome of adding or removing an App.</summary>
internal sealed record AppChange(AppSummary? App, AppChangeError? Error, string? Message)
{
    public static AppChange Fail(AppChangeError error, string message) => new(null, error, message);
}
