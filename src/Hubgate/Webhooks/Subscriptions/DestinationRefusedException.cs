namespace Hubgate.Webhooks.Subscriptions;

/// <summary>An HTTP subscription's destination resolves to an address deliveries are never sent to (see <see cref="DestinationAddressPolicy"/>).</summary>
internal sealed class DestinationRefusedException : HttpRequestException
{
    public DestinationRefusedException(string message) : base(message)
    {
    }

    public DestinationRefusedException()
    {
    }

    public DestinationRefusedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
