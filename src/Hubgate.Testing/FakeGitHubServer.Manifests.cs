using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>
/// GitHub's App manifest flow. A browser POSTs a form with <c>manifest</c> (JSON) and an optional <c>state</c> (a form
/// field, or the query string as GitHub's docs show) to <c>/settings/apps/new</c> (an App of <see cref="SignedInUser"/>)
/// or <c>/organizations/{org}/settings/apps/new</c> (an App of the organization), at the host's web root, never under the
/// API prefix. The manifest is checked as GitHub checks it (422 and the reasons otherwise); GitHub's confirmation page
/// is skipped — every POST is recorded in <see cref="ManifestRequests"/> — the App is registered, and the answer is a
/// 302 to <c>redirect_url?code=…&amp;state=…</c>. <c>POST {api}/app-manifests/{code}/conversions</c>, unauthenticated,
/// answers 201 with the App and its credentials (client secret, webhook secret, a new RSA key in PKCS#1 PEM) once per
/// code within an hour of the fake's clock; a used, unknown or expired code is 404.
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>How long a manifest code can be converted (GitHub: the three steps within one hour).</summary>
    internal static readonly TimeSpan ManifestCodeLifetime = TimeSpan.FromHours(1);

    /// <summary>GitHub refuses longer App names.</summary>
    internal const int MaxAppNameLength = 34;

    /// <summary>Events GitHub delivers only to an App granted one of these permissions (metadata-only events need none).</summary>
    private static readonly Dictionary<string, string[]> EventPermissions = new(StringComparer.Ordinal)
    {
        ["push"] = ["contents"],
        ["create"] = ["contents"],
        ["delete"] = ["contents"],
        ["release"] = ["contents"],
        ["commit_comment"] = ["contents"],
        ["pull_request"] = ["pull_requests"],
        ["pull_request_review"] = ["pull_requests"],
        ["pull_request_review_comment"] = ["pull_requests"],
        ["pull_request_review_thread"] = ["pull_requests"],
        ["issues"] = ["issues"],
        ["issue_comment"] = ["issues", "pull_requests"],
        ["check_run"] = ["checks"],
        ["check_suite"] = ["checks"],
        ["status"] = ["statuses"],
        ["deployment"] = ["deployments"],
        ["deployment_status"] = ["deployments"],
        ["workflow_run"] = ["actions"],
        ["workflow_job"] = ["actions"],
    };

    private readonly Dictionary<string, (long AppId, DateTimeOffset ExpiresAt)> _manifestCodes = new(StringComparer.Ordinal);
    private readonly List<FakeManifestRequest> _manifestRequests = [];
    private int _generatedNames;

    /// <summary>The person whose browser posts a manifest to <c>/settings/apps/new</c>: the owner of a personal App.</summary>
    internal string SignedInUser { get; set; } = "hubgate-admin";

    /// <summary>Every manifest POST, accepted or refused, in order.</summary>
    internal IReadOnlyList<FakeManifestRequest> ManifestRequests
    {
        get
        {
            lock (_lock)
            {
                return [.. _manifestRequests];
            }
        }
    }

    /// <summary>The manifest form and App install routes at the web root; null for every other request.</summary>
    private async Task<Answer?> RouteWebAsync(HttpContext context, string path, DateTimeOffset now)
    {
        if (RouteInstall(context, path) is { } install)
        {
            return install;
        }

        string? organization;
        switch (path.Trim('/').Split('/'))
        {
            case ["settings", "apps", "new"]:
                organization = null;
                break;
            case ["organizations", var org, "settings", "apps", "new"] when org.Length > 0:
                organization = org;
                break;
            default:
                return null;
        }

        if (context.Request.Method != HttpMethods.Post)
        {
            return null;
        }

        string? manifest = null;
        string? state = null;
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            manifest = form["manifest"].FirstOrDefault();
            state = form["state"].FirstOrDefault();
        }

        state ??= context.Request.Query["state"].FirstOrDefault();
        var owner = organization ?? SignedInUser;
        var (app, errors) = ReadManifest(manifest, owner, organization is null ? "User" : "Organization", now);
        if (app is not null)
        {
            try
            {
                app = Register(app);
            }
            catch (InvalidOperationException)
            {
                (app, errors) = (null, [new ManifestError("name", "already_exists", "Name has already been taken")]);
            }
        }

        string? code = null;
        if (app is not null)
        {
            code = RandomNumberGenerator.GetHexString(20, lowercase: true);
            lock (_lock)
            {
                _manifestCodes[code] = (app.Id, now + ManifestCodeLifetime);
            }
        }

        lock (_lock)
        {
            _manifestRequests.Add(new FakeManifestRequest(path, organization, manifest, state, app is null ? 422 : 302,
                [.. errors.Select(e => e.Message)], app?.Id, now));
        }

        if (app is null)
        {
            return new Answer(422, Json(new
            {
                message = "Validation Failed",
                errors = errors.Select(e => new { resource = "Integration", field = e.Field, code = e.Code, message = e.Message }),
                documentation_url = "https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest",
            }));
        }

        var location = new StringBuilder(app.RedirectUrl).Append(app.RedirectUrl!.Contains('?', StringComparison.Ordinal) ? '&' : '?')
            .Append("code=").Append(code);
        if (state is not null)
        {
            location.Append("&state=").Append(Uri.EscapeDataString(state));
        }

        var redirect = new Answer(302, null);
        redirect.Headers["Location"] = location.ToString();
        return redirect;
    }

    /// <summary><c>POST /app-manifests/{code}/conversions</c>: the App and its credentials, once.</summary>
    private Answer ConvertManifest(string code, DateTimeOffset now)
    {
        long appId;
        lock (_lock)
        {
            if (!_manifestCodes.Remove(code, out var pending) || pending.ExpiresAt <= now)
            {
                return Error(404, "Not Found");
            }

            appId = pending.AppId;
        }

        var app = App(appId);
        var json = AppJson(app, withInstallationsCount: false);
        json["client_secret"] = app.ClientSecret;
        json["webhook_secret"] = app.WebhookSecret;
        json["pem"] = app.PrivateKeyPem;
        return new Answer(201, Json(json));
    }

    /// <summary>The App a manifest describes (not yet registered), or GitHub's reasons for refusing it.</summary>
    private (FakeApp? App, List<ManifestError> Errors) ReadManifest(string? manifest, string owner, string ownerType, DateTimeOffset now)
    {
        var errors = new List<ManifestError>();
        if (string.IsNullOrWhiteSpace(manifest))
        {
            errors.Add(new("manifest", "missing_field", "The manifest is missing"));
            return (null, errors);
        }

        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(manifest);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            errors.Add(new("manifest", "invalid", "The manifest is not valid JSON"));
            return (null, errors);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("manifest", "invalid", "The manifest must be a JSON object"));
            return (null, errors);
        }

        var m = new ManifestReader(root, errors);
        var url = m.Url("url", required: true);
        var redirectUrl = m.Url("redirect_url", required: true);
        var setupUrl = m.Url("setup_url", required: false);
        var name = m.String("name");
        var description = m.String("description");
        var isPublic = m.Bool("public") ?? false;
        var requestOAuth = m.Bool("request_oauth_on_install") ?? false;
        var setupOnUpdate = m.Bool("setup_on_update") ?? false;
        var callbackUrls = m.UrlList("callback_urls", max: 10);
        var (hookActive, hookUrl) = m.Hook();
        var permissions = m.Permissions();
        var events = m.Events();
        foreach (var e in events.Where(e => EventPermissions.TryGetValue(e, out var needs) && !needs.Any(permissions.ContainsKey)))
        {
            errors.Add(new("default_events", "invalid", $"Default events are not supported by permissions: {e}"));
        }

        if (name is null)
        {
            var n = Interlocked.Increment(ref _generatedNames);
            var suffix = "-app-" + n.ToString(CultureInfo.InvariantCulture);
            name = owner[..Math.Min(owner.Length, MaxAppNameLength - suffix.Length)] + suffix;
        }

        var slug = Slugify(name);
        if (name.Length > MaxAppNameLength)
        {
            errors.Add(new("name", "invalid", $"Name is too long (maximum is {MaxAppNameLength} characters)"));
        }
        else if (slug.Length == 0)
        {
            errors.Add(new("name", "invalid", "Name must contain a letter or digit"));
        }
        else if (Apps.Any(a => a.Slug.Equals(slug, StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add(new("name", "already_exists", "Name has already been taken"));
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (NewApp(null, slug, name, owner, ownerType, now) with
        {
            Description = description,
            ExternalUrl = url,
            HookUrl = hookUrl,
            HookActive = hookActive,
            RedirectUrl = redirectUrl,
            SetupUrl = setupUrl,
            SetupOnUpdate = setupOnUpdate,
            RequestOAuthOnInstall = requestOAuth,
            CallbackUrls = callbackUrls,
            Public = isPublic,
            Permissions = permissions,
            Events = events,
        }, errors);
    }

    /// <summary>GitHub's slug: the name in lower case, every run of other characters one dash.</summary>
    private static string Slugify(string name) =>
        Regex.Replace(name.ToLowerInvariant(), "[^a-z0-9]+", "-", RegexOptions.CultureInvariant).Trim('-');

    private sealed record ManifestError(string Field, string Code, string Message);

    /// <summary>Reads a manifest's members, adding GitHub's complaint for each wrong one.</summary>
    private sealed class ManifestReader(JsonElement root, List<ManifestError> errors)
    {
        private static readonly string[] Levels = ["read", "write", "admin"];

        public string? String(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                errors.Add(new(name, "invalid", $"{name} must be a string"));
                return null;
            }

            return value.GetString();
        }

        public bool? Bool(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                errors.Add(new(name, "invalid", $"{name} must be a boolean"));
                return null;
            }

            return value.GetBoolean();
        }

        public string? Url(string name, bool required) => CheckUrl(name, String(name), required);

        public List<string> UrlList(string name, int max)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return [];
            }

            if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
            {
                errors.Add(new(name, "invalid", $"{name} must be an array of URLs"));
                return [];
            }

            var urls = value.EnumerateArray().Select(v => CheckUrl(name, v.GetString(), required: true)).OfType<string>().ToList();
            if (urls.Count > max)
            {
                errors.Add(new(name, "invalid", $"{name} can hold at most {max} URLs"));
            }

            return urls;
        }

        /// <summary><c>hook_attributes</c>: absent means no webhook; present and active (the default) needs a URL.</summary>
        public (bool Active, string? Url) Hook()
        {
            if (!root.TryGetProperty("hook_attributes", out var hook) || hook.ValueKind == JsonValueKind.Null)
            {
                return (false, null);
            }

            if (hook.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new("hook_attributes", "invalid", "hook_attributes must be an object"));
                return (false, null);
            }

            var reader = new ManifestReader(hook, errors);
            var active = reader.Bool("active") ?? true;
            var url = CheckUrl("hook_attributes.url", reader.String("url"), required: active);
            return (active, url);
        }

        public Dictionary<string, string> Permissions()
        {
            var permissions = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!root.TryGetProperty("default_permissions", out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return permissions;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new("default_permissions", "invalid", "default_permissions must be an object of permission: level"));
                return permissions;
            }

            foreach (var p in value.EnumerateObject())
            {
                if (!Regex.IsMatch(p.Name, "^[a-z_]+$", RegexOptions.CultureInvariant) || p.Value.ValueKind != JsonValueKind.String ||
                    !Levels.Contains(p.Value.GetString()))
                {
                    errors.Add(new("default_permissions", "invalid", $"Invalid permission: {p.Name}"));
                    continue;
                }

                permissions[p.Name] = p.Value.GetString()!;
            }

            return permissions;
        }

        public List<string> Events()
        {
            if (!root.TryGetProperty("default_events", out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return [];
            }

            if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String || v.GetString()!.Length == 0))
            {
                errors.Add(new("default_events", "invalid", "default_events must be an array of event names"));
                return [];
            }

            return [.. value.EnumerateArray().Select(v => v.GetString()!).Distinct(StringComparer.Ordinal)];
        }

        private string? CheckUrl(string name, string? url, bool required)
        {
            if (string.IsNullOrWhiteSpace(url))
            {
                if (required)
                {
                    errors.Add(new(name, "missing_field", $"{name} can't be blank"));
                }

                return null;
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add(new(name, "invalid", $"{name} must be an absolute http(s) URL"));
                return null;
            }

            return url;
        }
    }
}
