using System.Runtime.CompilerServices;
using Hubgate.TestSupport;

namespace Hubgate.Tests.Infrastructure;

internal static class UsersHomeGuard
{
    /// <summary>Before any test: see <see cref="TestDatabase.KeepOutOfTheUsersHome"/>.</summary>
#pragma warning disable CA2255 // a test assembly's own start-up, not a library's
    [ModuleInitializer]
    internal static void Install() => TestDatabase.KeepOutOfTheUsersHome();
#pragma warning restore CA2255
}
