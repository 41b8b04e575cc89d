using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hubgate.Apps;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Setup;

/// <summary>
/// GitHub's App manifest flow, held on the server so that any replica can answer GitHub's return and the command that
/// started it can wait for it: an admin starts it (dashboard, <c>hubgate apps create</c>) and gets a one-time
/// <c>state</c> (256 bits; only its SHA-256 is stored) that expires after <see cref="Lifetime"/>; the start page, opened
/// once, binds the flow to that browser with a <c>SameSite=Lax</c> cookie of its own (the dashboard's session cookie is
/// <c>Strict</c> and is not sent on GitHub's cross-site return) and posts the manifest to GitHub; GitHub's return is
/// accepted once, from that browser, and its code converted into the App (<c>POST /app-manifests/{code}/conversions</c>),
/// which is stored encrypted and registered at once.
/// </summary>
internal sealed partial class AppManifestFlow(
    IDbContextFactory<HubgateDbContext> databases,
    IOptionsMonitor<SetupOptions> options,
    GitHubAppStore store,
    IHttpClientFactory http,
    TimeProvider time,
    ILogger<AppManifestFlow> logger)
{
    /// <summary>How long a started flow may take (GitHub's code lives as long).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>The cookie that binds a flow to the browser that opened its start page.</summary>
    public const string BrowserCookie = "hubgate.manifest";

    /// <summary>The named HTTP client of the conversion call (no App credentials: GitHub authenticates it by the code).</summary>
    public const string HttpClientName = "Hubgate.AppManifest";

    /// <summary>The hosts an App is registered on, from what an admin typed (a host name, a URL, an API base).</summary>
    public static string? TryTarget(string? host, string? apiBaseUrl, out ManifestTarget target)
    {
        target = new ManifestTarget(new Uri("https://github.com/"), new Uri("https://api.github.com/"));
        Uri? api = null;
        if (!string.IsNullOrWhiteSpace(apiBaseUrl))
        {
            if (!Uri.TryCreate(apiBaseUrl.Trim(), UriKind.Absolute, out api) || api.Scheme is not ("https" or "http"))
            {
                return $"The API base URL '{apiBaseUrl}' is not an absolute http(s) URL (https://HOST/api/v3/).";
            }

            api = Slash(api);
        }

        if (string.IsNullOrWhiteSpace(host))
        {
            target = api is null ? target : new ManifestTarget(GitHubApp.DeriveWebBaseUrl(api), api);
            return null;
        }

        host = host.Trim();
        Uri web;
        if (host.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(host, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("https" or "http"))
            {
                return $"The host '{host}' is neither a host name (ghe.example.com) nor an absolute http(s) URL.";
            }

            web = new Uri(parsed.GetLeftPart(UriPartial.Authority) + "/");
        }
        else if (Uri.CheckHostName(host.Split(':')[0]) is UriHostNameType.Dns or UriHostNameType.IPv4 && Uri.TryCreate("https://" + host + "/", UriKind.Absolute, out var parsed))
        {
            web = parsed;
        }
        else
        {
            return $"The host '{host}' is not a host name (ghe.example.com).";
        }

        var github = web.IdnHost.Equals("github.com", StringComparison.OrdinalIgnoreCase);
        target = new ManifestTarget(web, api ?? new Uri(github ? "https://api.github.com/" : web.AbsoluteUri + "api/v3/"));
        return null;
    }

    /// <summary>Starts a flow for a new App named <paramref name="name"/>; the start page's address is in the result.</summary>
    public async Task<ManifestStart> StartAsync(string name, string? organization, ManifestTarget target, string actor, CancellationToken cancellationToken)
    {
        if (options.CurrentValue.NormalizedPublicUrl is not { } publicUrl)
        {
            return ManifestStart.Fail("Hubgate:PublicUrl is not set: GitHub needs it for the App's webhook, callback and setup URLs (e.g. https://hubgate.example.com/).");
        }

        if (!GitHubApp.IsValidName(name))
        {
            return ManifestStart.Fail($"'{name}' is not an App name: 1 to 64 of a-z, 0-9 and '-'.");
        }

        organization = string.IsNullOrWhiteSpace(organization) ? null : organization.Trim();
        if (organization is not null && !organization.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return ManifestStart.Fail($"'{organization}' is not an organization login.");
        }

        if (await store.FindAsync(name, cancellationToken).ConfigureAwait(false) is { } existing
            && (existing.Source == GitHubAppSource.Database || existing.IsConfigured))
        {
            return ManifestStart.Fail($"An App named '{name}' exists already; choose another name or remove it first.");
        }

        var state = Secret();
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.AppManifestStates.Where(s => s.ExpiresAt < now - Lifetime).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        db.AppManifestStates.Add(new AppManifestStateEntity
        {
            StateSha256 = Hash(state),
            Name = name,
            Organization = organization,
            WebBaseUrl = target.WebBaseUrl.AbsoluteUri,
            ApiBaseUrl = target.ApiBaseUrl.AbsoluteUri,
            CreatedBy = actor,
            CreatedAt = now,
            ExpiresAt = now + Lifetime,
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        Log.Started(logger, name, target.WebBaseUrl.Host, organization ?? "(the user's account)", actor);
        return new ManifestStart(state, new Uri(publicUrl, "setup/apps/start?state=" + Uri.EscapeDataString(state)), now + Lifetime, null);
    }

    /// <summary>
    /// The start page of a flow: the form that posts the manifest to GitHub. The first browser to open it is the only one
    /// GitHub's return is accepted from (<paramref name="browserNonce"/>: the cookie it already has, if any).
    /// </summary>
    public async Task<ManifestForm> OpenAsync(string? state, string? browserNonce, CancellationToken cancellationToken)
    {
        if (options.CurrentValue.NormalizedPublicUrl is not { } publicUrl)
        {
            return ManifestForm.Fail("Hubgate:PublicUrl is not set.");
        }

        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await FindAsync(db, state, cancellationToken).ConfigureAwait(false);
        if (Refusal(row, now) is { } refused)
        {
            return ManifestForm.Fail(refused);
        }

        string? newNonce = null;
        if (row!.BrowserSha256 is null)
        {
            newNonce = Secret();
            var hash = Hash(newNonce);
            var claimed = await db.AppManifestStates.Where(s => s.StateSha256 == row.StateSha256 && s.BrowserSha256 == null)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.BrowserSha256, hash), cancellationToken).ConfigureAwait(false);
            if (claimed == 0)
            {
                return ManifestForm.Fail("This link was opened in another browser already; start again (hubgate apps create, or New App on the dashboard).");
            }
        }
        else if (!SameHash(browserNonce, row.BrowserSha256))
        {
            return ManifestForm.Fail("This link was opened in another browser already; start again (hubgate apps create, or New App on the dashboard).");
        }

        return new ManifestForm(row.Name, AppManifest.FormUrl(new Uri(row.WebBaseUrl), row.Organization, state!), AppManifest.Build(row.Name, publicUrl),
            state!, newNonce, row.ExpiresAt, null);
    }

    /// <summary>GitHub's return (<c>/setup/apps/callback?code&amp;state</c>): checks the state, converts the code, stores and registers the App.</summary>
    public async Task<ManifestOutcome> CompleteAsync(string? code, string? state, string? browserNonce, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await FindAsync(db, state, cancellationToken).ConfigureAwait(false);
        if (Refusal(row, now) is { } refused)
        {
            Log.Refused(logger, refused);
            return ManifestOutcome.Fail(HttpStatusCode.BadRequest, refused);
        }

        if (row!.BrowserSha256 is null || !SameHash(browserNonce, row.BrowserSha256))
        {
            const string message = "This browser did not start this App's registration (it is accepted only in the browser that opened the start page).";
            Log.Refused(logger, message);
            return ManifestOutcome.Fail(HttpStatusCode.BadRequest, message);
        }

        // One use, even when two returns race (two replicas, a double click).
        var used = await db.AppManifestStates.Where(s => s.StateSha256 == row.StateSha256 && s.UsedAt == null && s.ExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.UsedAt, now), cancellationToken).ConfigureAwait(false);
        if (used == 0)
        {
            return ManifestOutcome.Fail(HttpStatusCode.BadRequest, "This App registration link was used already; start again.");
        }

        var outcome = string.IsNullOrEmpty(code) || !code.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? ManifestOutcome.Fail(HttpStatusCode.BadRequest, "GitHub's return carries no valid code.")
            : await ConvertAsync(row, code, cancellationToken).ConfigureAwait(false);
        await db.AppManifestStates.Where(s => s.StateSha256 == row.StateSha256)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.CompletedAt, time.GetUtcNow()).SetProperty(x => x.Error, outcome.Error), cancellationToken)
            .ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Where a flow stands, for the command waiting on it; null when the state is unknown.</summary>
    public async Task<ManifestStatus?> StatusAsync(string state, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await FindAsync(db, state, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var app = row.CompletedAt is not null && row.Error is null ? await store.ShowAsync(row.Name, cancellationToken).ConfigureAwait(false) : null;
        return new ManifestStatus(row.Name, row.CompletedAt is not null, row.ExpiresAt <= time.GetUtcNow(), row.Error, app,
            app is null ? null : InstallUrl(app.WebBaseUrl, app.ApiBaseUrl, app.Slug));
    }

    /// <summary>
    /// Where an App is installed: <c>{web}/apps/{slug}/installations/new</c>, or <c>{web}/github-apps/{slug}/…</c> on
    /// GitHub Enterprise Server (an API below <c>/api/v3</c>).
    /// </summary>
    public static Uri? InstallUrl(Uri webBaseUrl, Uri apiBaseUrl, string? slug)
    {
        var enterprise = apiBaseUrl.AbsolutePath.TrimEnd('/').EndsWith("/api/v3", StringComparison.Ordinal);
        return slug is null ? null : new Uri(webBaseUrl, $"{(enterprise ? "github-apps" : "apps")}/{Uri.EscapeDataString(slug)}/installations/new");
    }

    private async Task<ManifestOutcome> ConvertAsync(AppManifestStateEntity row, string code, CancellationToken cancellationToken)
    {
        var api = new Uri(row.ApiBaseUrl);
        var client = http.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, $"app-manifests/{code}/conversions"));
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.UserAgent.ParseAdd("Hubgate");
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        Conversion? conversion;
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                var message = string.Create(CultureInfo.InvariantCulture,
                    $"GitHub answered {(int)response.StatusCode} to POST /app-manifests/{{code}}/conversions on {api.Host}: the code is unknown, used or expired (it lives one hour); start again.");
                Log.ConversionFailed(logger, row.Name, (int)response.StatusCode);
                return ManifestOutcome.Fail(HttpStatusCode.BadGateway, message);
            }

            conversion = await response.Content.ReadFromJsonAsync<Conversion>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.ConversionFailed(logger, row.Name, 0);
            return ManifestOutcome.Fail(HttpStatusCode.BadGateway, $"Could not reach {api.Host} to convert the code: {e.Message}");
        }

        if (conversion is not { Id: > 0, Pem.Length: > 0 })
        {
            return ManifestOutcome.Fail(HttpStatusCode.BadGateway, "GitHub's conversion answer has no App id or private key.");
        }

        var registration = new GitHubAppRegistration(row.Name, conversion.Id, conversion.ClientId, conversion.ClientSecret, conversion.Pem, api,
            new Uri(row.WebBaseUrl), conversion.WebhookSecret, [], conversion.Slug);
        var change = await store.AddAsync(registration, conversion.Owner?.Login ?? row.Organization, row.CreatedBy, cancellationToken).ConfigureAwait(false);
        if (change.Error is not null)
        {
            return ManifestOutcome.Fail(HttpStatusCode.Conflict,
                $"GitHub created App {conversion.Slug} (id {conversion.Id}) but Hubgate could not store it: {change.Message} Delete it on GitHub or add it with hubgate apps add.");
        }

        return new ManifestOutcome(HttpStatusCode.OK, change.App, InstallUrl(new Uri(row.WebBaseUrl), api, conversion.Slug), null);
    }

    /// <summary>The flow of <paramref name="state"/>, looked up by its digest; null when there is none.</summary>
    private static async Task<AppManifestStateEntity?> FindAsync(HubgateDbContext db, string? state, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(state))
        {
            return null;
        }

        var digest = Hash(state);
        return await db.AppManifestStates.AsNoTracking().FirstOrDefaultAsync(s => s.StateSha256 == digest, cancellationToken).ConfigureAwait(false);
    }

    private static string? Refusal(AppManifestStateEntity? row, DateTimeOffset now) => row switch
    {
        null => "This App registration link is not one Hubgate issued (unknown state); start again (hubgate apps create, or New App on the dashboard).",
        { UsedAt: not null } => "This App registration link was used already; start again.",
        _ when row.ExpiresAt <= now => "This App registration link expired (it lives one hour); start again.",
        _ => null,
    };

    private static string Secret()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Base64Url.EncodeToString(random);
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static bool SameHash(string? value, string expectedHash) =>
        value is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(value)), Encoding.ASCII.GetBytes(expectedHash));

    private static Uri Slash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    /// <summary>GitHub's answer to the conversion (the fields Hubgate keeps).</summary>
    private sealed record Conversion(
        long Id,
        string? Slug,
        [property: System.Text.Json.Serialization.JsonPropertyName("client_id")] string? ClientId,
        [property: System.Text.Json.Serialization.JsonPropertyName("client_secret")] string? ClientSecret,
        [property: System.Text.Json.Serialization.JsonPropertyName("webhook_secret")] string? WebhookSecret,
        string Pem,
        Owner? Owner);

    private sealed record Owner(string? Login);

    private static partial class Log
    {
        [LoggerMessage(EventId = 480, Level = LogLevel.Information, Message = "App manifest flow for {App} on {Host} ({Owner}) started by {Actor}")]
        public static partial void Started(ILogger logger, string app, string host, string owner, string actor);

        [LoggerMessage(EventId = 481, Level = LogLevel.Warning, Message = "App manifest return refused: {Reason}")]
        public static partial void Refused(ILogger logger, string reason);

        [LoggerMessage(EventId = 482, Level = LogLevel.Warning, Message = "App manifest code for {App} not converted: GitHub answered {Status}")]
        public static partial void ConversionFailed(ILogger logger, string app, int status);
    }
}

/// <summary>Where a new App is registered: the host's web root (forms) and its REST API base (the conversion, the App's calls).</summary>
internal sealed record ManifestTarget(Uri WebBaseUrl, Uri ApiBaseUrl);

/// <summary>A started flow: the state (shown once, to the admin who started it) and the start page to open.</summary>
internal sealed record ManifestStart(string? State, Uri? StartUrl, DateTimeOffset? ExpiresAt, string? Error)
{
    public static ManifestStart Fail(string error) => new(null, null, null, error);
}

/// <summary>The start page's content: the form posting <see cref="Manifest"/> to <see cref="Action"/>.</summary>
internal sealed record ManifestForm(string? Name, Uri? Action, string? Manifest, string? State, string? NewBrowserNonce, DateTimeOffset? ExpiresAt, string? Error)
{
    public static ManifestForm Fail(string error) => new(null, null, null, null, null, null, error);
}

/// <summary>GitHub's return handled: the App stored, or why not.</summary>
internal sealed record ManifestOutcome(HttpStatusCode Status, AppSummary? App, Uri? InstallUrl, string? Error)
{
    public static ManifestOutcome Fail(HttpStatusCode status, string error) => new(status, null, null, error);
}

/// <summary>A flow as the waiting command sees it.</summary>
internal sealed record ManifestStatus(string Name, bool Completed, bool Expired, string? Error, AppSummary? App, Uri? InstallUrl);
