using System.Net;
using System.Net.Sockets;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Which network addresses an HTTP subscription may be delivered to. Subscribers are internal services, so private
/// ranges are allowed; what is never allowed is an address that reaches the host itself or its cloud platform's
/// credentials: link-local (169.254.0.0/16 — AWS, GCP and Azure metadata — and fe80::/10), the cloud metadata and
/// wire-server addresses outside it (AWS's fd00:ec2::254, Alibaba's 100.100.100.200, Azure's 168.63.129.16), the
/// unspecified, multicast, broadcast and reserved ranges. Loopback (127.0.0.0/8, ::1) only with
/// <c>Subscriptions:AllowLoopback</c> (tests, a sidecar). IPv4-mapped IPv6 addresses are judged as the IPv4 address.
/// The check runs on the addresses a name resolves to, at connect time (<see cref="SafeConnect"/>).
/// </summary>
internal static class DestinationAddressPolicy
{
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");
    private static readonly IPAddress AlibabaMetadata = IPAddress.Parse("100.100.100.200");
    private static readonly IPAddress AzureWireServer = IPAddress.Parse("168.63.129.16");

    /// <summary>Null when <paramref name="address"/> may be connected to; otherwise why not.</summary>
    public static string? Refusal(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return allowLoopback ? null : "a loopback address (allowed only with Subscriptions:AllowLoopback)";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return b[0] switch
            {
                0 => "an unspecified (0.0.0.0/8) address",
                169 when b[1] == 254 => "a link-local address (169.254.0.0/16, where cloud metadata services answer)",
                >= 224 and <= 239 => "a multicast address",
                >= 240 => "a reserved or broadcast address",
                _ when address.Equals(AlibabaMetadata) || address.Equals(AzureWireServer) => "a cloud metadata address",
                _ => null,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
            {
                return "the unspecified address";
            }

            if (address.IsIPv6LinkLocal)
            {
                return "a link-local address (fe80::/10)";
            }

            if (address.IsIPv6Multicast)
            {
                return "a multicast address";
            }

            var scopeless = new IPAddress(address.GetAddressBytes());
            if (scopeless.Equals(AwsMetadataV6))
            {
                return "a cloud metadata address";
            }

            return null;
        }

        return "not an IP address";
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves the host, refuses the connection if ANY address it
    /// resolves to is refused (a name that mixes an allowed and a forbidden address is not trusted), then connects to the
    /// allowed addresses in order. Checking here, not on the URL, is what stops a name that resolves elsewhere later.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> SafeConnect(bool allowLoopback) =>
        async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new DestinationRefusedException($"{host} resolves to no address.");
            }

            foreach (var address in addresses)
            {
                if (Refusal(address, allowLoopback) is { } why)
                {
                    throw new DestinationRefusedException($"{host} resolves to {address}, {why}: subscriptions are never delivered there.");
                }
            }

            SocketException? last = null;
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    last = e;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw last!;
        };
}
