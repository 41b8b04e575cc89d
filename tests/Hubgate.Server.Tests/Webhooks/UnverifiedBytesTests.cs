using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// Memory before the signature: bodies are held in pooled chunks as their bytes arrive, never at the length a client
/// declares, and the total held unverified is bounded by <c>Webhooks:MaxUnverifiedBytesInFlight</c> (past it, 503).
/// Clients here are raw sockets to 127.0.0.1 that declare GitHub's largest body and send almost none of it.
/// </summary>
public sealed class UnverifiedBytesTests
{
    private const string Secret = "unverified-secret";
    private const long Declared = 25L * 1024 * 1024;

    /// <summary>A connection that declared <see cref="Declared"/> bytes and sent <paramref name="bodyBytes"/> of them.</summary>
    private static async Task<Socket> HoldAsync(int port, int bodyBytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(LargeBodyTests.Head($"Content-Length: {Declared}", Secret)));
        var body = new byte[bodyBytes];
        Array.Fill(body, (byte)' ');
        body[0] = (byte)'{';
        try
        {
            await socket.SendAsync(body);
        }
        catch (SocketException)
        {
            // answered and closed before all of it was sent: the answer is read later
        }

        return socket;
    }

    /// <summary>What the server has answered on <paramref name="socket"/> so far (empty when nothing yet).</summary>
    private static string AnswerSoFar(Socket socket)
    {
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (answer.Length < 64 * 1024 && socket.Poll(0, SelectMode.SelectRead))
            {
                var n = socket.Receive(buffer);
                if (n == 0)
                {
                    break;
                }

                answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException)
        {
            // reset by the server: nothing more to read
        }

        return answer.ToString();
    }

    private static async Task<long?> UnverifiedBytesAsync(HttpClient client)
    {
        var scrape = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith("hubgate_webhook_unverified", StringComparison.Ordinal));
        return line is null ? null : (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task TwoHundredConnectionsDeclaring25MiB_OneByteEach_UnderA512MiBHeap_NoneFails_RealDeliveriesStillServed()
    {
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var settings = TestDatabase.Settings(directory);
            settings["GitHub:WebhookSecret"] = Secret;
            settings["Webhooks:RunWorker"] = "false";
            settings["DOTNET_GCHeapHardLimit"] = "0x20000000"; // 512 MiB, as a container sets it
            var server = await ServerProcess.StartAsync(settings);
            await using (server)
            {
                using var client = server.CreateClient();
                var attackers = new List<Socket>();
                try
                {
                    for (var i = 0; i < 200; i++)
                    {
                        attackers.Add(await HoldAsync(server.BaseAddress.Port, bodyBytes: 1));
                    }

                    // Until the server holds all of them (a chunk each), within a bound; the assertions below do not depend on it.
                    for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(15); await Task.Delay(100))
                    {
                        if (await UnverifiedBytesAsync(client) >= 200L * 1024)
                        {
                            break;
                        }
                    }

                    for (var i = 0; i < 5; i++)
                    {
                        using var real = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), Secret, $"real-{i}");
                        using var response = await client.SendAsync(real);
                        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                    }

                    var answers = attackers.Select(AnswerSoFar).Where(a => a.Length > 0).ToList();
                    Assert.DoesNotContain(answers, a => a.StartsWith("HTTP/1.1 5", StringComparison.Ordinal));
                    Assert.False(server.HasExited, server.Output);
                    Assert.DoesNotContain("OutOfMemory", server.Output, StringComparison.Ordinal);
                }
                finally
                {
                    foreach (var socket in attackers)
                    {
                        socket.Dispose();
                    }
                }
            }
        }
        finally
        {
            TestDatabase.Delete(directory);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task PastTheBound_503WithRetryAfter_AndOnceTheHoldersGo_DeliveriesAreAcceptedAgain()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:RunWorker"] = "false",
            ["Webhooks:MaxUnverifiedBytesInFlight"] = Declared.ToString(CultureInfo.InvariantCulture), // the least allowed
        });
        app.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        app.StartServer();
        using var client = app.CreateClient();
        var port = client.BaseAddress!.Port;

        var holders = new List<Socket>();
        try
        {
            // 40 × 1 MiB unverified against a bound of 25 MiB.
            for (var i = 0; i < 40; i++)
            {
                holders.Add(await HoldAsync(port, bodyBytes: 1024 * 1024));
            }

            var answers = new string[holders.Count];
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
            {
                for (var i = 0; i < holders.Count; i++)
                {
                    answers[i] += AnswerSoFar(holders[i]);
                }

                if (answers.Count(a => !string.IsNullOrEmpty(a)) >= 10)
                {
                    break;
                }
            }

            var refused = answers.Where(a => !string.IsNullOrEmpty(a)).ToList();
            Assert.InRange(refused.Count, 10, 39); // past the bound, not everyone
            Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.Contains("Webhooks:MaxUnverifiedBytesInFlight", StringComparison.Ordinal));
            Assert.All(refused, a =>
            {
                Assert.StartsWith("HTTP/1.1 503", a, StringComparison.Ordinal);
                Assert.Contains("Retry-After: 5", a, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("Webhooks:MaxUnverifiedBytesInFlight", a, StringComparison.Ordinal);
            });
        }
        finally
        {
            foreach (var socket in holders)
            {
                socket.Dispose();
            }
        }

        // The holders are gone: their chunks go back as the server sees each connection end.
        HttpStatusCode status = default;
        for (var i = 0; i < 100 && status != HttpStatusCode.Accepted; i++)
        {
            await Task.Delay(i == 0 ? 0 : 100);
            using var real = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), Secret, "after-the-holders");
            status = (await client.SendAsync(real)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Accepted, status);
    }
}
