using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>
/// Installing an App from its page in a browser, as GitHub does it minus the pages: <c>GET /apps/{slug}/installations/new</c>
/// (<c>/github-apps/{slug}/…</c> on GHES) installs the App on <see cref="InstallTarget"/> — granting the App's
/// permissions and events — and redirects to the App's setup URL with <c>installation_id</c>, <c>setup_action=install</c>
/// and the <c>state</c> it was given. On an account that already has it, the installation is kept and the redirect
/// says <c>setup_action=update</c>, and only if the App asked for <c>setup_on_update</c>. Without a setup URL the
/// browser lands on the installation's settings page. A private App installs only on its owner's account (404
/// elsewhere, as GitHub hides it).
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>The account a browser install goes to: login and <c>User</c> or <c>Organization</c> (default: <see cref="SignedInUser"/>).</summary>
    internal (string Login, string Type)? InstallTarget { get; set; }

    /// <summary>The browser's install URL of an App (<c>{web}/apps/{slug}/installations/new</c>).</summary>
    internal Uri InstallUrl(long appId) => new(AppHtmlUrl(App(appId)) + "/installations/new");

    private Answer? RouteInstall(HttpContext context, string path)
    {
        var s = path.Trim('/').Split('/');
        if (context.Request.Method != HttpMethods.Get || s is not [var root, var slug, "installations", "new"] ||
            root != (IsEnterprisePrefix ? "github-apps" : "apps"))
        {
            return null;
        }

        var app = Apps.FirstOrDefault(a => a.Slug.Equals(slug, StringComparison.OrdinalIgnoreCase));
        var (login, type) = InstallTarget ?? (SignedInUser, "User");
        if (app is null || (!app.Public && !login.Equals(app.OwnerLogin, StringComparison.OrdinalIgnoreCase)))
        {
            return Error(404, "Not Found");
        }

        FakeInstallation installation;
        bool update;
        lock (_lock)
        {
            var existing = _installations.Values.FirstOrDefault(i =>
                i.AppId == app.Id && !i.Removed && i.AccountLogin.Equals(login, StringComparison.OrdinalIgnoreCase));
            update = existing is not null;
            installation = existing ?? InstallApp(app.Id, _installations.Count == 0 ? 1 : _installations.Keys.Max() + 1, login, type, "all");
        }

        var answer = new Answer(302, null);
        if (app.SetupUrl is null || (update && !app.SetupOnUpdate))
        {
            answer.Headers["Location"] = InstallationHtmlUrl(installation);
            return answer;
        }

        var location = new StringBuilder(app.SetupUrl).Append(app.SetupUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?')
            .Append("installation_id=").Append(installation.Id.ToString(CultureInfo.InvariantCulture))
            .Append("&setup_action=").Append(update ? "update" : "install");
        if (context.Request.Query["state"].FirstOrDefault() is { } state)
        {
            location.Append("&state=").Append(Uri.EscapeDataString(state));
        }

        answer.Headers["Location"] = location.ToString();
        return answer;
    }
}
