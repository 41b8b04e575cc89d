namespace Hubgate;

/// <summary>
/// The base of every exception Hubgate itself throws, so that one <c>catch (HubgateException)</c> covers them. The
/// areas have bases of their own: <see cref="HubgateConfigurationException"/> (a setting is missing or wrong),
/// <see cref="Authentication.GitHubApiException"/> (GitHub answered an error, or could not be reached),
/// <see cref="Authentication.GitHubCredentialsRefusedException"/> (Hubgate would not send the App's credentials),
/// <see cref="Storage.HubgateStorageException"/> (the database failed) and <see cref="Webhooks.WebhookHandlerException"/>
/// (a webhook handler failed). Messages say what was wrong and what to do, and never hold a token, key or secret.
/// </summary>
public abstract class HubgateException : Exception
{
    /// <summary>An exception with Hubgate's default message.</summary>
    protected HubgateException()
    {
    }

    /// <summary>An exception with <paramref name="message"/>.</summary>
    protected HubgateException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    protected HubgateException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
