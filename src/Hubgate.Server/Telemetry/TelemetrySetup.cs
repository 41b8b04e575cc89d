using Hubgate.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Hubgate.Server.Telemetry;

internal static class TelemetrySetup
{
    /// <summary>
    /// OpenTelemetry: Hubgate's own meter and traces, ASP.NET Core and HttpClient (every GitHub call, by status code),
    /// metrics scraped by Prometheus at <c>/metrics</c>; traces exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set (the standard variable), otherwise kept in-process for any listener.
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(HubgateTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing.AddSource(HubgateTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != "/metrics")
                    .AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
        return builder;
    }

    /// <summary><c>GET /metrics</c> in Prometheus' text format: counts, durations and rate limits — no payloads, tokens or secrets.</summary>
    public static WebApplication MapTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
