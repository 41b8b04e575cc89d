using System.Globalization;
using System.Text;
using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.AspNetCore.Antiforgery;
using static Hubgate.Server.Dashboard.DashboardPages;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// The Subscriptions page (every subscription with its status, backlog, last hour, lag and last error, and Pause /
/// Resume) and a subscription's own page (its definition without the secret, the charts of its last hour, its most
/// recent deliveries). A secret is never shown; an endpoint's query string (which may carry a token) neither.
/// </summary>
internal static class SubscriptionPages
{
    /// <summary>One subscription as the pages show it.</summary>
    internal sealed record Row(Subscription Subscription, long Backlog, SubscriptionStats.Hour Hour, string? LastError);

    private static string Path(string name, string? action = null) =>
        $"/subscriptions/{Uri.EscapeDataString(name)}{(action is null ? "" : "/" + action)}";

    private static string Status(Subscription s) => s.Status.ToString().ToLowerInvariant();

    private static string Lag(TimeSpan? lag) => lag is { } l
        ? l < TimeSpan.FromSeconds(1) ? $"{l.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms" : $"{l.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s"
        : "—";

    /// <summary>Where an HTTP subscription delivers, without its query string; a stream's route.</summary>
    private static string Destination(Subscription s) => s.Kind switch
    {
        SubscriptionKind.Http when Uri.TryCreate(s.Options.Url, UriKind.Absolute, out var url) =>
            url.GetLeftPart(UriPartial.Path) + (string.IsNullOrEmpty(url.Query) ? "" : "?…"),
        SubscriptionKind.Stream => $"GET /api/subscriptions/{s.Name}/events",
        SubscriptionKind.RabbitMq when s.Options.RabbitMq is { } rabbit =>
            $"{Hubgate.Webhooks.Subscriptions.RabbitMq.BrokerUri.Masked(rabbit.Uri) ?? "(broker URI unreadable)"} → exchange {rabbit.Exchange}, key {rabbit.RoutingKey}",
        SubscriptionKind.Local => "the model and the in-process handlers",
        _ => "—",
    };

    private static string StatusCell(Subscription s) =>
        $"<td class=\"status status-{Status(s)}\">{Status(s)}{(s.DisabledReason is { } reason ? $"<div class=\"muted reason\">{E(reason)}</div>" : "")}</td>";

    /// <summary>Pause for an active subscription; Resume (Enable, for a disabled one) otherwise.</summary>
    private static string StatusForm(AntiforgeryTokenSet tokens, Subscription s, string from)
    {
        var (action, label) = s.Status switch
        {
            SubscriptionStatus.Active => ("pause", "Pause"),
            SubscriptionStatus.Disabled => ("resume", "Enable"),
            _ => ("resume", "Resume"),
        };
        return $"<form class=\"inline\" method=\"post\" action=\"{E(Path(s.Name, action))}\">{Hidden(tokens)}<input type=\"hidden\" name=\"from\" value=\"{from}\">" +
               $"<button type=\"submit\" class=\"{action}\">{label}</button></form>";
    }

    private static string Notice(string? changed, int? count = null) => changed switch
    {
        "replayed" when count is { } n => $"<p class=\"notice\" role=\"status\" id=\"replayed\">Replayed: {n.ToString(CultureInfo.InvariantCulture)} " +
            $"{(n == 1 ? "delivery goes" : "deliveries go")} back to pending for it, with a full set of retries.</p>",
        "paused" => "<p class=\"notice\" role=\"status\">Paused: its deliveries are kept for it, not sent, until it is resumed.</p>",
        "resumed" => "<p class=\"notice\" role=\"status\">Resumed: it goes on where it stopped, nothing skipped.</p>",
        _ => "",
    };

    public static string List(AntiforgeryTokenSet tokens, IReadOnlyList<Row> rows, SubscriptionStats.Window window, string? changed)
    {
        var html = new StringBuilder();
        html.Append("<p><a href=\"/\">← Deliveries</a></p><h1>Subscriptions</h1>").Append(Notice(changed))
            .Append("<table id=\"subscriptions\"><tr><th>name</th><th>kind</th><th>source</th><th>status</th><th>backlog</th>")
            .Append("<th>delivered (1 h)</th><th>failed (1 h)</th><th>lag p99 (1 h)</th><th>last error</th><th></th></tr>");
        foreach (var (s, backlog, hour, lastError) in rows)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr data-subscription=\"{E(s.Name)}\"><td class=\"name\"><a href=\"{E(Path(s.Name))}\">{E(s.Name)}</a></td>")
                .Append(CultureInfo.InvariantCulture, $"<td>{E(s.Kind.ToString().ToLowerInvariant())}</td><td>{E(Source(s.Source))}</td>{StatusCell(s)}")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"backlog\">{backlog}</td><td class=\"delivered\">{hour.Total.Delivered}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"failed\">{hour.Total.Failed + hour.Total.Dead}</td><td class=\"lag\">{Lag(hour.Total.LagP99)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td class=\"last-error\">{E(lastError?.Split('\n')[0])}</td><td>{StatusForm(tokens, s, "list")}</td></tr>");
        }

        html.Append("</table>")
            .Append("<p class=\"muted\">The last hour: the deliveries received in it, by where they stand for each subscription now; failed counts the ")
            .Append("ones to be retried and the dead. Lag: from receipt to delivery.")
            .Append(Truncated(window)).Append(" Refreshes every 10 seconds.</p>");
        return Layout("Subscriptions", html.ToString(), refreshSeconds: 10, signOut: tokens);
    }

    private static string Source(SubscriptionSource source) => source switch
    {
        SubscriptionSource.BuiltIn => "built-in",
        SubscriptionSource.Configuration => "configuration",
        _ => "api",
    };

    private static string Truncated(SubscriptionStats.Window window) => window.Truncated
        ? $" Only the newest {SubscriptionStats.MaxWindowRows.ToString("N0", CultureInfo.InvariantCulture)} were read (from {Time(window.CoveredFrom)})."
        : "";

    public static string Page(AntiforgeryTokenSet tokens, Row row, SubscriptionStats.Window window, IReadOnlyList<SubscriptionStats.RecentDelivery> recent,
        string? changed, int? count = null)
    {
        var (s, backlog, hour, lastError) = row;
        var o = s.Options;
        var filter = string.Join("; ", new[]
        {
            o.Events.Count == 0 ? null : "events " + string.Join(", ", o.Events),
            o.Installations.Count == 0 ? null : "installations " + string.Join(", ", o.Installations),
            o.Repositories.Count == 0 ? null : "repositories " + string.Join(", ", o.Repositories),
        }.OfType<string>());
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/subscriptions\">← All subscriptions</a></p><h1>{E(s.Name)} <span class=\"muted\">{E(s.Kind.ToString().ToLowerInvariant())}</span></h1>")
            .Append(Notice(changed, count))
            .Append("<table id=\"summary\">")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>status</th>{StatusCell(s)}</tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>destination</th><td id=\"destination\">{E(Destination(s))}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>source</th><td>{E(Source(s.Source))}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>filter</th><td>{(filter.Length == 0 ? "every delivery" : E(filter))}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>ordering / concurrency</th><td>{E(o.Ordering.ToString().ToLowerInvariant())} / {o.Concurrency}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>failing since</th><td>{Time(s.FailingSince)}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>backlog</th><td id=\"backlog\">{backlog}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>last hour</th><td id=\"hour\">{hour.Total.Delivered} delivered, {hour.Total.Failed} failed, {hour.Total.Dead} dead, ")
            .Append(CultureInfo.InvariantCulture, $"{hour.Total.Pending} pending, {hour.Total.Ignored} ignored; lag p50 {Lag(hour.Total.LagP50)}, p99 {Lag(hour.Total.LagP99)}</td></tr>")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>last error</th><td><pre id=\"last-error\">{E(lastError ?? "—")}</pre></td></tr>")
            .Append("</table>")
            .Append(StatusForm(tokens, s, "page"))
            .Append(ReplayForm(tokens, s))
            .Append("<h2>Last hour</h2><p class=\"muted\">Deliveries received per minute, by where they stand now.</p>")
            .Append(SubscriptionChart.Deliveries(hour))
            .Append("<p class=\"muted\">Lag from receipt to delivery, per minute of receipt.</p>")
            .Append(SubscriptionChart.Lag(hour))
            .Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">{Truncated(window)}</p>")
            .Append("<h2>Recent deliveries</h2>");
        if (recent.Count == 0)
        {
            html.Append("<p class=\"muted\">None handed to it yet.</p>");
        }
        else
        {
            html.Append("<table id=\"recent\"><tr><th>received</th><th>delivery</th><th>event</th><th>state</th><th>attempts</th><th>finished / next attempt</th><th>status</th><th>last error / reason</th></tr>");
            foreach (var d in recent)
            {
                var state = d.State.ToString().ToLowerInvariant();
                var when = d.State is DeliveryState.Failed or DeliveryState.Pending ? "next " + Time(d.NextAttemptAt) : Time(d.ProcessedAt);
                html.Append(CultureInfo.InvariantCulture, $"<tr data-delivery=\"{E(d.DeliveryId)}\"><td>{Time(d.ReceivedAt)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td><a href=\"{E(DeliveryPath(d.App, d.DeliveryId))}\">{E(d.DeliveryId)}</a></td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{E(d.Event)}{(d.Action is null ? "" : "." + E(d.Action))}</td><td class=\"state-{state}\">{state}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td class=\"attempts\">{d.Attempts}</td><td>{E(when)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{d.LastStatus?.ToString(CultureInfo.InvariantCulture) ?? "—"}</td><td>{E(d.Why?.Split('\n')[0])}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("<p class=\"muted\">Refreshes every 10 seconds.</p>");
        return Layout(s.Name, html.ToString(), refreshSeconds: 10, signOut: tokens);
    }

    /// <summary>
    /// Sends again what this subscription was handed in a recent window, of one event when given: its rows go back to
    /// pending from any state but processing.
    /// </summary>
    private static string ReplayForm(AntiforgeryTokenSet tokens, Subscription s) =>
        $"<form id=\"replay\" method=\"post\" action=\"{E(Path(s.Name, "replay"))}\">{Hidden(tokens)}" +
        "<label>Replay what was received in the last <select name=\"since\">" +
        "<option value=\"15m\">15 minutes</option><option value=\"1h\" selected>hour</option><option value=\"6h\">6 hours</option>" +
        "<option value=\"24h\">24 hours</option><option value=\"7d\">7 days</option></select></label> " +
        "<label>event <input name=\"event\" placeholder=\"every event, or push, pull_request.closed\" size=\"32\"></label> " +
        "<button type=\"submit\" class=\"replay\">Replay</button></form>";

    public static string ReplayRefused(string name, string problem) => Layout("Replay refused",
        $"<h1>Replay refused</h1><p class=\"notice\" role=\"alert\" id=\"problem\">{E(problem)}</p><p><a href=\"{E(Path(name))}\">Back to {E(name)}</a></p>");

    public static string NotFound(string name) => Layout("Not found",
        $"<h1>Not found</h1><p>No subscription <code>{E(name)}</code>.</p><p><a href=\"/subscriptions\">Back</a></p>");
}
