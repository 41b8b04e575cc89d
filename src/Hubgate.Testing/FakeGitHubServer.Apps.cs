using System.Globalization;
using System.Security.Cryptography;

namespace Hubgate.Testing;

/// <summary>
/// A GitHub host holds many Apps. The primary App (the options' id, client id and key) is always there; more are added
/// with <see cref="AddApp"/> or created by the manifest flow. A JWT's <c>iss</c> (App id, or client id where the host
/// takes it) picks the App whose key must have signed it; an installation belongs to one App, and another App's JWT
/// gets 404 for it — listing, reading, minting — as GitHub answers for what a caller may not see. The delivery log and
/// hook configuration are per App too.
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>The primary App's webhook secret unless <see cref="FakeGitHubOptions.WebhookSecret"/> says otherwise.</summary>
    internal const string DefaultWebhookSecret = "fake-github-webhook-secret-0001";

    private readonly List<FakeApp> _apps = [];
    private readonly Dictionary<long, (HttpClient Client, string Path, string Secret)> _appWebhooks = [];
    private readonly FakeApp _primary;

    /// <summary>
    /// The host's web root, ending with '/': where browsers go (<c>/settings/apps/new</c>, <c>/apps/{slug}</c>). For a
    /// github.com-style fake it is the same origin as the API and stands in for https://github.com; for GHES it is the
    /// host root, the API being below <c>/api/v3</c>.
    /// </summary>
    internal Uri WebBaseUrl { get; private set; } = null!;

    /// <summary>Every App on this host, the primary App first, then in order of registration.</summary>
    public IReadOnlyList<FakeApp> Apps
    {
        get
        {
            lock (_lock)
            {
                return [.. _apps];
            }
        }
    }

    /// <summary>The primary App.</summary>
    public FakeApp PrimaryApp => _primary;

    /// <summary>The App with id <paramref name="appId"/>; throws when this host has none.</summary>
    public FakeApp App(long appId)
    {
        lock (_lock)
        {
            return _apps.Find(a => a.Id == appId) ?? throw new KeyNotFoundException($"The fake GitHub has no App {appId}.");
        }
    }

    /// <summary>
    /// Registers a further App with a freshly generated key, client id and secrets (TestSecrets knows them), as if
    /// someone had created it in the settings. The id defaults to the next free one.
    /// </summary>
    public FakeApp AddApp(string slug, long? id = null, string ownerLogin = "hubgate", string ownerType = "Organization",
        IReadOnlyDictionary<string, string>? permissions = null, IReadOnlyList<string>? events = null, string? hookUrl = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(slug);
        return Register(NewApp(id, slug, slug, ownerLogin, ownerType, Clock.UtcNow) with
        {
            Permissions = permissions ?? new Dictionary<string, string> { ["contents"] = "read", ["metadata"] = "read" },
            Events = events ?? ["push"],
            HookUrl = hookUrl,
            HookActive = hookUrl is not null,
        });
    }

    /// <summary>
    /// Installs App <paramref name="appId"/> on <paramref name="account"/> as installation <paramref name="installationId"/>,
    /// granting the App's permissions and events as an installation accepted from its install page would.
    /// </summary>
    public FakeInstallation InstallApp(long appId, long installationId, string account, string accountType = "Organization", string repositorySelection = "selected")
    {
        var app = App(appId);
        var installation = AddInstallation(installationId, account, accountType, repositorySelection,
            WithMetadata(app.Permissions), appId);
        lock (_lock)
        {
            installation.Events.Clear();
            installation.Events.AddRange(app.Events);
        }

        return installation;
    }

    /// <summary>Where redeliveries of App <paramref name="appId"/>'s log go, signed with that App's webhook secret.</summary>
    internal void SendWebhooksTo(long appId, HttpClient client, string path)
    {
        var app = App(appId);
        if (app.Id == AppId)
        {
            SendWebhooksTo(client, path, app.WebhookSecret);
            return;
        }

        lock (_lock)
        {
            _appWebhooks[app.Id] = (client, path, app.WebhookSecret);
        }
    }

    private FakeApp CreatePrimaryApp(FakeGitHubOptions options)
    {
        IssuedSecrets.Register(options.WebhookSecret, "the fake App's webhook secret");
        var app = new FakeApp
        {
            Id = options.AppId,
            Slug = options.Slug,
            Name = options.AppName,
            ClientId = options.ClientId,
            WebhookSecret = options.WebhookSecret,
            OwnerLogin = "hubgate",
            OwnerId = 1,
            Description = "A fake App for tests",
            ExternalUrl = "https://hubgate.example",
            HookUrl = "https://hubgate.example/webhooks/github",
            Permissions = new Dictionary<string, string> { ["contents"] = "read", ["metadata"] = "read", ["pull_requests"] = "write" },
            Events = ["push", "pull_request"],
            CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Key = options.OwnKey ? NewKey() : SharedKey.Value,
            OwnsKey = options.OwnKey,
        };
        return Register(app);
    }

    private FakeApp NewApp(long? id, string slug, string name, string ownerLogin, string ownerType, DateTimeOffset now)
    {
        var clientSecret = RandomNumberGenerator.GetHexString(40, lowercase: true);
        var webhookSecret = RandomNumberGenerator.GetHexString(40, lowercase: true);
        IssuedSecrets.Register(clientSecret, "a fake App's client secret");
        IssuedSecrets.Register(webhookSecret, "a fake App's webhook secret");
        return new FakeApp
        {
            Id = id ?? 0,
            Slug = slug,
            Name = name,
            ClientId = "Iv23li" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 14),
            ClientSecret = clientSecret,
            WebhookSecret = webhookSecret,
            OwnerLogin = ownerLogin,
            OwnerId = 2000 + Math.Abs(ownerLogin.ToUpperInvariant().GetHashCode(StringComparison.Ordinal) % 100_000),
            OwnerType = ownerType,
            CreatedAt = now,
            Key = NewKey(),
            OwnsKey = true,
        };
    }

    /// <summary>Adds the App (id 0: the next free id); ids, slugs and client ids are unique on a host.</summary>
    private FakeApp Register(FakeApp app)
    {
        lock (_lock)
        {
            if (app.Id == 0)
            {
                app = app with { Id = _apps.Count == 0 ? 1 : _apps.Max(a => a.Id) + 1 };
            }

            if (_apps.Any(a => a.Id == app.Id || a.Slug.Equals(app.Slug, StringComparison.OrdinalIgnoreCase) || a.ClientId == app.ClientId))
            {
                throw new InvalidOperationException($"The fake GitHub already has an App with id {app.Id}, slug {app.Slug} or its client id.");
            }

            _apps.Add(app);
        }

        return app;
    }

    private static RSA NewKey()
    {
        var key = RSA.Create(2048);
        IssuedSecrets.RegisterPem(key.ExportRSAPrivateKeyPem(), "a fake App's private key (PKCS#1)");
        IssuedSecrets.RegisterPem(key.ExportPkcs8PrivateKeyPem(), "a fake App's private key (PKCS#8)");
        return key;
    }

    /// <summary>The App a JWT names as its issuer (id, or client id); the primary App when none matches, so the check fails with GitHub's message.</summary>
    private FakeApp AppForIssuer(string? issuer)
    {
        lock (_lock)
        {
            return _apps.Find(a => issuer is not null && (a.Id.ToString(CultureInfo.InvariantCulture) == issuer || a.ClientId == issuer)) ?? _primary;
        }
    }

    private List<FakeInstallation> InstallationsOf(FakeApp app) => [.. AllInstallations().Where(i => i.AppId == app.Id)];

    /// <summary>The installation if <paramref name="app"/> owns it; another App's is as unknown as a missing one.</summary>
    private FakeInstallation? FindInstallation(string id, FakeApp app) => FindInstallation(id) is { } found && found.AppId == app.Id ? found : null;

    private string AppHtmlUrl(FakeApp app) => $"{WebBaseUrl.AbsoluteUri}{(IsEnterprisePrefix ? "github-apps" : "apps")}/{app.Slug}";

    /// <summary>The App as <c>GET /app</c> shows it (and the manifest conversion, which adds the credentials).</summary>
    private Dictionary<string, object?> AppJson(FakeApp app, bool withInstallationsCount = true)
    {
        var json = new Dictionary<string, object?>
        {
            ["id"] = app.Id,
            ["slug"] = app.Slug,
            ["node_id"] = app.NodeId,
            ["client_id"] = app.ClientId,
            ["owner"] = new { login = app.OwnerLogin, id = app.OwnerId, type = app.OwnerType },
            ["name"] = app.Name,
            ["description"] = app.Description,
            ["external_url"] = app.ExternalUrl,
            ["html_url"] = AppHtmlUrl(app),
            ["created_at"] = Iso(app.CreatedAt),
            ["updated_at"] = Iso(app.CreatedAt),
            ["permissions"] = WithMetadata(app.Permissions),
            ["events"] = app.Events,
        };
        if (withInstallationsCount)
        {
            json["installations_count"] = InstallationsOf(app).Count;
        }

        return json;
    }

    private static object HookConfigJson(FakeApp app) => new
    {
        content_type = "json",
        insecure_ssl = "0",
        url = app.HookUrl ?? string.Empty,
        secret = "********",
    };

    /// <summary>GitHub grants every App read access to metadata, asked for or not.</summary>
    private static Dictionary<string, string> WithMetadata(IReadOnlyDictionary<string, string> permissions) =>
        new(permissions) { ["metadata"] = permissions.GetValueOrDefault("metadata", "read") };

    private object InstallationJson(FakeInstallation i)
    {
        var app = App(i.AppId);
        return new
        {
            id = i.Id,
            account = new { login = i.AccountLogin, id = i.AccountId, type = i.AccountType, node_id = "MDQ6VXNlcj" + i.AccountId },
            repository_selection = i.RepositorySelection,
            access_tokens_url = $"{ApiBaseUrl}app/installations/{i.Id}/access_tokens",
            repositories_url = $"{ApiBaseUrl}installation/repositories",
            html_url = InstallationHtmlUrl(i),
            app_id = app.Id,
            client_id = app.ClientId,
            app_slug = app.Slug,
            target_id = i.AccountId,
            target_type = i.AccountType,
            permissions = i.Permissions,
            events = i.Events,
            created_at = "2026-01-01T00:00:00Z",
            updated_at = "2026-01-01T00:00:00Z",
            single_file_name = (string?)null,
            has_multiple_single_files = false,
            single_file_paths = Array.Empty<string>(),
            suspended_at = i.Suspended ? "2026-01-02T00:00:00Z" : null,
            suspended_by = i.Suspended ? new { login = i.AccountLogin, id = i.AccountId, type = "User" } : null,
        };
    }

    /// <summary>The installation's settings page on the host's web root.</summary>
    private string InstallationHtmlUrl(FakeInstallation i) =>
        $"{WebBaseUrl.AbsoluteUri}{(i.AccountType == "Organization" ? $"organizations/{i.AccountLogin}/settings" : "settings")}/installations/{i.Id}";

    private void DisposeAppKeys()
    {
        lock (_lock)
        {
            foreach (var app in _apps.Where(a => a.OwnsKey))
            {
                app.Key.Dispose();
            }
        }
    }
}
