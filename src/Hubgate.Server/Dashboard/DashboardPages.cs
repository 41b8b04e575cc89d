using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hubgate.Server.Webhooks;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Antiforgery;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// The dashboard's HTML, written out with every value HTML-encoded. No scripts: pages refresh themselves with a meta
/// refresh, forms post with an antiforgery token. A token is never shown — only whether one is stored and when it expires.
/// </summary>
internal static class DashboardPages
{
    internal sealed record InstallationRow(string App, long Id, string? Account, string? AccountType, InstallationStatus Status, DateTimeOffset? TokenExpiresAt, int Repositories);

    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static string E(string? value) => Encoder.Encode(value ?? "");

    internal static string Time(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + (value is null ? "—" : " UTC");

    internal static string Layout(string title, string body, int? refreshSeconds = null, AntiforgeryTokenSet? signOut = null) => $$"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{(refreshSeconds is { } s ? $"<meta http-equiv=\"refresh\" content=\"{s}\">" : "")}}
        <title>{{E(title)}} · Hubgate</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
        header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; justify-content: space-between; align-items: center; }
        header a { color: #fff; text-decoration: none; font-weight: 600; }
        main { padding: 16px 20px; max-width: 1200px; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #eaeef2; }
        .state-processed { color: #1a7f37; } .state-failed { color: #9a6700; } .state-dead { color: #cf222e; font-weight: 600; }
        .muted { color: #57606a; } .notice { background: #ddf4ff; border: 1px solid #54aeff; padding: 6px 10px; }
        pre { background: #fff; border: 1px solid #d0d7de; padding: 10px; overflow: auto; max-height: 600px; }
        form.inline { display: inline; } button { cursor: pointer; }
        header nav { flex: 1; margin-left: 24px; } header nav a { font-weight: 400; margin-right: 16px; }
        .status-paused { color: #9a6700; } .status-disabled { color: #cf222e; font-weight: 600; } svg { display: block; margin: 8px 0; }
        </style>
        </head>
        <body>
        <header><a href="/">Hubgate</a>{{(signOut is null ? "" : "<nav><a href=\"/\" id=\"nav-deliveries\">Deliveries</a><a href=\"/subscriptions\" id=\"nav-subscriptions\">Subscriptions</a></nav>")}}{{(signOut is { } t ? $"<form class=\"inline\" method=\"post\" action=\"/signout\">{Hidden(t)}<button type=\"submit\">Sign out</button></form>" : "")}}</header>
        <main>
        {{body}}
        </main>
        </body>
        </html>
        """;

    internal static string Hidden(AntiforgeryTokenSet tokens) =>
        $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";

    public static string SignIn(AntiforgeryTokenSet tokens, bool failed) => Layout("Sign in", $"""
        <h1>Sign in</h1>
        {(failed ? "<p class=\"notice\" role=\"alert\">That is not the API key.</p>" : "")}
        <form method="post" action="/signin">
        {Hidden(tokens)}
        <label>API key (<code>Hubgate:ApiKey</code>) <input type="password" name="apiKey" autocomplete="current-password" autofocus required></label>
        <button type="submit">Sign in</button>
        </form>
        """);

    public static string NotConfigured() => Layout("Not configured",
        "<h1>Not configured</h1><p>Set <code>Hubgate:ApiKey</code> to use the dashboard, the management API and the proxy.</p>");

    public static string NotFound(string app, string deliveryId) => Layout("Not found",
        $"<h1>Not found</h1><p>No delivery <code>{E(deliveryId)}</code> of App <code>{E(app)}</code> is stored.</p><p><a href=\"/\">Back</a></p>");

    /// <summary>A delivery's page (and its redeliver form's target): delivery ids are unique per App.</summary>
    internal static string DeliveryPath(string app, string deliveryId, string? action = null) =>
        $"/deliveries/{Uri.EscapeDataString(deliveryId)}{(action is null ? "" : "/" + action)}?app={Uri.EscapeDataString(app)}";

    public static string Home(AntiforgeryTokenSet tokens, IReadOnlyList<InstallationRow> installations, IReadOnlyList<DeliverySummary> deliveries,
        string? app, DeliveryState? state, string? @event, DateTimeOffset now)
    {
        var html = new StringBuilder();
        html.Append("<h1>Hubgate</h1><p><a href=\"/apps/new\" id=\"new-app\">New App</a> <span class=\"muted\">register a GitHub App from a manifest</span></p><h2>Installations</h2>");
        if (installations.Count == 0)
        {
            html.Append("<p class=\"muted\">None yet: they appear with the first installation webhook, or after <code>hubgate sync</code>.</p>");
        }
        else
        {
            html.Append("<table id=\"installations\"><tr><th>app</th><th>id</th><th>account</th><th>status</th><th>repositories</th><th>token</th></tr>");
            foreach (var i in installations)
            {
                var token = i.TokenExpiresAt is { } expires
                    ? expires > now ? $"stored, expires {Time(expires)}" : $"expired {Time(expires)}"
                    : "none stored";
                html.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"app\">{E(i.App)}</td><td>{i.Id}</td><td>{E(i.Account)} <span class=\"muted\">{E(i.AccountType)}</span></td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{E(i.Status.ToString().ToLowerInvariant())}</td><td>{i.Repositories}</td><td>{E(token)}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("<h2>Recent deliveries</h2><form method=\"get\" action=\"/\">")
            .Append(CultureInfo.InvariantCulture, $"<label>app <input name=\"app\" value=\"{E(app)}\" size=\"12\"></label> ")
            .Append(CultureInfo.InvariantCulture, $"<label>event <input name=\"event\" value=\"{E(@event)}\" size=\"16\"></label> <label>state <select name=\"state\"><option value=\"\">any</option>");
        foreach (var s in Enum.GetValues<DeliveryState>())
        {
            var name = s.ToString().ToLowerInvariant();
            html.Append(CultureInfo.InvariantCulture, $"<option value=\"{name}\"{(s == state ? " selected" : "")}>{name}</option>");
        }

        html.Append("</select></label> <button type=\"submit\">Filter</button></form>");
        if (deliveries.Count == 0)
        {
            html.Append("<p class=\"muted\">No deliveries match.</p>");
        }
        else
        {
            html.Append("<table id=\"deliveries\"><tr><th>received</th><th>app</th><th>delivery</th><th>event</th><th>state</th><th>attempts</th><th>last error / reason</th></tr>");
            foreach (var d in deliveries)
            {
                var state2 = d.State.ToString().ToLowerInvariant();
                var why = (d.LastError ?? d.IgnoredReason)?.Split('\n')[0];
                html.Append(CultureInfo.InvariantCulture, $"<tr data-app=\"{E(d.App)}\" data-delivery=\"{E(d.DeliveryId)}\"><td>{Time(d.ReceivedAt)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td class=\"app\">{E(d.App)}</td><td><a href=\"{E(DeliveryPath(d.App, d.DeliveryId))}\">{E(d.DeliveryId)}</a></td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{E(d.Event)}{(d.Action is null ? "" : "." + E(d.Action))}</td><td class=\"state-{state2}\">{state2}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td class=\"attempts\">{d.Attempts}</td><td>{E(why)}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("<p class=\"muted\">Refreshes every 5 seconds.</p>");
        return Layout("Dashboard", html.ToString(), refreshSeconds: 5, signOut: tokens);
    }

    public static string Delivery(AntiforgeryTokenSet tokens, DeliveriesEndpoints.DeliveryDetail detail, string? redelivered)
    {
        var d = detail.Delivery;
        var state = d.State.ToString().ToLowerInvariant();
        var notice = redelivered switch
        {
            "queued" => "<p class=\"notice\" role=\"status\">Queued again: the worker processes it next.</p>",
            "busy" => "<p class=\"notice\" role=\"status\">It is being processed right now; try again when it finishes.</p>",
            _ => "",
        };
        var headers = detail.Headers is { } h ? JsonSerializer.Serialize(h, Pretty) : "{}";
        return Layout(d.DeliveryId, $"""
            <p><a href="/">← All deliveries</a></p>
            <h1>{E(d.Event)}{(d.Action is null ? "" : "." + E(d.Action))} <span class="muted">{E(d.DeliveryId)}</span></h1>
            {notice}
            <table id="summary">
            <tr><th>app</th><td id="app">{E(d.App)}</td></tr>
            <tr><th>state</th><td id="state" class="state-{state}">{state}</td></tr>
            <tr><th>attempts</th><td id="attempts">{d.Attempts}</td></tr>
            <tr><th>received</th><td>{Time(d.ReceivedAt)}</td></tr>
            <tr><th>finished</th><td>{Time(d.ProcessedAt)}</td></tr>
            <tr><th>next attempt</th><td>{(d.State is DeliveryState.Failed or DeliveryState.Pending ? Time(d.NextAttemptAt) : "—")}</td></tr>
            <tr><th>installation / repository</th><td>{d.InstallationId?.ToString(CultureInfo.InvariantCulture) ?? "—"} / {d.RepositoryId?.ToString(CultureInfo.InvariantCulture) ?? "—"}</td></tr>
            <tr><th>last error / reason</th><td><pre>{E(d.LastError ?? d.IgnoredReason ?? "—")}</pre></td></tr>
            {(detail.PossibleReplayOf is { } earlier ? $"<tr><th>possible replay of</th><td><a href=\"{E(DeliveryPath(d.App, earlier))}\">{E(earlier)}</a></td></tr>" : "")}
            </table>
            <h2>Subscriptions</h2>
            {SubscriptionStates(detail.Subscriptions)}
            <form method="post" action="{E(DeliveryPath(d.App, d.DeliveryId, "redeliver"))}">
            {Hidden(tokens)}<input type="hidden" name="confirm" value="1">
            <button type="submit" id="redeliver">Redeliver</button> <span class="muted">puts it back in the queue of every subscription above; handlers run again</span>
            </form>
            <h2>Headers kept</h2>
            <pre id="headers">{E(headers)}</pre>
            <h2>Payload</h2>
            <pre id="payload">{E(JsonSerializer.Serialize(detail.Payload, Pretty))}</pre>
            <p class="muted">Refreshes every 5 seconds.</p>
            """, refreshSeconds: 5, signOut: tokens);
    }

    /// <summary>Where one delivery stands for every subscription it was handed to (none yet: not fanned out).</summary>
    private static string SubscriptionStates(IReadOnlyList<SubscriptionState> states)
    {
        if (states.Count == 0)
        {
            return "<p class=\"muted\" id=\"subscriptions\">Not handed to the subscriptions yet.</p>";
        }

        var html = new StringBuilder("<table id=\"subscriptions\"><tr><th>subscription</th><th>state</th><th>attempts</th><th>finished / next attempt</th><th>status</th><th>last error / reason</th></tr>");
        foreach (var s in states)
        {
            var state = s.State.ToString().ToLowerInvariant();
            var when = s.State is DeliveryState.Failed or DeliveryState.Pending ? "next " + Time(s.NextAttemptAt) : Time(s.ProcessedAt);
            html.Append(CultureInfo.InvariantCulture, $"<tr data-subscription=\"{E(s.Subscription)}\"><td><a href=\"/subscriptions/{E(Uri.EscapeDataString(s.Subscription))}\">{E(s.Subscription)}</a></td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"state state-{state}\">{state}</td><td class=\"attempts\">{s.Attempts}</td><td>{E(when)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td>{s.LastStatus?.ToString(CultureInfo.InvariantCulture) ?? "—"}</td><td><pre>{E(s.LastError ?? s.IgnoredReason ?? "—")}</pre></td></tr>");
        }

        return html.Append("</table>").ToString();
    }
}
