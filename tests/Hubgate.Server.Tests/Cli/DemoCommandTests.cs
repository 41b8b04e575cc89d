using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Cli;

/// <summary>
/// <c>hubgate demo</c> as a user runs it: its own process, no configuration, the story told through the real pipeline,
/// then Ctrl-C (SIGINT by PID). SQLite pass only: the demo keeps its own SQLite database whatever the run's database is.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed partial class DemoCommandTests
{
    private static readonly TimeSpan StoryBound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Demo_TellsTheStoryThroughThePipeline_ThenStopsCleanlyOnCtrlC_AndRemovesItsData()
    {
        var port = ServerProcess.FreePort();
        await using var demo = ServerProcess.StartCommand(new Dictionary<string, string?>(), new Uri($"http://127.0.0.1:{port}/"),
            "demo", "--no-browser", "--port", port.ToString(CultureInfo.InvariantCulture));

        await demo.WaitForOutputAsync("The story is done.", StoryBound);

        var output = demo.Output;
        Assert.DoesNotContain("The story stopped", output);
        foreach (var step in new[]
                 {
                     "sends the installation webhook", "the push webhook", "(action opened)", "(action closed, merged)",
                     "through Hubgate's proxy", "with Octokit from GitHubClientFactory", "Attempt 1 failed", "processed after 2 attempt(s)",
                 })
        {
            Assert.Contains(step, output);
        }

        Assert.Contains($"http://127.0.0.1:{port}/deliveries/", output);
        var data = DataFolder().Match(output).Groups[1].Value;
        Assert.True(Directory.Exists(data), $"The demo's data folder '{data}' should exist while it runs:\n{output}");

        using var client = demo.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey().Match(output).Groups[1].Value);
        using var page = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/deliveries?limit=50", UriKind.Relative)));
        var deliveries = page.RootElement.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(5, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal("processed", d.GetProperty("state").GetString()));
        var retried = Assert.Single(deliveries, d => d.GetProperty("attempts").GetInt32() == 2);
        Assert.Equal("push", retried.GetProperty("event").GetString());
        Assert.Equal(4, deliveries.Count(d => d.GetProperty("attempts").GetInt32() == 1));

        var exit = await demo.InterruptAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exit);
        Assert.False(Directory.Exists(data), $"The demo's temporary data '{data}' should be removed at exit:\n{demo.Output}");
        Assert.Contains($"Removed {data}.", demo.Output);
    }

    [Fact]
    public async Task Demo_OnAPortInUse_SaysSoAndExits()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var (exit, _, error) = await ServerProcess.RunCommandAsync(new Dictionary<string, string?>(), "demo", "--no-browser", "--port",
            port.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(2, exit);
        Assert.Contains($"port {port} is in use", error);
    }

    [GeneratedRegex(@"Data: (\S+) \(temporary")]
    private static partial Regex DataFolder();

    [GeneratedRegex(@"admin key (hg_\S+)")]
    private static partial Regex AdminKey();
}
