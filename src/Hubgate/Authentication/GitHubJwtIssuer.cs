namespace Hubgate.Authentication;

/// <summary><c>GitHub:JwtIssuer</c>: which identifier the App's JWT carries as <c>iss</c>.</summary>
public enum GitHubJwtIssuer
{
    /// <summary>
    /// The client id when it is set, except that a host other than github.com (or GHE.com) gets the numeric App id
    /// when both are set: GitHub Enterprise Server 3.13 and older accept only the App id.
    /// </summary>
    Auto,

    /// <summary>Always the numeric <c>GitHub:AppId</c>.</summary>
    AppId,

    /// <summary>Always <c>GitHub:ClientId</c>.</summary>
    ClientId,
}
