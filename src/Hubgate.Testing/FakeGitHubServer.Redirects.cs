using System.Globalization;
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
/// What GitHub does beside plain REST answers: 301 (GET, HEAD) or 307 (other methods) for a renamed or transferred
/// repository (<c>/repos/old/name/…</c> → <c>/repositories/{id}/…</c>, GitHub's body), archives as a 302 to another
/// host (a second listener playing codeload, which refuses any request that carries <c>Authorization</c>, as object
/// storage does), GraphQL at <c>/graphql</c> (github.com) or <c>/api/graphql</c> (a <c>/api/v3</c> prefix, GHES), and
/// uploads at <c>/api/uploads/</c> on GHES.
/// </summary>
public sealed partial class FakeGitHubServer
{
    private const string RedirectDocs = "https://docs.github.com/v3/#http-redirects";
    private readonly Dictionary<string, long> _movedRepositories = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (int Status, string Location)> _redirects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (FakeRepository Repository, DateTimeOffset ExpiresAt)> _archiveTokens = new(StringComparer.Ordinal);
    private readonly List<CodeloadRequest> _codeloadRequests = [];
    private readonly SemaphoreSlim _codeloadStart = new(1, 1);
    private WebApplication? _codeload;
    private Uri? _codeloadBase;

    /// <summary>Every request the codeload host received.</summary>
    internal IReadOnlyList<CodeloadRequest> CodeloadRequests
    {
        get
        {
            lock (_lock)
            {
                return [.. _codeloadRequests];
            }
        }
    }

    /// <summary>The root of the codeload host once an archive was asked for.</summary>
    internal Uri? CodeloadBaseUrl => _codeloadBase;

    /// <summary>Where GraphQL is served: <c>/graphql</c>, or <c>/api/graphql</c> when the prefix is GHES's <c>/api/v3</c>.</summary>
    internal string GraphQLPath => IsEnterprisePrefix ? _options.PathPrefix.TrimEnd('/')[..^"v3".Length] + "graphql" : _options.PathPrefix.TrimEnd('/') + "/graphql";

    private bool IsEnterprisePrefix => _options.PathPrefix.TrimEnd('/').EndsWith("/api/v3", StringComparison.Ordinal);

    private string? UploadsPrefix => IsEnterprisePrefix ? _options.PathPrefix.TrimEnd('/')[..^"v3".Length] + "uploads/" : null;

    /// <summary>Renames or transfers a repository: its old full name answers with a redirect to <c>/repositories/{id}</c> from now on.</summary>
    internal FakeRepository MoveRepository(long installationId, long repositoryId, string newOwner, string newName)
    {
        lock (_lock)
        {
            var repositories = _installations[installationId].Repositories;
            var index = repositories.FindIndex(r => r.Id == repositoryId);
            var old = repositories[index];
            var moved = old with { Owner = newOwner, Name = newName };
            repositories[index] = moved;
            _movedRepositories[old.FullName] = repositoryId;
            return moved;
        }
    }

    /// <summary>
    /// From now on <paramref name="path"/> (below the API base, e.g. <c>repos/acme/loop</c>) answers
    /// <paramref name="status"/> with <paramref name="location"/> (relative to the API base, or absolute) to a caller
    /// with a valid installation token, as GitHub does for any route it moved.
    /// </summary>
    internal void AddRedirect(string path, int status, string location)
    {
        lock (_lock)
        {
            _redirects[path.Trim('/')] = (status, new Uri(ApiBaseUrl, location).AbsoluteUri);
        }
    }

    /// <summary>GraphQL and GHES uploads, which live beside the REST prefix; null for every other path.</summary>
    private async Task<Answer?> RouteBesideApiAsync(HttpContext context, string path, DateTimeOffset now, Caller caller)
    {
        var graphQL = path.TrimEnd('/') == GraphQLPath;
        var upload = UploadsPrefix is { } uploads && path.StartsWith(uploads, StringComparison.Ordinal);
        if (!graphQL && !upload)
        {
            return null;
        }

        if (string.IsNullOrEmpty(context.Request.Headers.UserAgent))
        {
            return Error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.");
        }

        Authenticate(context, now, caller);
        return graphQL
            ? await GraphQLAsync(context, now, caller).ConfigureAwait(false)
            : await UploadAsync(context, path[UploadsPrefix!.Length..].Trim('/').Split('/'), caller).ConfigureAwait(false);
    }

    /// <summary>
    /// Renamed repositories, <c>/repositories/{id}/…</c> (rewritten to the repository's current name for the routes
    /// below), archives, and uploads on a host without a separate uploads endpoint. Null to let the routes go on.
    /// </summary>
    private async Task<(Answer? Answer, string[] Segments)> RouteMovedAsync(HttpContext context, string[] s, Caller caller)
    {
        var method = context.Request.Method;
        (int Status, string Location) redirect;
        bool redirected;
        lock (_lock)
        {
            redirected = _redirects.TryGetValue(string.Join('/', s), out redirect);
        }

        if (redirected)
        {
            if (caller.Credential != FakeCredential.InstallationToken)
            {
                return (Error(401, "Requires authentication"), s);
            }

            var answer = new Answer(redirect.Status, Json(new { message = "Moved", url = redirect.Location, documentation_url = RedirectDocs }));
            answer.Headers["Location"] = redirect.Location;
            return (answer, s);
        }

        if (s is ["repos", var oldOwner, var oldName, ..] && MovedTo(oldOwner, oldName) is { } movedId)
        {
            if (FindById(movedId) is not { } found || !CanSee(caller, found))
            {
                return (Error(404, "Not Found"), s);
            }

            var location = $"{ApiBaseUrl.AbsoluteUri}repositories/{movedId.ToString(CultureInfo.InvariantCulture)}" +
                           string.Concat(s.Skip(3).Select(part => "/" + part)) + context.Request.QueryString.Value;
            var status = method == HttpMethods.Get || method == HttpMethods.Head ? 301 : 307;
            var answer = new Answer(status, Json(new { message = status == 301 ? "Moved Permanently" : "Temporary Redirect", url = location, documentation_url = RedirectDocs }));
            answer.Headers["Location"] = location;
            return (answer, s);
        }

        if (s is ["repositories", var id, .. var rest])
        {
            if (!long.TryParse(id, CultureInfo.InvariantCulture, out var repositoryId) || FindById(repositoryId) is not { } byId || !CanSee(caller, byId))
            {
                return (Error(404, "Not Found"), s);
            }

            s = ["repos", byId.Repository.Owner, byId.Repository.Name, .. rest];
        }

        if (s is ["repos", var owner, var name, "tarball" or "zipball", .. var reference] && reference.Length > 0 && (method == HttpMethods.Get || method == HttpMethods.Head))
        {
            var holder = AllInstallations().Select(i => (Installation: i, Repository: FindRepository(i, owner, name))).FirstOrDefault(x => x.Repository is not null);
            if (holder.Repository is null || !CanSee(caller, (holder.Installation, holder.Repository)))
            {
                return (Error(404, "Not Found"), s);
            }

            return (await ArchiveRedirectAsync(holder.Repository, s[3], string.Join('/', reference)).ConfigureAwait(false), s);
        }

        if (UploadsPrefix is null && s is ["repos", _, _, "releases", _, "assets"] && method == HttpMethods.Post)
        {
            return (await UploadAsync(context, s, caller).ConfigureAwait(false), s);
        }

        return (null, s);
    }

    private long? MovedTo(string owner, string name)
    {
        lock (_lock)
        {
            var current = _installations.Values.Where(i => !i.Removed).SelectMany(i => i.Repositories)
                .Any(r => r.Owner.Equals(owner, StringComparison.OrdinalIgnoreCase) && r.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            return !current && _movedRepositories.TryGetValue(owner + "/" + name, out var id) ? id : null;
        }
    }

    private (FakeInstallation Installation, FakeRepository Repository)? FindById(long repositoryId)
    {
        foreach (var installation in AllInstallations())
        {
            if (Snapshot(installation).FirstOrDefault(r => r.Id == repositoryId) is { } repository)
            {
                return (installation, repository);
            }
        }

        return null;
    }

    /// <summary>GitHub shows a private repository only to a token that can see it (404 to everyone else), a public one to all.</summary>
    private static bool CanSee(Caller caller, (FakeInstallation Installation, FakeRepository Repository)? found) =>
        found is { } f && (!f.Repository.Private || (caller.Credential == FakeCredential.InstallationToken && caller.InstallationId == f.Installation.Id));

    private async Task<Answer> ArchiveRedirectAsync(FakeRepository repository, string format, string reference)
    {
        var codeload = await EnsureCodeloadAsync().ConfigureAwait(false);
        var token = "A" + System.Security.Cryptography.RandomNumberGenerator.GetHexString(28);
        lock (_lock)
        {
            _archiveTokens[token] = (repository, Clock.UtcNow.AddMinutes(5));
        }

        var kind = format == "tarball" ? "legacy.tar.gz" : "legacy.zip";
        var location = $"{codeload.AbsoluteUri}{repository.Owner}/{repository.Name}/{kind}/refs/heads/{reference}?token={token}";
        var answer = new Answer(302, null);
        answer.Headers["Location"] = location;
        return answer;
    }

    private async Task<Uri> EnsureCodeloadAsync()
    {
        if (_codeloadBase is { } ready)
        {
            return ready;
        }

        await _codeloadStart.WaitAsync(_stopping.Token).ConfigureAwait(false);
        try
        {
            if (_codeloadBase is null)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
                builder.Logging.ClearProviders();
                var app = builder.Build();
                app.Run(ServeArchiveAsync);
                await app.StartAsync(_stopping.Token).ConfigureAwait(false);
                _codeload = app;
                _codeloadBase = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
            }

            return _codeloadBase;
        }
        finally
        {
            _codeloadStart.Release();
        }
    }

    /// <summary>codeload: the archive for a valid signed token; 400 when the request also carries <c>Authorization</c>.</summary>
    private async Task ServeArchiveAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var token = context.Request.Query["token"].ToString();
        lock (_lock)
        {
            _codeloadRequests.Add(new CodeloadRequest(context.Request.Path.Value ?? "/", authorization.Length > 0, authorization.Split(' ')[0]));
        }

        if (authorization.Length > 0)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("Only one auth mechanism allowed; only the token query parameter or the Authorization header should be specified",
                context.RequestAborted).ConfigureAwait(false);
            return;
        }

        (FakeRepository Repository, DateTimeOffset ExpiresAt) archive;
        bool known;
        lock (_lock)
        {
            known = _archiveTokens.TryGetValue(token, out archive);
        }

        var path = context.Request.Path.Value ?? string.Empty;
        if (!known || archive.ExpiresAt <= Clock.UtcNow || !path.StartsWith("/" + archive.Repository.FullName + "/", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("404: Not Found", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var body = ArchiveBytes(archive.Repository);
        context.Response.ContentType = "application/x-gzip";
        context.Response.Headers.ContentDisposition = $"attachment; filename={archive.Repository.Owner}-{archive.Repository.Name}-0000000.tar.gz";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The bytes codeload serves for <paramref name="repository"/>'s archive (deterministic, so tests can compare).</summary>
    internal static byte[] ArchiveBytes(FakeRepository repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        return System.Text.Encoding.UTF8.GetBytes("fake archive of " + repository.FullName);
    }

    /// <summary>
    /// POST only; a JSON body with a <c>query</c>; an installation token (GitHub refuses App JWTs here with 401);
    /// counted against the <c>graphql</c> resource (an empty bucket answers 200 with <c>RATE_LIMITED</c>); answers the
    /// <c>rateLimit</c> query, or the viewer and the installation's repositories.
    /// </summary>
    private async Task<Answer> GraphQLAsync(HttpContext context, DateTimeOffset now, Caller caller)
    {
        if (context.Request.Method != HttpMethods.Post)
        {
            return Error(404, "Not Found");
        }

        switch (caller.Credential)
        {
            case FakeCredential.None:
            case FakeCredential.Jwt:
                return Error(401, "This endpoint requires you to be authenticated.");
            case FakeCredential.Invalid:
                return Error(401, caller.Error ?? "Bad credentials");
        }

        var installation = FindInstallation(caller.InstallationId!.Value.ToString(CultureInfo.InvariantCulture))!;
        if (Limit(context, installation.Id, now, "graphql") is { } limited)
        {
            return limited;
        }

        string? query;
        try
        {
            using var json = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            query = json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String
                ? q.GetString()
                : null;
        }
        catch (JsonException)
        {
            return Error(400, "Problems parsing JSON");
        }

        if (string.IsNullOrWhiteSpace(query))
        {
            return Ok(new { errors = new[] { new { message = "A query attribute must be specified and must be a string." } } });
        }

        if (query.Contains("rateLimit", StringComparison.Ordinal))
        {
            return GraphQLRateLimit(installation.Id, now);
        }

        return Ok(new
        {
            data = new
            {
                viewer = new { login = App(installation.AppId).Slug + "[bot]" },
                installation = new { databaseId = installation.Id, repositories = Snapshot(installation).Select(r => r.FullName).ToArray() },
            },
        });
    }

    /// <summary><c>POST …/repos/{owner}/{repo}/releases/{id}/assets?name=…</c> on the uploads endpoint.</summary>
    private async Task<Answer> UploadAsync(HttpContext context, string[] s, Caller caller)
    {
        if (caller.Credential != FakeCredential.InstallationToken)
        {
            return Error(401, caller.Credential == FakeCredential.None ? "Requires authentication" : caller.Error ?? "Bad credentials");
        }

        var installation = FindInstallation(caller.InstallationId!.Value.ToString(CultureInfo.InvariantCulture))!;
        if (context.Request.Method != HttpMethods.Post || s is not ["repos", var owner, var name, "releases", _, "assets"] ||
            FindRepository(installation, owner, name) is null)
        {
            return Error(404, "Not Found");
        }

        var assetName = context.Request.Query["name"].ToString();
        if (assetName.Length == 0 || string.IsNullOrEmpty(context.Request.ContentType))
        {
            return new Answer(422, Json(new { message = "Validation Failed", errors = new[] { new { resource = "ReleaseAsset", code = "missing_field", field = assetName.Length == 0 ? "name" : "content_type" } }, documentation_url = Docs }));
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return new Answer(201, Json(new { name = assetName, size = buffer.Length, state = "uploaded", content_type = context.Request.ContentType }));
    }

    private async ValueTask DisposeCodeloadAsync()
    {
        if (_codeload is { } app)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }

        _codeloadStart.Dispose();
    }
}

/// <summary>One request the fake codeload host received.</summary>
internal sealed record CodeloadRequest(string Path, bool HadAuthorization, string AuthorizationScheme);
