using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

public sealed partial class FakeGitHubServer
{
    private const string Docs = "https://docs.github.com/rest";

    private void MapRoutes() => _app.Run(HandleAsync);

    private async Task HandleAsync(HttpContext context)
    {
        var now = Clock.UtcNow;
        var response = context.Response;
        response.Headers.Date = now.ToString("R", CultureInfo.InvariantCulture);
        response.Headers["X-GitHub-Request-Id"] = Guid.NewGuid().ToString("N")[..16].ToUpperInvariant();
        if (IsEnterprisePrefix)
        {
            response.Headers["X-GitHub-Enterprise-Version"] = _options.NumericIssuerOnly ? "3.13.0" : "3.17.0";
        }

        var path = context.Request.Path.Value ?? "/";
        var prefix = _options.PathPrefix.TrimEnd('/');
        var caller = new Caller();
        Answer answer;
        try
        {
            if (await RouteWebAsync(context, path, now).ConfigureAwait(false) is { } web)
            {
                answer = web;
            }
            else if (await RouteBesideApiAsync(context, path, now, caller).ConfigureAwait(false) is { } beside)
            {
                answer = beside;
            }
            else if (prefix.Length > 0 && !path.StartsWith(prefix + "/", StringComparison.Ordinal) && path != prefix)
            {
                answer = Error(404, "Not Found");
            }
            else
            {
                path = path[prefix.Length..];
                await LatencyAsync(path, context.RequestAborted).ConfigureAwait(false);
                answer = await RouteAsync(context, path.Trim('/'), now, caller).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            answer = new Answer(499, null);
        }

        Record(context, path, caller, answer.Status, now);
        if (context.RequestAborted.IsCancellationRequested || answer.Status == 499)
        {
            return;
        }

        response.StatusCode = answer.Status;
        foreach (var (name, value) in answer.Headers)
        {
            response.Headers[name] = value;
        }

        if (answer.Body is not null)
        {
            response.ContentType = "application/json; charset=utf-8";
            await response.WriteAsync(answer.Body, Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task<Answer> RouteAsync(HttpContext context, string path, DateTimeOffset now, Caller caller)
    {
        if (string.IsNullOrEmpty(context.Request.Headers.UserAgent))
        {
            return Error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).");
        }

        Authenticate(context, now, caller);
        var s = path.Split('/');
        if (PlannedAnswer(context, s, caller, now) is { } planned)
        {
            return planned;
        }

        var method = context.Request.Method;
        var get = method == HttpMethods.Get;
        var post = method == HttpMethods.Post;
        if (s is ["app-manifests", var code, "conversions"])
        {
            return !post ? Error(404, "Not Found")
                : caller.Credential == FakeCredential.Invalid ? Error(401, caller.Error ?? "Bad credentials")
                : ConvertManifest(code, now);
        }

        // App routes: the App's JWT, which sees only its own App's installations and delivery log.
        if (s[0] == "app" || (s.Length == 3 && s[0] is "orgs" or "users" && s[2] == "installation") ||
            (s.Length == 4 && s[0] == "repos" && s[3] == "installation"))
        {
            if (caller.Credential != FakeCredential.Jwt)
            {
                return Error(401, caller.Error ?? FakeJwtVerifier.Undecodable);
            }

            if (Limit(context, 0, now) is { } limited)
            {
                return limited;
            }

            var app = App(caller.AppId!.Value);
            return (s, get, post) switch
            {
                (["app"], true, _) => Ok(AppJson(app)),
                (["app", "installations"], true, _) => Page(context, InstallationsOf(app).Select(InstallationJson).ToList(), list => list),
                (["app", "installations", var id], true, _) => FindInstallation(id, app) is { } i ? Ok(InstallationJson(i)) : Error(404, "Not Found"),
                (["app", "installations", var id, "access_tokens"], _, true) => await MintAsync(context, id, now, app).ConfigureAwait(false),
                (["app", "hook", "config"], true, _) => Ok(HookConfigJson(app)),
                (["app", "hook", "deliveries"], true, _) => HookDeliveries(context, app.Id),
                (["app", "hook", "deliveries", var id, "attempts"], _, true) => Redeliver(id, now, app.Id),
                ([_, var login, "installation"], true, _) =>
                    InstallationsOf(app).FirstOrDefault(i => i.AccountLogin.Equals(login, StringComparison.OrdinalIgnoreCase)) is { } byAccount
                        ? Ok(InstallationJson(byAccount)) : Error(404, "Not Found"),
                (["repos", var owner, var name, "installation"], true, _) =>
                    InstallationsOf(app).FirstOrDefault(i => FindRepository(i, owner, name) is not null) is { } byRepo
                        ? Ok(InstallationJson(byRepo)) : Error(404, "Not Found"),
                _ => Error(404, "Not Found"),
            };
        }

        var (moved, rerouted) = await RouteMovedAsync(context, s, caller).ConfigureAwait(false);
        if (moved is not null)
        {
            return moved;
        }

        s = rerouted;

        // Everything else: an installation token.
        switch (caller.Credential)
        {
            case FakeCredential.None:
                return Error(401, "Requires authentication");
            case FakeCredential.Invalid:
                return Error(401, caller.Error ?? "Bad credentials");
            case FakeCredential.Jwt:
                return Error(403, "Resource not accessible by integration");
        }

        var installation = FindInstallation(caller.InstallationId!.Value.ToString(CultureInfo.InvariantCulture))!;
        if (Limit(context, installation.Id, now, ResourceOf(s)) is { } installationLimited)
        {
            return installationLimited;
        }

        if (ScopedAnswer(context, caller.Token!, installation, s) is { } scoped)
        {
            return scoped;
        }

        if (RouteSearch(context, s, installation) is { } family)
        {
            return family;
        }

        if (post && s is ["repos", var issueOwner, var issueRepo, "issues"])
        {
            return FindRepository(installation, issueOwner, issueRepo) is { } target
                ? await CreateIssueAsync(context, target).ConfigureAwait(false)
                : Error(404, "Not Found");
        }

        return (s, get) switch
        {
            (["installation", "repositories"], true) => Page(context, Snapshot(installation).Select(RepositoryJson).ToList(),
                list => new { total_count = installation.Repositories.Count, repository_selection = installation.RepositorySelection, repositories = list }),
            (["repos", var owner, var name], true) => FindRepository(installation, owner, name) is { } repository
                ? Ok(RepositoryJson(repository)) : Error(404, "Not Found"),
            (["repos", var owner, var name, "compare", var basehead], true) => Compare(context, installation, owner, name, basehead),
            (["rate_limit"], true) => Ok(new { resources = new { core = new { limit = 5000, remaining = 4999, reset = now.AddHours(1).ToUnixTimeSeconds(), used = 1 } } }),
            _ => Error(404, "Not Found"),
        };
    }

    private void Authenticate(HttpContext context, DateTimeOffset now, Caller caller)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return;
        }

        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space > 0 ? header[..space] : header;
        var credential = space > 0 ? header[(space + 1)..].Trim() : string.Empty;
        caller.Credential = FakeCredential.Invalid;
        if (!scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("token", StringComparison.OrdinalIgnoreCase))
        {
            caller.Error = "Bad credentials";
            return;
        }

        if (FakeJwtVerifier.LooksLikeJwt(credential))
        {
            // The issuer picks the App whose key must have signed it; an unknown issuer is judged as the primary App's.
            var app = AppForIssuer(FakeJwtVerifier.UnverifiedIssuer(credential));
            caller.Error = FakeJwtVerifier.Verify(credential, app.Key, now, app.Id, app.ClientId, _options.NumericIssuerOnly);
            if (caller.Error is null)
            {
                caller.Credential = FakeCredential.Jwt;
                caller.AppId = app.Id;
                IssuedSecrets.Register(credential, "an App JWT");
            }

            return;
        }

        lock (_lock)
        {
            if (_tokens.TryGetValue(credential, out var issued) && now < issued.ExpiresAt && now >= issued.ActiveFrom &&
                _installations.TryGetValue(issued.InstallationId, out var installation) && !installation.Removed && !installation.Suspended)
            {
                caller.Credential = FakeCredential.InstallationToken;
                caller.InstallationId = issued.InstallationId;
                caller.Token = credential;
                return;
            }
        }

        caller.Error = "Bad credentials";
    }

    private async Task<Answer> MintAsync(HttpContext context, string id, DateTimeOffset now, FakeApp app)
    {
        FakeFault? fault = null;
        lock (_lock)
        {
            if (_faults.Count > 0)
            {
                fault = _faults.Dequeue();
            }
        }

        switch (fault)
        {
            case FakeFault.Hang:
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token))
                {
                    await Task.Delay(Timeout.Infinite, linked.Token).ConfigureAwait(false);
                }

                break;
            case FakeFault.Suspended:
                return Error(403, "This installation has been suspended");
            case { } other:
                return Error(StatusOf(other), other == FakeFault.NotFound ? "Not Found" : "Server Error");
        }

        var installation = FindInstallation(id, app);
        if (installation is null)
        {
            return Error(404, "Not Found");
        }

        if (installation.Suspended)
        {
            return Error(403, "This installation has been suspended");
        }

        var (scope, refused) = await ReadMintScopeAsync(context, installation).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        if (MintDelay > TimeSpan.Zero)
        {
            await Task.Delay(MintDelay, context.RequestAborted).ConfigureAwait(false);
        }

        var token = NewToken();
        IssuedSecrets.Register(token, "an installation token");
        var expiresAt = now + TokenLifetime;
        lock (_lock)
        {
            _tokens[token] = new IssuedToken(installation.Id, expiresAt, now + TokenActivationDelay);
            RememberScope(token, scope!);
            _mintsByInstallation[installation.Id] = _mintsByInstallation.GetValueOrDefault(installation.Id) + 1;
        }

        Interlocked.Increment(ref _mintCount);
        var body = new Dictionary<string, object?>
        {
            ["token"] = token,
            ["permissions"] = installation.Permissions,
            ["repository_selection"] = installation.RepositorySelection,
        };
        DescribeScope(body, installation, scope!);
        switch (ExpiresAtMode)
        {
            case ExpiresAtMode.Normal:
                body["expires_at"] = Iso(expiresAt);
                break;
            case ExpiresAtMode.Null:
                body["expires_at"] = null;
                break;
            case ExpiresAtMode.Unparsable:
                body["expires_at"] = "sometime soon";
                break;
        }

        return new Answer(201, Json(body));
    }

    private string NewToken()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var length = Math.Max(TokenLength, 8) - 4;
        return "ghs_" + System.Security.Cryptography.RandomNumberGenerator.GetString(alphabet, length);
    }

    private Answer Page<T>(HttpContext context, List<T> items, Func<List<T>, object> shape)
    {
        var query = context.Request.Query;
        var perPage = Math.Clamp(int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var pp) ? pp : 30, 1, 100);
        var page = Math.Max(int.TryParse(query["page"], CultureInfo.InvariantCulture, out var p) ? p : 1, 1);
        var last = Math.Max(1, (items.Count + perPage - 1) / perPage);
        var answer = Ok(shape(items.Skip((page - 1) * perPage).Take(perPage).ToList()));
        var links = new List<string>();
        string Url(int n) => $"{context.Request.Scheme}://{context.Request.Host}{context.Request.Path}?per_page={perPage}&page={n}";
        if (page < last)
        {
            links.Add($"<{Url(page + 1)}>; rel=\"next\"");
            links.Add($"<{Url(last)}>; rel=\"last\"");
        }

        if (page > 1)
        {
            links.Add($"<{Url(1)}>; rel=\"first\"");
            links.Add($"<{Url(page - 1)}>; rel=\"prev\"");
        }

        if (links.Count > 0)
        {
            answer.Headers["Link"] = string.Join(", ", links);
        }

        return answer;
    }

    private List<FakeInstallation> AllInstallations()
    {
        lock (_lock)
        {
            return [.. _installations.Values.Where(i => !i.Removed).OrderBy(i => i.Id)];
        }
    }

    private FakeInstallation? FindInstallation(string id)
    {
        lock (_lock)
        {
            return long.TryParse(id, CultureInfo.InvariantCulture, out var n) && _installations.TryGetValue(n, out var i) && !i.Removed ? i : null;
        }
    }

    private List<FakeRepository> Snapshot(FakeInstallation installation)
    {
        lock (_lock)
        {
            return [.. installation.Repositories];
        }
    }

    private FakeRepository? FindRepository(FakeInstallation installation, string owner, string name) =>
        Snapshot(installation).FirstOrDefault(r =>
            r.Owner.Equals(owner, StringComparison.OrdinalIgnoreCase) && r.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    private object RepositoryJson(FakeRepository r) => new
    {
        id = r.Id,
        node_id = "R_kgDO" + r.Id,
        name = r.Name,
        full_name = r.FullName,
        @private = r.Private,
        owner = new { login = r.Owner, id = 5000 + Math.Abs(r.Owner.GetHashCode(StringComparison.Ordinal) % 1000), type = "Organization" },
        html_url = "https://github.com/" + r.FullName,
        url = $"{ApiBaseUrl}repos/{r.FullName}",
        default_branch = r.DefaultBranch,
        archived = false,
        disabled = false,
        visibility = r.Private ? "private" : "public",
        fork = false,
        created_at = "2026-01-01T00:00:00Z",
        updated_at = "2026-01-01T00:00:00Z",
        pushed_at = "2026-01-01T00:00:00Z",
    };

    private void Record(HttpContext context, string path, Caller caller, int status, DateTimeOffset now)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in new[] { "Accept", "User-Agent", "X-GitHub-Api-Version", "Content-Type" })
        {
            if (context.Request.Headers.TryGetValue(name, out var value))
            {
                headers[name] = value.ToString();
            }
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        headers["Authorization-Scheme"] = authorization.Split(' ')[0];
        lock (_lock)
        {
            _requests.Add(new RecordedRequest(context.Request.Method, "/" + path.Trim('/'), context.Request.QueryString.Value ?? string.Empty,
                caller.Credential, caller.InstallationId, status, headers, now));
        }
    }

    /// <summary>POST /repos/{owner}/{repo}/issues: reads the whole JSON body and answers 201 with what it received.</summary>
    private async Task<Answer> CreateIssueAsync(HttpContext context, FakeRepository repository)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        string? title;
        string? body;
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(buffer.ToArray());
            title = json.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
            body = json.RootElement.TryGetProperty("body", out var b) ? b.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return Error(400, "Problems parsing JSON");
        }

        if (string.IsNullOrEmpty(title))
        {
            return new Answer(422, Json(new { message = "Validation Failed", errors = new[] { new { resource = "Issue", code = "missing_field", field = "title" } }, documentation_url = Docs }));
        }

        var number = Interlocked.Increment(ref _issueNumber);
        var answer = new Answer(201, Json(new
        {
            number,
            title,
            body_length = body?.Length ?? 0,
            request_bytes = buffer.Length,
            html_url = $"https://github.com/{repository.Owner}/{repository.Name}/issues/{number}",
        }));
        answer.Headers["Location"] = $"{ApiBaseUrl.AbsoluteUri}repos/{repository.Owner}/{repository.Name}/issues/{number}";
        return answer;
    }

    private static Answer Ok(object body) => new(200, Json(body));

    private static Answer Error(int status, string message) => new(status, Json(new { message, documentation_url = Docs }));

    private sealed class Caller
    {
        public FakeCredential Credential { get; set; } = FakeCredential.None;
        public long? InstallationId { get; set; }

        /// <summary>The App whose JWT this is (set with <see cref="FakeCredential.Jwt"/>).</summary>
        public long? AppId { get; set; }

        public string? Token { get; set; }
        public string? Error { get; set; }
    }

    private sealed record Answer(int Status, string? Body)
    {
        public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
    }
}
