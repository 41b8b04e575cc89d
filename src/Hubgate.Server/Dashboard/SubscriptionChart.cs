using System.Globalization;
using System.Text;
using Hubgate.Webhooks.Subscriptions;
using static Hubgate.Server.Dashboard.DashboardPages;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// A subscription's last hour as two SVG charts drawn on the server (the page works without scripts): the deliveries
/// received each minute, stacked by where they stand (delivered, failed, dead, pending), and the lag from receipt to
/// delivery per minute (p50 and p99). Every bar and point carries its numbers (<c>data-*</c> and a tooltip).
/// </summary>
internal static class SubscriptionChart
{
    private const int Width = 720;
    private const int Left = 48;
    private const int Right = 8;
    private const int Top = 10;
    private const int Bottom = 22;
    private const double Step = (Width - Left - Right) / (double)SubscriptionStats.Minutes;

    /// <summary>The outcomes drawn, bottom to top, with their colours.</summary>
    private static readonly (string Name, string Color, Func<SubscriptionStats.Minute, int> Count)[] Outcomes =
    [
        ("delivered", "#1a7f37", m => m.Delivered),
        ("failed", "#d4a72c", m => m.Failed),
        ("dead", "#cf222e", m => m.Dead),
        ("pending", "#8c959f", m => m.Pending),
    ];

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Clock(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture);

    /// <summary>Deliveries received per minute, stacked by outcome.</summary>
    public static string Deliveries(SubscriptionStats.Hour hour)
    {
        const int height = 180;
        var most = Math.Max(1, hour.Minutes.Max(m => Outcomes.Sum(o => o.Count(m))));
        var top = NiceCeiling(most);
        var svg = Open("chart-deliveries", height, "Deliveries received per minute in the last hour, by outcome");
        Axes(svg, hour, height, top.ToString(CultureInfo.InvariantCulture));
        var plot = height - Top - Bottom;
        for (var i = 0; i < hour.Minutes.Count; i++)
        {
            var minute = hour.Minutes[i];
            var y = (double)(height - Bottom);
            foreach (var (name, color, count) in Outcomes)
            {
                var n = count(minute);
                if (n == 0)
                {
                    continue;
                }

                var h = plot * n / (double)top;
                y -= h;
                svg.Append(CultureInfo.InvariantCulture,
                        $"<rect class=\"{name}\" data-minute=\"{Clock(minute.At)}\" data-outcome=\"{name}\" data-count=\"{n}\" x=\"{N(Left + (i * Step) + 1)}\" y=\"{N(y)}\" width=\"{N(Step - 2)}\" height=\"{N(h)}\" fill=\"{color}\">")
                    .Append(CultureInfo.InvariantCulture, $"<title>{Clock(minute.At)} UTC: {n} {name}</title></rect>");
            }
        }

        Legend(svg, Outcomes.Select(o => (o.Name, o.Color)));
        return svg.Append("</svg>").ToString();
    }

    /// <summary>The lag from receipt to delivery per minute (of the deliveries received in it and delivered): p50 and p99.</summary>
    public static string Lag(SubscriptionStats.Hour hour)
    {
        const int height = 140;
        var most = hour.Minutes.Select(m => m.LagP99 ?? TimeSpan.Zero).Max();
        var (unit, divisor) = most >= TimeSpan.FromSeconds(1) ? ("s", TimeSpan.TicksPerSecond) : ("ms", TimeSpan.TicksPerMillisecond);
        var top = NiceCeiling(Math.Max(1, (int)Math.Ceiling(most.Ticks / (double)divisor)));
        var svg = Open("chart-lag", height, "Lag from receipt to delivery per minute in the last hour, p50 and p99");
        Axes(svg, hour, height, top.ToString(CultureInfo.InvariantCulture) + " " + unit);
        var plot = height - Top - Bottom;
        foreach (var (name, color, lag) in ((string, string, Func<SubscriptionStats.Minute, TimeSpan?>)[])
                 [("p50", "#0969da", m => m.LagP50), ("p99", "#8250df", m => m.LagP99)])
        {
            var points = new List<(int Index, double X, double Y, TimeSpan Lag)>();
            for (var i = 0; i < hour.Minutes.Count; i++)
            {
                if (lag(hour.Minutes[i]) is { } value)
                {
                    var y = height - Bottom - (plot * Math.Min(1, value.Ticks / (double)divisor / top));
                    points.Add((i, Left + ((i + 0.5) * Step), y, value));
                }
            }

            if (points.Count > 1)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"<polyline class=\"lag-{name}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{string.Join(' ', points.Select(p => N(p.X) + "," + N(p.Y)))}\"/>");
            }

            foreach (var p in points)
            {
                var minute = hour.Minutes[p.Index];
                var ms = p.Lag.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
                svg.Append(CultureInfo.InvariantCulture,
                        $"<circle class=\"lag-{name}\" data-minute=\"{Clock(minute.At)}\" data-ms=\"{ms}\" cx=\"{N(p.X)}\" cy=\"{N(p.Y)}\" r=\"2.5\" fill=\"{color}\">")
                    .Append(CultureInfo.InvariantCulture, $"<title>{Clock(minute.At)} UTC: {name} {ms} ms</title></circle>");
            }
        }

        Legend(svg, [("p50", "#0969da"), ("p99", "#8250df")]);
        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder Open(string id, int height, string label) => new StringBuilder()
        .Append(CultureInfo.InvariantCulture,
            $"<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{E(label)}\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-size=\"10\" font-family=\"system-ui, sans-serif\">")
        .Append(CultureInfo.InvariantCulture, $"<title>{E(label)}</title><rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{height}\" fill=\"#fff\"/>");

    /// <summary>The frame, the top value on the left, and the time every ten minutes along the bottom.</summary>
    private static void Axes(StringBuilder svg, SubscriptionStats.Hour hour, int height, string topLabel)
    {
        var bottom = height - Bottom;
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{bottom}\" stroke=\"#d0d7de\"/>")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{bottom}\" x2=\"{Width - Right}\" y2=\"{bottom}\" stroke=\"#d0d7de\"/>")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Width - Right}\" y2=\"{Top}\" stroke=\"#eaeef2\"/>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{Top + 8}\" text-anchor=\"end\" fill=\"#57606a\">{E(topLabel)}</text>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{bottom}\" text-anchor=\"end\" fill=\"#57606a\">0</text>");
        for (var i = 0; i < hour.Minutes.Count; i += 10)
        {
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{N(Left + (i * Step))}\" y=\"{height - 6}\" fill=\"#57606a\">{Clock(hour.Minutes[i].At)}</text>");
        }
    }

    private static void Legend(StringBuilder svg, IEnumerable<(string Name, string Color)> entries)
    {
        var x = Width - Right - 70;
        foreach (var (name, color) in entries.Reverse())
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{Top}\" width=\"8\" height=\"8\" fill=\"{color}\"/><text x=\"{x + 11}\" y=\"{Top + 8}\" fill=\"#1f2328\">{name}</text>");
            x -= 70;
        }
    }

    /// <summary>1, 2, 5 × a power of ten, at least <paramref name="value"/>: a round top for the scale.</summary>
    private static int NiceCeiling(int value)
    {
        for (var power = 1; ; power *= 10)
        {
            foreach (var step in (int[])[1, 2, 5])
            {
                if (step * power >= value)
                {
                    return step * power;
                }
            }
        }
    }
}
