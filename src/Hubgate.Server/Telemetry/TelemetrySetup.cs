using Hubgate.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Hubgate.Server.Telemetry;

internal static class TelemetrySetup
{
    /// <summary>
    /// OpenTelemetry: Hubgate's own meter and traces, ASP.NET Core and HttpClient (every GitHub call, by status code),
    /// metrics scraped by Prometheus at <c>/metrics</c>; traces exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set (the standard variable). Without an exporter no trace is recorded: building spans nobody receives cost
    /// measurable CPU on every webhook request.
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(HubgateTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(HubgateTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != "/metrics")
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary><c>GET /metrics</c> in Prometheus' text format: counts, durations and rate limits — no payloads, tokens or secrets.</summary>
    public static WebApplication MapTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
