using Hubgate.Server.Access;
using Hubgate.Server.Api;
using Hubgate.Server.Authentication;
using Hubgate.Server.Dashboard;
using Hubgate.Server.Health;
using Hubgate.Server.Hosting;
using Hubgate.Server.Integrations;
using Hubgate.Server.Proxy;
using Hubgate.Server.Setup;
using Hubgate.Server.Storage;
using Hubgate.Server.Subscriptions;
using Hubgate.Server.Telemetry;
using Hubgate.Server.Webhooks;

// `hubgate <command>` runs an operator command; no command (or `serve`) runs the service.
if (Hubgate.Server.Cli.HubgateCommand.TryGetCommand(args, out var command))
{
    return await command;
}

// `hubgate demo`: the same service against an embedded fake GitHub, with a story played through it.
var (demo, demoExit) = await Hubgate.Server.Demo.DemoCommand.StartIfAskedAsync(args);
if (demoExit is { } exit)
{
    return exit;
}

await using var demoDisposal = demo;
var builder = HubgateHost.CreateBuilder(demo is null ? Hubgate.Server.Cli.HubgateCommand.ServeArguments(args) : []);
demo?.Configure(builder);
builder.UseDefaultAddress();

builder.AddStorage();
builder.AddApiKey();
builder.AddGitHubApp();
builder.AddProxy();
builder.AddWebhooks();
builder.AddIntegrations();
builder.AddApiDocs();
builder.AddTelemetry();
builder.AddDashboard();
builder.AddAppSetup();

// Disposed on every way out: the console logger writes from a queue of its own, and only disposing it flushes the
// line that says why the service did not start (it was lost, now and then, under load).
await using var app = builder.Build();
if (!await app.PrepareDatabaseAsync())
{
    return 2; // said in one line which database could not be reached or migrated
}

app.MapHealth();
app.MapDashboard();
app.MapProxy();
app.MapWebhooks();
app.MapSubscriptionsApi();
app.MapSubscriptionStreams();
app.MapIntegrations();
app.MapClients();
app.MapAppSetup();
app.MapTokenVending();
app.MapApiDocs();
app.MapTelemetry();

if (demo is not null)
{
    return await demo.RunAsync(app);
}

await app.RunAsync();
return 0;

/// <summary>The service's entry point (public so integration tests can host it).</summary>
public partial class Program;
