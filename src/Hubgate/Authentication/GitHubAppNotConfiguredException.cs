namespace Hubgate.Authentication;

/// <summary>The App's credentials are not configured; the message names the missing keys.</summary>
public sealed class GitHubAppNotConfiguredException : HubgateConfigurationException
{
    /// <summary>The App cannot authenticate until <paramref name="missingKeys"/> are set.</summary>
    public GitHubAppNotConfiguredException(IReadOnlyList<string> missingKeys)
        : base($"The GitHub App is not configured: set {string.Join(" and ", missingKeys)}.")
    {
        MissingKeys = missingKeys;
    }

    /// <summary>The App of the <c>GitHub:*</c> keys is not configured (App id and private key missing).</summary>
    public GitHubAppNotConfiguredException()
        : this(["GitHub:AppId", "GitHub:PrivateKeyPath"])
    {
    }

    /// <summary>An exception with <paramref name="message"/>, which names the keys.</summary>
    public GitHubAppNotConfiguredException(string message)
        : base(message)
    {
        MissingKeys = [];
    }

    /// <summary>An exception with <paramref name="message"/>, which names the keys, caused by <paramref name="innerException"/>.</summary>
    public GitHubAppNotConfiguredException(string message, Exception innerException)
        : base(message, innerException)
    {
        MissingKeys = [];
    }

    /// <summary>The configuration keys to set.</summary>
    public IReadOnlyList<string> MissingKeys { get; }
}
