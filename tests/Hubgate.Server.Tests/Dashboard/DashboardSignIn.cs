using System.Net;
using System.Text.RegularExpressions;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Hubgate.Server.Tests.Dashboard;

/// <summary>The dashboard as a browser without scripts uses it: the sign-in form, and forms posted with the page's antiforgery field.</summary>
internal static partial class DashboardSignIn
{
    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]+)\">")]
    private static partial Regex HiddenField();

    /// <summary>A browser (cookies kept, redirects not followed) after posting the sign-in form with <paramref name="key"/>.</summary>
    public static async Task<(HttpClient Browser, HttpResponseMessage Answer)> SignInAsync(HubgateApplication app, string key)
    {
        var browser = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        using var form = Form(await browser.GetStringAsync(new Uri("/signin", UriKind.Relative)), ("apiKey", key));
        return (browser, await browser.PostAsync(new Uri("/signin", UriKind.Relative), form));
    }

    /// <summary>A form as <paramref name="page"/> would post it: its antiforgery field, and <paramref name="fields"/>.</summary>
    public static FormUrlEncodedContent Form(string page, params (string Name, string Value)[] fields)
    {
        var hidden = HiddenField().Match(page);
        Assert.True(hidden.Success, "the page has no antiforgery field");
        return new FormUrlEncodedContent([
            new(hidden.Groups[1].Value, WebUtility.HtmlDecode(hidden.Groups[2].Value)),
            .. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))]);
    }
}
