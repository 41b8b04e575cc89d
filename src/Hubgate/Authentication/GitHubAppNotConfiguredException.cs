namespace Hubgate.Authentication;

/// <summary>The App's credentials are not configured; the message names the missing keys.</summary>
public sealed class GitHubAppNotConfiguredException : InvalidOperationException
{
    public GitHubAppNotConfiguredException(IReadOnlyList<string> missingKeys)
        : base($"The GitHub App is not configured: set {string.Join(" and ", missingKeys)}.")
    {
        MissingKeys = missingKeys;
    }

    public GitHubAppNotConfiguredException()
        : this(["GitHub:AppId", "GitHub:PrivateKeyPath"])
    {
    }

    public GitHubAppNotConfiguredException(string message)
        : base(message)
    {
        MissingKeys = [];
    }

    public GitHubAppNotConfiguredException(string message, Exception innerException)
        : base(message, innerException)
    {
        MissingKeys = [];
    }

    /// <summary>The configuration keys to set.</summary>
    public IReadOnlyList<string> MissingKeys { get; }
}
