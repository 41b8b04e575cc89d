using Hubgate.Webhooks.Store.Log;

namespace Hubgate.LogBench;

/// <summary>Hubgate's own segment log: gathered <c>RandomAccess</c> writes, one <c>fdatasync</c> per batch, CRC-32C per record.</summary>
internal sealed class SegmentDesign(SegmentLog log, string directory) : ILogDesign
{
    private SegmentLog? _log = log;

    public static async Task<ILogDesign> OpenAsync(string directory, CancellationToken cancellationToken) =>
        new SegmentDesign(await SegmentLog.OpenAsync(new SegmentLogOptions(directory), cancellationToken).ConfigureAwait(false), directory);

    public bool Blocking => false;

    public async ValueTask AppendAsync(byte[] record, CancellationToken cancellationToken) =>
        await _log!.AppendAsync(record, cancellationToken).ConfigureAwait(false);

    public async Task<long> ReopenAndScanAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync().ConfigureAwait(false);
        long count = 0;
        await foreach (var item in SegmentLogReader.ReadAsync(directory, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (item is not LogRecord)
            {
                throw new InvalidOperationException($"Unexpected {item}");
            }

            count++;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
            _log = null;
        }
    }
}
