namespace Hubgate;

/// <summary>
/// A setting Hubgate needs is missing or cannot be used (an App's credentials or key, an App's name, the data
/// directory). The message names the configuration key to set or fix. Settings that are wrong at start-up fail
/// earlier, with <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.
/// </summary>
public abstract class HubgateConfigurationException : HubgateException
{
    /// <summary>An exception with Hubgate's default message.</summary>
    protected HubgateConfigurationException()
    {
    }

    /// <summary>An exception with <paramref name="message"/>, which names the key.</summary>
    protected HubgateConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with <paramref name="message"/>, which names the key, caused by <paramref name="innerException"/>.</summary>
    protected HubgateConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
