using Microsoft.Extensions.Options;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>Starts the server with one setting changed and returns the validation failure that stops it.</summary>
internal static class StartupFailure
{
    public static OptionsValidationException Of(string key, string value, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Hubgate:ApiKey"] = "startup-failure-admin-key-0d2f",
            ["Webhooks:RunWorker"] = "false",
        };
        all[key] = value;
        using var app = new HubgateApplication(all);
        return Assert.Throws<OptionsValidationException>(() => app.Server);
    }
}
