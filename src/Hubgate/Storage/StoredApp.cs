namespace Hubgate.Storage;

/// <summary>
/// The App column every stored row carries (installations, repositories, deliveries, tokens, …): installation ids are
/// unique only within one GitHub instance and delivery ids only per App, so rows are keyed by App. Rows from before
/// several Apps were supported belong to <see cref="Default"/>.
/// </summary>
internal static class StoredApp
{
    /// <summary>
    /// The App named <c>default</c> (today's <c>GitHub:*</c> settings): the App of migrated rows, and the one callers not
    /// yet told which App they act for use. The same name as the registry's <c>GitHubApp.DefaultName</c>.
    /// </summary>
    public const string Default = "default";

    /// <summary>The longest App name (<c>[a-z0-9-]{1,64}</c>).</summary>
    public const int MaxLength = 64;
}
