namespace Hubgate.Authentication;

/// <summary>The App's credentials are not configured; the message names the missing keys.</summary>
public sealed class GitHubAppNotConfiguredException : InvalidOperationException
{
    /// <summary>Names the configuration keys to set.</summary>
    public GitHubAppNotConfiguredException(IReadOnlyList<string> missingKeys)
        : base($"The GitHub App is not configured: set {string.Join(" and ", missingKeys)}.")
    {
        MissingKeys = missingKeys;
    }

    /// <summary>The default App's identity keys (<c>GitHub:AppId</c>, <c>GitHub:PrivateKeyPath</c>) are missing.</summary>
    public GitHubAppNotConfiguredException()
        : this(["GitHub:AppId", "GitHub:PrivateKeyPath"])
    {
    }

    /// <summary>With a message of the caller's.</summary>
    public GitHubAppNotConfiguredException(string message)
        : base(message)
    {
        MissingKeys = [];
    }

    /// <summary>With a message of the caller's and the exception that caused it.</summary>
    public GitHubAppNotConfiguredException(string message, Exception innerException)
        : base(message, innerException)
    {
        MissingKeys = [];
    }

    /// <summary>The configuration keys to set.</summary>
    public IReadOnlyList<string> MissingKeys { get; }
}
