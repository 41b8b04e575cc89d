namespace Hubgate.Storage;

/// <summary>
/// Hubgate's database failed: it could not be reached or migrated (<see cref="DatabaseUnavailableException"/>), or it
/// could not commit a delivery (<see cref="Webhooks.DeliveryStoreException"/>). The message names the provider or
/// the operation; <see cref="Exception.InnerException"/> is the provider's own error.
/// </summary>
public abstract class HubgateStorageException : HubgateException
{
    /// <summary>An exception with Hubgate's default message.</summary>
    protected HubgateStorageException()
    {
    }

    /// <summary>An exception with <paramref name="message"/>.</summary>
    protected HubgateStorageException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    protected HubgateStorageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
