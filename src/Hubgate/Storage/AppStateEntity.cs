namespace Hubgate.Storage;

/// <summary>Small key/value facts the process keeps across restarts (clock offset to GitHub, hook id).</summary>
public class AppStateEntity
{
    public required string Key { get; set; }
    public string? Value { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
