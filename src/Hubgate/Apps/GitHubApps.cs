using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Hubgate.Authentication;
using Microsoft.Extensions.Options;

namespace Hubgate.Apps;

/// <summary>
/// Every GitHub App this deployment acts as: those in configuration (<c>default</c> from today's <c>GitHub:*</c>
/// keys, and each <c>GitHub:Apps:{name}</c>) and those created or added at run time and stored in the database
/// (<see cref="Register"/>). Lookups are lock-free reads of an immutable snapshot; changes swap the snapshot.
/// </summary>
public sealed class GitHubApps : IDisposable
{
    private readonly GitHubAppServices _services;
    private readonly IDisposable? _reload;
    private readonly Lock _changes = new();
    private volatile FrozenDictionary<string, GitHubApp> _apps;
    private volatile IReadOnlyList<GitHubApp> _listed;
    private readonly GitHubApp _configuredDefault;
    private readonly Func<GitHubAppStore?>? _storedApps;

    internal GitHubApps(IOptionsMonitor<GitHubAppsOptions> options, GitHubAppServices services, Func<GitHubAppStore?>? storedApps = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _storedApps = storedApps;
        var configured = options.CurrentValue.Apps;
        var apps = new Dictionary<string, GitHubApp>(StringComparer.Ordinal);
        foreach (var (name, app) in configured)
        {
            apps[name] = new GitHubApp(name, app, GitHubAppSource.Configuration, slug: null, services);
        }

        if (!apps.TryGetValue(GitHubApp.DefaultName, out var configuredDefault))
        {
            configuredDefault = new GitHubApp(GitHubApp.DefaultName, new GitHubAppOptions(), GitHubAppSource.Configuration, null, services);
            apps[GitHubApp.DefaultName] = configuredDefault;
        }

        _configuredDefault = configuredDefault;
        _apps = apps.ToFrozenDictionary(StringComparer.Ordinal);
        _listed = Listed(_apps);
        _reload = options.OnChange(TakeReloadedSecrets);
    }

    /// <summary>
    /// The App of today's single-App keys and routes. Always present; unconfigured until <c>GitHub:AppId</c> and a key
    /// are set (its services then fail with <see cref="GitHubAppNotConfiguredException"/> naming the keys).
    /// </summary>
    public GitHubApp Default => _apps[GitHubApp.DefaultName];

    /// <summary>
    /// The Apps to list and serve, by name: every named or stored App, and <c>default</c> when it is configured
    /// (or is the only App, so that an unconfigured deployment still shows what to set).
    /// </summary>
    public IReadOnlyList<GitHubApp> All => _listed;

    /// <summary>The App named <paramref name="name"/>, if this deployment has it.</summary>
    public bool TryGet(string? name, [NotNullWhen(true)] out GitHubApp? app)
    {
        if (name is null)
        {
            app = null;
            return false;
        }

        return _apps.TryGetValue(name, out app);
    }

    /// <summary>
    /// The App named <paramref name="name"/>, looking in the database when this process does not have it yet (a stored App
    /// another replica added a moment ago, before the periodic refresh), when stored Apps are in use; else null.
    /// </summary>
    public ValueTask<GitHubApp?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (TryGet(name, out var app))
        {
            return ValueTask.FromResult<GitHubApp?>(app);
        }

        return _storedApps?.Invoke() is { } store ? store.FindAsync(name, cancellationToken) : ValueTask.FromResult<GitHubApp?>(null);
    }

    /// <summary>The App named <paramref name="name"/>.</summary>
    /// <exception cref="GitHubAppNotFoundException">No such App.</exception>
    public GitHubApp Get(string name) => TryGet(name, out var app) ? app : throw new GitHubAppNotFoundException(name);

    /// <summary>Raised after an App was registered, replaced or unregistered at run time.</summary>
    public event Action<string>? Changed;

    /// <summary>
    /// Makes a stored App live at once (no restart), or replaces the stored App of that name (a rotated key or secret).
    /// </summary>
    /// <exception cref="ArgumentException">The name is invalid, or a configured App has it, or another App is the same GitHub App on the same host.</exception>
    /// <exception cref="AppPrivateKeyException">The private key is not a usable RSA key.</exception>
    public GitHubApp Register(GitHubAppRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (!GitHubApp.IsValidName(registration.Name))
        {
            throw new ArgumentException($"'{registration.Name}' is not a valid App name: 1 to 64 of a-z, 0-9 and '-'.", nameof(registration));
        }

        var options = _services.OptionsFor(registration);
        var check = GitHubAppOptionsValidator.Check(options);
        if (check.Failed)
        {
            throw new ArgumentException(string.Join(" ", check.Failures), nameof(registration));
        }

        lock (_changes)
        {
            if (_apps.TryGetValue(registration.Name, out var existing) && existing.Source == GitHubAppSource.Configuration &&
                (existing.Name != GitHubApp.DefaultName || existing.IsConfigured))
            {
                throw new ArgumentException($"The App '{registration.Name}' is configured (GitHub:…); a stored App cannot take its name.", nameof(registration));
            }

            var duplicate = GitHubAppsOptionsValidator.DuplicateApps(
                _apps.Values.Where(a => a.IsConfigured && a.Name != registration.Name)
                    .Select(a => (a.Name, a.Options.AppId, a.Options.ClientId, a.ApiBaseUrl))
                    .Append((registration.Name, (long?)registration.AppId, registration.ClientId, options.NormalizedApiBaseUrl)))
                .FirstOrDefault();
            if (duplicate is not null)
            {
                throw new ArgumentException(duplicate, nameof(registration));
            }

            var app = new GitHubApp(registration.Name, options, GitHubAppSource.Database, registration.Slug, _services);
            Swap(apps => apps[registration.Name] = app);
            if (existing is not null && existing != _configuredDefault)
            {
                existing.Dispose();
            }

            Changed?.Invoke(registration.Name);
            return app;
        }
    }

    /// <summary>Stops acting as the stored App <paramref name="name"/> and accepting its deliveries. Configured Apps are not removed.</summary>
    /// <returns>False when no stored App has that name.</returns>
    public bool Unregister(string name)
    {
        lock (_changes)
        {
            if (!_apps.TryGetValue(name, out var existing) || existing.Source != GitHubAppSource.Database || existing == _configuredDefault)
            {
                return false;
            }

            Swap(apps => apps.Remove(name));
            existing.Dispose();
            Changed?.Invoke(name);
            return true;
        }
    }

    /// <summary>Disposes every App in the registry.</summary>
    public void Dispose()
    {
        _reload?.Dispose();
        foreach (var app in _apps.Values.Append(_configuredDefault).Distinct())
        {
            app.Dispose();
        }
    }

    private void Swap(Action<Dictionary<string, GitHubApp>> change)
    {
        var apps = new Dictionary<string, GitHubApp>(_apps, StringComparer.Ordinal);
        change(apps);
        if (!apps.ContainsKey(GitHubApp.DefaultName))
        {
            apps[GitHubApp.DefaultName] = _configuredDefault;
        }

        var frozen = apps.ToFrozenDictionary(StringComparer.Ordinal);
        _apps = frozen;
        _listed = Listed(frozen);
    }

    private static List<GitHubApp> Listed(FrozenDictionary<string, GitHubApp> apps)
    {
        var others = apps.Values.Where(a => a.Name != GitHubApp.DefaultName || a.Source == GitHubAppSource.Database).OrderBy(a => a.Name, StringComparer.Ordinal);
        var defaultApp = apps[GitHubApp.DefaultName];
        var listDefault = defaultApp.Source == GitHubAppSource.Database || defaultApp.IsConfigured ||
                          defaultApp.WebhookSecrets.Count > 0 || apps.Count == 1;
        return listDefault && defaultApp.Source == GitHubAppSource.Configuration ? [defaultApp, .. others] : [.. others];
    }

    /// <summary>Configuration reloaded: configured Apps take their new webhook secrets (rotation without a restart).</summary>
    private void TakeReloadedSecrets(GitHubAppsOptions options)
    {
        foreach (var (name, app) in options.Apps)
        {
            if (_apps.TryGetValue(name, out var live) && live.Source == GitHubAppSource.Configuration)
            {
                live.UpdateWebhookSecrets(app);
            }
        }
    }
}
