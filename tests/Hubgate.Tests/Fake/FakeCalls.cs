using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Tests.Infrastructure;

namespace Hubgate.Tests.Fake;

/// <summary>Plain HTTP calls to a fake GitHub, as a browser or an App would make them, without Hubgate in between.</summary>
internal sealed class FakeCalls
{
    /// <summary>One client for every test (no redirects followed: the tests look at GitHub's 302s).</summary>
    private static readonly HttpClient Shared = CreateClient();

    private readonly HttpClient _client = Shared;

    private static HttpClient CreateClient()
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fake-tests", "1.0"));
        return client;
    }

    public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>A JWT of <paramref name="app"/>, signed with its key, with its id as <c>iss</c>.</summary>
    public static string JwtOf(FakeGitHubServer server, FakeApp app) => Jwt.Sign(app.PrivateKeyPem, app.Id, server.Clock.UtcNow);

    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        HttpMethod method, Uri url, string? credential = null, object? json = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        if (json is not null)
        {
            request.Content = JsonContent.Create(json);
        }

        var response = await _client.SendAsync(request, Timeout);
        var text = await response.Content.ReadAsStringAsync(Timeout);
        var body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(text).RootElement.Clone()
            : default;
        return (response.StatusCode, body, response);
    }

    public Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(Uri url, string? credential = null) =>
        SendAsync(HttpMethod.Get, url, credential);

    /// <summary>Mints an installation token with <paramref name="jwt"/>; asserts GitHub's 201.</summary>
    public async Task<string> MintAsync(FakeGitHubServer server, long installationId, string jwt)
    {
        var (status, body, _) = await SendAsync(HttpMethod.Post, new Uri(server.ApiBaseUrl, $"app/installations/{installationId}/access_tokens"), jwt, new { });
        Assert.Equal(HttpStatusCode.Created, status);
        return body.GetProperty("token").GetString()!;
    }

    /// <summary>Posts a manifest form as the browser does; <paramref name="query"/> is appended to the form's action.</summary>
    public async Task<HttpResponseMessage> PostManifestAsync(FakeGitHubServer server, string? organization, string? manifest, string? state = null, string query = "")
    {
        var path = organization is null ? "settings/apps/new" : $"organizations/{organization}/settings/apps/new";
        var fields = new Dictionary<string, string>();
        if (manifest is not null)
        {
            fields["manifest"] = manifest;
        }

        if (state is not null)
        {
            fields["state"] = state;
        }

        return await PostFormAsync(new Uri(server.WebBaseUrl, path + query), fields);
    }

    public async Task<HttpResponseMessage> PostFormAsync(Uri url, Dictionary<string, string> fields)
    {
        using var form = new FormUrlEncodedContent(fields);
        return await _client.PostAsync(url, form, Timeout);
    }
}
