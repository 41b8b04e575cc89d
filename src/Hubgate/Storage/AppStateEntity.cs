namespace Hubgate.Storage;

/// <summary>Small key/value facts the process keeps across restarts (clock offset to GitHub, hook id).</summary>
internal class AppStateEntity
{
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public required string Key { get; set; }
    public string? Value { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
