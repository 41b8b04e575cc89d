using System.Net;
using System.Net.Sockets;
using System.Text;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// Oversized bodies against the real server on Kestrel over loopback, spoken to over a raw socket so the test controls
/// exactly how much of the body is ever sent: the answer must come without the rest of the body.
/// </summary>
public sealed class LargeBodyTests : IDisposable
{
    private const long Cap = 25L * 1024 * 1024;
    private const string Secret = "large-body-secret";
    private readonly HubgateApplication _app;
    private readonly Uri _base;

    public LargeBodyTests()
    {
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:RunWorker"] = "false",
        });
        _app.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _app.StartServer();
        using var client = _app.CreateClient();
        _base = client.BaseAddress!;
    }

    public void Dispose() => _app.Dispose();

    /// <summary>A delivery's head (signed for <c>{}</c>, which the body never is) with the given framing header.</summary>
    internal static string Head(string framing, string secret = Secret) =>
        "POST /webhooks/github HTTP/1.1\r\n" +
        "Host: 127.0.0.1\r\n" +
        "Content-Type: application/json\r\n" +
        "X-GitHub-Event: push\r\n" +
        $"X-GitHub-Delivery: {Guid.NewGuid()}\r\n" +
        $"X-Hub-Signature-256: {WebhookFixtures.SignSha256("{}"u8.ToArray(), secret)}\r\n" +
        framing + "\r\n\r\n";

    /// <summary>Sends the head and then body bytes (in chunks, via <paramref name="frame"/>) until the server answers or <paramref name="total"/> is sent, then waits for the answer.</summary>
    private async Task<string> SendUntilAnsweredAsync(string head, long total, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> frame)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(head));

        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        var receive = new byte[4096];
        var answer = new StringBuilder();
        long sent = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (socket.Poll(sent < total ? 0 : 1_000_000, SelectMode.SelectRead))
            {
                var n = await socket.ReceiveAsync(receive, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                answer.Append(Encoding.ASCII.GetString(receive, 0, n));
                if (answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    break;
                }

                continue;
            }

            if (sent < total)
            {
                var size = (int)Math.Min(chunk.Length, total - sent);
                try
                {
                    await socket.SendAsync(frame(chunk.AsMemory(0, size)), SocketFlags.None);
                }
                catch (SocketException)
                {
                    break; // the server closed its side: read what it answered
                }

                sent += size;
            }
        }

        if (answer.Length == 0 && socket.Poll(1_000_000, SelectMode.SelectRead))
        {
            var n = socket.Receive(receive);
            answer.Append(Encoding.ASCII.GetString(receive, 0, n));
        }

        return answer.ToString();
    }

    [Fact]
    public async Task DeclaredLengthOneByteOverTheCap_413_BeforeAnyOfTheBodyIsNeeded()
    {
        // Not one body byte is sent: the server must answer from the declared length alone. (Sending the body while
        // waiting would make the test depend on how fast a loaded machine schedules the answer.)
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _base.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(Head($"Content-Length: {Cap + 1}")));

        var receive = new byte[4096];
        var answer = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await socket.ReceiveAsync(receive, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }

            answer.Append(Encoding.ASCII.GetString(receive, 0, n));
        }

        Assert.StartsWith("HTTP/1.1 413", answer.ToString(), StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ChunkedBodyOverTheCap_413_AsSoonAsTheCapIsPassed()
    {
        // Only 1 MiB past the cap is ever sent, and the body is never terminated: if the server needed more than the
        // cap plus one byte before answering, no answer would come.
        var answer = await SendUntilAnsweredAsync(Head("Transfer-Encoding: chunked"), Cap + (1024 * 1024), body =>
        {
            var prefix = Encoding.ASCII.GetBytes($"{body.Length:x}\r\n");
            var framed = new byte[prefix.Length + body.Length + 2];
            prefix.CopyTo(framed, 0);
            body.CopyTo(framed.AsMemory(prefix.Length));
            "\r\n"u8.CopyTo(framed.AsSpan(prefix.Length + body.Length));
            return framed;
        });

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
    }
}
