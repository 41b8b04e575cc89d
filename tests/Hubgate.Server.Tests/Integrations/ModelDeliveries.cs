using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Integrations;

/// <summary>Signed deliveries into the running service and waiting for the worker to finish them, for the model's tests.</summary>
internal static class ModelDeliveries
{
    /// <summary>The service as the App of <paramref name="gitHub"/>, with a webhook secret, an API key and a quick worker.</summary>
    public static Dictionary<string, string?> Settings(FakeGitHubServer gitHub, string apiKey, string secret) => new()
    {
        ["Hubgate:ApiKey"] = apiKey,
        ["GitHub:WebhookSecret"] = secret,
        ["GitHub:AppId"] = gitHub.AppId.ToString(CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem,
        ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
        ["Webhooks:PollInterval"] = "00:00:00.050",
    };

    /// <summary>A client of the service carrying the API key.</summary>
    public static HttpClient Client(HubgateApplication app, string apiKey)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>Posts the delivery to <c>/webhooks/github</c>, signed with <paramref name="secret"/>; asserts 202.</summary>
    public static async Task SendAsync(HttpClient client, string secret, string @event, byte[] body, string deliveryId)
    {
        using var request = WebhookFixtures.Delivery("/webhooks/github", @event, body, secret, deliveryId);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(request)).StatusCode);
    }

    /// <summary>
    /// Polls <c>/api/deliveries/{id}</c> (of <paramref name="app"/>, else the default App; the client carries the API key)
    /// until it is processed; fails on any other end.
    /// </summary>
    public static async Task WaitProcessedAsync(HttpClient client, string deliveryId, string? app = null)
    {
        var state = "";
        for (var i = 0; i < 400 && state != "processed"; i++)
        {
            var response = await client.GetAsync(new Uri($"/api/deliveries/{deliveryId}{(app is null ? "" : "?app=" + app)}", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                state = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("delivery").GetProperty("state").GetString()!;
            }

            if (state is "failed" or "dead" or "ignored")
            {
                Assert.Fail($"{deliveryId} ended {state}: {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(state == "processed" ? 0 : 50);
        }

        Assert.Equal("processed", state);
    }
}
