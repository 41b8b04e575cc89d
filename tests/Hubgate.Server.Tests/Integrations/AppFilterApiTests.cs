using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Integrations;

/// <summary>
/// The API with two Apps' rows in the store — the same installation id and delivery id from <c>default</c> and from
/// <c>ghes</c>: every row says its App, <c>?app=</c> filters the lists and picks the one row, and the cursor of an
/// unfiltered list passes between two Apps' rows of the same id.
/// </summary>
public sealed class AppFilterApiTests : IAsyncLifetime
{
    private const string ApiKey = "app-filter-api-key-7d21";
    private const string Secret = "app-filter-secret";
    private const string Ghes = "ghes";
    private const long Installation = 957387;
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync() => _gitHub = await FakeGitHubServer.StartAsync();

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    [Fact]
    public async Task TwoAppsWithTheSameIds_ApiShowsEachRowsApp_FiltersByApp_AndPagesBetweenThem()
    {
        using var app = new HubgateApplication(ModelDeliveries.Settings(_gitHub, ApiKey, Secret));
        using var client = ModelDeliveries.Client(app, ApiKey);
        var created = WebhookFixtures.Load("installation", "created.payload.json");
        await ModelDeliveries.SendAsync(client, Secret, "installation", created, "same-id");
        // Until the per-App webhook route exists, the ghes App's delivery goes into the inbox as its receiver will put it.
        Assert.Equal(InboxOutcome.Stored, await app.Services.GetRequiredService<WebhookInbox>().StoreAsync(Ghes, new WebhookDeliveryEntity
        {
            DeliveryId = "same-id",
            Event = "installation",
            Action = "created",
            InstallationId = Installation,
            ReceivedAt = DateTimeOffset.UtcNow,
            Body = created,
            BodySha256 = Convert.ToHexStringLower(SHA256.HashData(created)),
        }));
        await ModelDeliveries.WaitProcessedAsync(client, "same-id");
        await ModelDeliveries.WaitProcessedAsync(client, "same-id", Ghes);

        var all = await GetAsync(client, "/api/installations");
        Assert.Equal([(Installation, StoredApp.Default), (Installation, Ghes)], Installations(all));
        Assert.Equal([(Installation, Ghes)], Installations(await GetAsync(client, "/api/installations?app=ghes")));
        var first = await GetAsync(client, "/api/installations?limit=1");
        Assert.Equal((Installation, StoredApp.Default), (first.GetProperty("nextAfter").GetInt64(), first.GetProperty("nextAfterApp").GetString()));
        Assert.Equal([(Installation, Ghes)], Installations(await GetAsync(client, $"/api/installations?limit=1&after={Installation}&after_app=default")));

        Assert.Equal(StoredApp.Default, (await GetAsync(client, $"/api/installations/{Installation}")).GetProperty("app").GetString());
        Assert.Equal(Ghes, (await GetAsync(client, $"/api/installations/{Installation}?app=ghes")).GetProperty("app").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri($"/api/installations/{Installation}?app=other", UriKind.Relative))).StatusCode);
        var repositories = (await GetAsync(client, $"/api/installations/{Installation}/repositories?app=ghes")).GetProperty("repositories").EnumerateArray().ToList();
        Assert.NotEmpty(repositories);
        Assert.All(repositories, r => Assert.Equal(Ghes, r.GetProperty("app").GetString()));
        var repository = repositories[0].GetProperty("id").GetInt64();
        Assert.Equal(Ghes, (await GetAsync(client, $"/api/repositories/{repository}?app=ghes")).GetProperty("app").GetString());
        Assert.Equal(StoredApp.Default, (await GetAsync(client, $"/api/repositories/{repository}")).GetProperty("app").GetString());

        Assert.Equal([StoredApp.Default, Ghes], Deliveries(await GetAsync(client, "/api/deliveries")).Order(StringComparer.Ordinal));
        Assert.Equal([Ghes], Deliveries(await GetAsync(client, "/api/deliveries?app=ghes")));
        Assert.Equal(Ghes, (await GetAsync(client, "/api/deliveries/same-id?app=ghes")).GetProperty("delivery").GetProperty("app").GetString());
    }

    private static IEnumerable<(long Id, string App)> Installations(JsonElement page) =>
        page.GetProperty("installations").EnumerateArray().Select(i => (i.GetProperty("id").GetInt64(), i.GetProperty("app").GetString()!));

    private static IEnumerable<string> Deliveries(JsonElement page) =>
        page.GetProperty("deliveries").EnumerateArray().Where(d => d.GetProperty("deliveryId").GetString() == "same-id").Select(d => d.GetProperty("app").GetString()!);

    private static async Task<JsonElement> GetAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
