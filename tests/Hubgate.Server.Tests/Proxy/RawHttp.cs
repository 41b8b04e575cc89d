using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>
/// Sends a request with its target byte for byte (HttpClient would normalise <c>%69</c> or dot segments) to a server
/// on loopback, and reads the answer until the server closes the connection.
/// </summary>
internal static class RawHttp
{
    public sealed record Answer(int Status, string Text);

    public static async Task<Answer> SendAsync(Uri server, string method, string target, string? bearer)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(IPAddress.Loopback, server.Port, timeout.Token);
        var head = $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nUser-Agent: raw-http-test\r\nConnection: close\r\n" +
                   (bearer is null ? string.Empty : $"Authorization: Bearer {bearer}\r\n") +
                   (method is "GET" or "HEAD" ? string.Empty : "Content-Length: 0\r\n") + "\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), timeout.Token);

        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        for (var read = 0; (read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0;)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        var answer = text.ToString();
        var status = answer.Length > 12 ? int.Parse(answer.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new Answer(status, answer);
    }
}
