using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// Segment files of a log folder, named by the sequence of their first record (<c>00000000000000000001.log</c>) so that
/// the name order is the log order, and the calls that make writes durable.
/// </summary>
internal static class SegmentFiles
{
    private const string Extension = ".log";

    public static string PathOf(string directory, long firstSequence) =>
        Path.Combine(directory, firstSequence.ToString("D20", CultureInfo.InvariantCulture) + Extension);

    /// <summary>The segment files of <paramref name="directory"/>, oldest first, with the sequence each starts at.</summary>
    public static IReadOnlyList<(string Path, long FirstSequence)> List(string directory)
    {
        var segments = new List<(string, long)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var first) && first > 0)
            {
                segments.Add((path, first));
            }
        }

        segments.Sort((a, b) => a.Item2.CompareTo(b.Item2));
        return segments;
    }

    /// <summary>
    /// Makes the data written to <paramref name="file"/> durable: <c>fdatasync</c> on Linux (the file's data and size,
    /// not its timestamps, which would cost a journal commit per call), a full flush elsewhere.
    /// </summary>
    public static void SyncData(SafeFileHandle file)
    {
        if (OperatingSystem.IsLinux())
        {
            if (FdataSync(file) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fdatasync failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }

            return;
        }

        RandomAccess.FlushToDisk(file);
    }

    /// <summary>
    /// Makes a file's creation in <paramref name="directory"/> durable (POSIX: fsync of the folder). Without it a new
    /// segment's records could be synced and its name lost in a power cut. Windows makes the entry durable with the file.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var handle = new SafeFileHandle((IntPtr)Open(directory, 0 /* O_RDONLY */), ownsHandle: true);
        if (handle.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Could not open {directory} to sync it: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        RandomAccess.FlushToDisk(handle);
    }

    // DllImport rather than LibraryImport: the generated marshalling needs unsafe code, which the library does not allow.
    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int FdataSync(SafeFileHandle file);

    [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open(string path, int flags);
}
