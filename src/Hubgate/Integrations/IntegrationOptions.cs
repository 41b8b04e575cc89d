using Microsoft.Extensions.Options;

namespace Hubgate.Integrations;

/// <summary>How webhooks become the model (<c>Integrations:*</c>).</summary>
public sealed class IntegrationOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Integrations";

    /// <summary>
    /// Commits whose message contains this text (any case) are not stored. Empty turns skipping off.
    /// </summary>
    public string SkipCommitMarker { get; set; } = "[skip hubgate]";
}

/// <summary>The periodic repair of the model from GitHub's own lists (<c>GitHub:SyncInterval</c>).</summary>
public sealed class SyncOptions
{
    /// <summary>
    /// How often to sync installations and repositories with GitHub (6 h, at most 365 days); <see cref="TimeSpan.Zero"/>
    /// turns it off. A negative value is refused at start-up.
    /// </summary>
    [ConfigurationRange("GitHub:SyncInterval", typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromHours(6);
}

/// <summary>The range of <see cref="SyncOptions.SyncInterval"/>, checked at start-up by generated code.</summary>
[OptionsValidator]
internal sealed partial class SyncOptionsValidator : IValidateOptions<SyncOptions>;
