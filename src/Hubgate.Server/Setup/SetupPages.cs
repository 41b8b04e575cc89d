using System.Globalization;
using Hubgate.Apps;
using Hubgate.Server.Dashboard;
using Microsoft.AspNetCore.Antiforgery;
using static Hubgate.Server.Dashboard.DashboardPages;

namespace Hubgate.Server.Setup;

/// <summary>The pages of App registration and installation: the New App form, the page that posts the manifest to GitHub, the two callbacks.</summary>
internal static class SetupPages
{
    /// <summary>The one script Hubgate serves: it submits the manifest form (allowed by its hash in the page's Content-Security-Policy).</summary>
    public const string SubmitScript = "document.getElementById('manifest').submit();";

    /// <summary>The values of the New App form, kept when it is shown again with an error.</summary>
    internal sealed record NewAppValues(string? Name, string? Organization, string? Host, string? ApiBaseUrl);

    public static string NewApp(AntiforgeryTokenSet tokens, Uri? publicUrl, NewAppValues values, string? error) => Layout("New App", $"""
        <p><a href="/">← Dashboard</a></p>
        <h1>New GitHub App</h1>
        {(error is null ? "" : $"<p class=\"notice\" role=\"alert\">{E(error)}</p>")}
        {(publicUrl is null ? "<p class=\"notice\" role=\"alert\">Set <code>Hubgate:PublicUrl</code> first: GitHub sends webhooks and browsers there.</p>" : "")}
        <p>Hubgate registers the App on GitHub from a manifest: GitHub asks you to confirm (and lets you rename it on GitHub), then sends
        you back here, and the App is live at once. Its webhooks go to <code>{E(publicUrl is null ? "" : AppManifest.WebhookUrl(publicUrl, "NAME").AbsoluteUri)}</code>.</p>
        <form method="post" action="/apps/new" id="new-app">
        {Hidden(tokens)}
        <p><label>Name <input name="name" value="{E(values.Name)}" maxlength="64" required autofocus></label> <span class="muted">a-z, 0-9, '-'</span></p>
        <p><label>Organization <input name="organization" value="{E(values.Organization)}"></label> <span class="muted">empty: your own account</span></p>
        <p><label>Host <input name="host" value="{E(values.Host)}" placeholder="github.com"></label> <span class="muted">a GitHub Enterprise Server host name, or empty for github.com</span></p>
        <p><label>API base URL <input name="apiBaseUrl" value="{E(values.ApiBaseUrl)}" placeholder="https://HOST/api/v3/" size="40"></label> <span class="muted">only when it is not the host's usual one</span></p>
        <button type="submit" id="create">Register on GitHub</button>
        </form>
        """, signOut: tokens);

    public static string Post(ManifestForm form) => Layout("Registering " + form.Name, $"""
        <h1>Registering {E(form.Name)} on GitHub</h1>
        <form method="post" action="{E(form.Action!.AbsoluteUri)}" id="manifest">
        <input type="hidden" name="manifest" value="{E(form.Manifest)}">
        <input type="hidden" name="state" value="{E(form.State)}">
        <p>Taking you to <code>{E(form.Action.GetLeftPart(UriPartial.Authority))}</code>… <button type="submit" id="continue">Continue</button></p>
        </form>
        <p class="muted">This link works once, in this browser, until {E(form.ExpiresAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))} UTC.</p>
        <script>{SubmitScript}</script>
        """);

    public static string Created(AppSummary app, Uri? installUrl, Uri publicUrl) => Layout("App " + app.Name, $"""
        <h1 id="created">App {E(app.Name)} is registered</h1>
        <table id="app">
        <tr><th>name in Hubgate</th><td>{E(app.Name)}</td></tr>
        <tr><th>App id</th><td id="app-id">{app.AppId.ToString(CultureInfo.InvariantCulture)}</td></tr>
        <tr><th>slug</th><td id="slug">{E(app.Slug)}</td></tr>
        <tr><th>host</th><td>{E(app.WebBaseUrl.AbsoluteUri)}</td></tr>
        <tr><th>webhook URL</th><td><code>{E(AppManifest.WebhookUrl(publicUrl, app.Name).AbsoluteUri)}</code></td></tr>
        </table>
        <p>Its private key, client secret and webhook secret are stored encrypted; Hubgate acts as it from now on, on every replica.</p>
        {(installUrl is null ? "" : $"<p>Next, install it on the accounts and repositories it should see: <a id=\"install\" href=\"{E(installUrl.AbsoluteUri)}\">{E(installUrl.AbsoluteUri)}</a>. GitHub then sends you back here and the installation appears at once.</p>")}
        <p><a href="/">Dashboard</a></p>
        """);

    public static string Problem(string title, string message) => Layout(title, $"""
        <h1>{E(title)}</h1>
        <p class="notice" role="alert" id="problem">{E(message)}</p>
        <p><a href="/">Dashboard</a></p>
        """);

    public static string Installed(string app, long installationId, string? action, int repositories) => Layout("Installation " + installationId.ToString(CultureInfo.InvariantCulture), $"""
        <h1 id="installed">Installation {installationId.ToString(CultureInfo.InvariantCulture)} of App {E(app)} is {(action == "update" ? "updated" : "registered")}</h1>
        <p>Hubgate asked GitHub about it and now knows it and its {repositories.ToString(CultureInfo.InvariantCulture)} repositories; webhooks keep it up to date. You can close this page.</p>
        """);

    public static string Requested(string app) => Layout("Installation requested", $"""
        <h1>Installation of {E(app)} requested</h1>
        <p>An owner of the account must approve it on GitHub; Hubgate learns of the installation from GitHub's webhook then.</p>
        """);
}
