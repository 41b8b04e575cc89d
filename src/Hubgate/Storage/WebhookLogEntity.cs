namespace Hubgate.Storage;

/// <summary>
/// SQLite with the delivery log: how far the inbox's rows cover the log. One row (<see cref="Id"/> 1), written in the
/// same transaction as the rows it covers, so that after a crash exactly the records beyond it are indexed again.
/// </summary>
internal class WebhookLogEntity
{
    public int Id { get; set; }

    /// <summary>Every log record up to this sequence has its inbox row (or lost to one already stored).</summary>
    public long IndexedThrough { get; set; }
}
