using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubgate.Testing;

/// <summary>
/// A fake GitHub REST API for a GitHub App, served by Kestrel on 127.0.0.1. It verifies App JWTs with the App's
/// public key by GitHub's rules and messages, mints and checks installation tokens, paginates like GitHub, keeps a
/// hook delivery log, and injects faults (5xx, hangs, replication lag, rate limits, a skewed clock).
/// </summary>
public sealed partial class FakeGitHubServer : IAsyncDisposable
{
    private static readonly Lazy<RSA> SharedKey = new(() =>
    {
        var key = RSA.Create(2048);
        IssuedSecrets.RegisterPem(key.ExportRSAPrivateKeyPem(), "the App's private key (PKCS#1)");
        IssuedSecrets.RegisterPem(key.ExportPkcs8PrivateKeyPem(), "the App's private key (PKCS#8)");
        return key;
    });
    private readonly Lock _lock = new();
    private readonly WebApplication _app;
    private readonly FakeGitHubOptions _options;
    private readonly Dictionary<long, FakeInstallation> _installations = [];
    private readonly Dictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _mintsByInstallation = [];
    private readonly Queue<FakeFault> _faults = new();
    private readonly Dictionary<long, RateLimit> _rateLimits = [];
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<FakeHookDelivery> _hookDeliveries = [];
    private readonly List<long> _redeliveries = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _mintCount;
    private int _issueNumber;

    private FakeGitHubServer(WebApplication app, FakeGitHubOptions options)
    {
        _app = app;
        _options = options;
        _primary = CreatePrimaryApp(options);
    }

    /// <summary>
    /// Starts a fake GitHub on a free port of 127.0.0.1, with one App (the primary App, <see cref="PrimaryApp"/>) as
    /// <paramref name="options"/> describe it. Dispose it to stop it.
    /// </summary>
    public static async Task<FakeGitHubServer> StartAsync(FakeGitHubOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FakeGitHubOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeGitHubServer(app, options);
        server.MapRoutes();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.ApiBaseUrl = new Uri(address.TrimEnd('/') + options.PathPrefix.TrimEnd('/') + "/");
        server.WebBaseUrl = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary>
    /// The REST API root, always ending with '/' (e.g. <c>http://127.0.0.1:41234/</c>, or <c>…/api/v3/</c> with a
    /// <see cref="FakeGitHubOptions.PathPrefix"/>): what a client's <c>GitHub:ApiBaseUrl</c> points at.
    /// </summary>
    public Uri ApiBaseUrl { get; private set; } = null!;

    internal long AppId => _options.AppId;
    internal string ClientId => _options.ClientId;
    internal string AppSlug => _primary.Slug;
    internal string AppName => _primary.Name;

    /// <summary>The primary App's slug (the same as <see cref="AppSlug"/>).</summary>
    internal string Slug => _primary.Slug;

    /// <summary>The primary App's webhook secret (<see cref="FakeGitHubOptions.WebhookSecret"/>).</summary>
    internal string WebhookSecret => _primary.WebhookSecret;

    /// <summary>The primary App's private key as GitHub hands it out (PKCS#1): the shared key, or the fake's own with <see cref="FakeGitHubOptions.OwnKey"/>.</summary>
    internal string PrivateKeyPkcs1Pem => _primary.Key.ExportRSAPrivateKeyPem();

    /// <summary>The same key in PKCS#8.</summary>
    internal string PrivateKeyPkcs8Pem => _primary.Key.ExportPkcs8PrivateKeyPem();

    internal FakeClock Clock { get; } = new();

    /// <summary>Lifetime of minted tokens (default one hour).</summary>
    internal TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Length of minted tokens, <c>ghs_</c> included (default 40; GitHub's newer format is ~520).</summary>
    internal int TokenLength { get; set; } = 40;

    internal ExpiresAtMode ExpiresAtMode { get; set; } = ExpiresAtMode.Normal;

    /// <summary>Replication lag: a fresh token answers 401 until this long after its mint.</summary>
    internal TimeSpan TokenActivationDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Latency of each successful mint.</summary>
    internal TimeSpan MintDelay { get; set; } = TimeSpan.Zero;

    internal int MintCount => Volatile.Read(ref _mintCount);

    internal int MintCountFor(long installationId)
    {
        lock (_lock)
        {
            return _mintsByInstallation.GetValueOrDefault(installationId);
        }
    }

    /// <summary>Every request the API received so far (since <see cref="ResetRequests"/>), oldest first.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    internal IReadOnlyList<long> RedeliveryRequests
    {
        get
        {
            lock (_lock)
            {
                return [.. _redeliveries];
            }
        }
    }

    /// <summary>Forgets the requests recorded so far.</summary>
    public void ResetRequests()
    {
        lock (_lock)
        {
            _requests.Clear();
        }
    }

    /// <summary>
    /// Installs an App (<paramref name="appId"/>, the primary App when null) on an account. Installation ids are unique
    /// on a GitHub host: reusing one of another App's installations throws.
    /// </summary>
    public FakeInstallation AddInstallation(long id, string accountLogin, string accountType = "Organization", string repositorySelection = "selected",
        IReadOnlyDictionary<string, string>? permissions = null, long? appId = null)
    {
        var owner = App(appId ?? AppId);
        var installation = new FakeInstallation
        {
            Id = id,
            AppId = owner.Id,
            AccountLogin = accountLogin,
            AccountId = 1000 + id,
            AccountType = accountType,
            RepositorySelection = repositorySelection,
        };
        if (permissions is not null)
        {
            installation.Permissions.Clear();
            foreach (var (k, v) in permissions)
            {
                installation.Permissions[k] = v;
            }
        }

        lock (_lock)
        {
            if (_installations.TryGetValue(id, out var existing) && existing.AppId != owner.Id && !existing.Removed)
            {
                throw new InvalidOperationException($"Installation {id} belongs to App {existing.AppId} on this host; installation ids are unique per host.");
            }

            _installations[id] = installation;
        }

        return installation;
    }

    /// <summary>
    /// Gives installation <paramref name="installationId"/> access to a repository: it is listed by
    /// <c>GET /installation/repositories</c>, readable with the installation's tokens, and tokens can be scoped to it.
    /// </summary>
    /// <returns>The repository, to pass to <see cref="Push"/> and <see cref="PullRequestPayload"/>.</returns>
    public FakeRepository AddRepository(long installationId, long repositoryId, string owner, string name, bool isPrivate = false, string defaultBranch = "main")
    {
        var repository = new FakeRepository(repositoryId, owner, name, isPrivate, defaultBranch);
        lock (_lock)
        {
            _installations[installationId].Repositories.Add(repository);
        }

        return repository;
    }

    internal void RemoveRepository(long installationId, long repositoryId)
    {
        lock (_lock)
        {
            _installations[installationId].Repositories.RemoveAll(r => r.Id == repositoryId);
        }
    }

    /// <summary>GitHub forgets the installation (uninstalled): 404 from now on.</summary>
    internal void RemoveInstallation(long id)
    {
        lock (_lock)
        {
            _installations[id].Removed = true;
        }
    }

    internal void SuspendInstallation(long id)
    {
        lock (_lock)
        {
            _installations[id].Suspended = true;
        }
    }

    internal void UnsuspendInstallation(long id)
    {
        lock (_lock)
        {
            _installations[id].Suspended = false;
        }
    }

    /// <summary>Every installation token minted so far (for tests that look for them where they must not be).</summary>
    internal IReadOnlyList<string> IssuedTokens
    {
        get
        {
            lock (_lock)
            {
                return [.. _tokens.Keys];
            }
        }
    }

    internal void RevokeToken(string token)
    {
        lock (_lock)
        {
            _tokens.Remove(token);
        }
    }

    internal void RevokeAllTokens(long installationId)
    {
        lock (_lock)
        {
            foreach (var token in _tokens.Where(t => t.Value.InstallationId == installationId).Select(t => t.Key).ToList())
            {
                _tokens.Remove(token);
            }
        }
    }

    /// <summary>The next <paramref name="times"/> access-token requests get <paramref name="fault"/>.</summary>
    internal void EnqueueAccessTokenFault(FakeFault fault, int times = 1)
    {
        lock (_lock)
        {
            for (var i = 0; i < times; i++)
            {
                _faults.Enqueue(fault);
            }
        }
    }

    /// <summary>Sets the primary rate limit of an installation's tokens (0 for the App's JWT).</summary>
    internal void SetRateLimit(long installationId, int limit, int remaining, DateTimeOffset reset)
    {
        lock (_lock)
        {
            _rateLimits[installationId] = new RateLimit(limit, remaining, reset);
        }
    }

    /// <summary>An attempt in the delivery log of <paramref name="appId"/> (the primary App when null).</summary>
    internal FakeHookDelivery AddHookDelivery(string guid, string @event, string? action, string status, int statusCode, DateTimeOffset deliveredAt,
        long? installationId = null, long? repositoryId = null, long? appId = null)
    {
        var owner = App(appId ?? AppId);
        lock (_lock)
        {
            var delivery = new FakeHookDelivery(_hookDeliveries.Count + 1_000_001, guid, @event, action, status, statusCode, deliveredAt, installationId, repositoryId)
            {
                AppId = owner.Id,
            };
            _hookDeliveries.Add(delivery);
            return delivery;
        }
    }

    /// <summary>Stops the server; requests in flight are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await DisposeCodeloadAsync().ConfigureAwait(false);
        DisposeAppKeys();
        _deliveryClient.Dispose();
        _stopping.Dispose();
    }

    private sealed record IssuedToken(long InstallationId, DateTimeOffset ExpiresAt, DateTimeOffset ActiveFrom);

    private sealed class RateLimit(int limit, int remaining, DateTimeOffset reset)
    {
        public int Limit { get; } = limit;
        public int Remaining { get; set; } = remaining;
        public DateTimeOffset Reset { get; set; } = reset;
    }

    internal static string Json(object value) => JsonSerializer.Serialize(value);

    internal static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    internal static int StatusOf(FakeFault fault) => fault switch
    {
        FakeFault.InternalServerError => (int)HttpStatusCode.InternalServerError,
        FakeFault.BadGateway => (int)HttpStatusCode.BadGateway,
        FakeFault.ServiceUnavailable => (int)HttpStatusCode.ServiceUnavailable,
        FakeFault.NotFound => (int)HttpStatusCode.NotFound,
        FakeFault.Suspended => (int)HttpStatusCode.Forbidden,
        _ => 0,
    };
}
