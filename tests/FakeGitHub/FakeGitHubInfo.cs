namespace FakeGitHub;

/// <summary>The fake GitHub API server (filled in with the authorization work).</summary>
public static class FakeGitHubInfo
{
    public const string Name = "FakeGitHub";
}
