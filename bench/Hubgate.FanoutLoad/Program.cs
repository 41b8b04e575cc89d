using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using RabbitMQ.Client;

// The tools of bench/load/fanout.sh (see there for the whole measurement):
//   sinks  PORT[,PORT…] OUTDIR            HTTP sinks on 127.0.0.1 answering 204; on SIGTERM each writes OUTDIR/sink-PORT.csv
//                                         (delivery id, receipt in Unix ms); GET /count on any port gives the counts so far.
//   drive  URL RATE SECONDS BODY SECRET RUN
//                                         POSTs the signed BODY at RATE per second for SECONDS (open loop: request i is due at
//                                         i / RATE s, at most 512 in flight), delivery ids RUN-i; prints one RESULT line.
//   listen URL KEY OUT SECONDS            reads the Server-Sent Events stream at URL with the bearer KEY for SECONDS and writes
//                                         OUT (event id = the delivery's sequence, receipt in Unix ms).
//   consume URI EXCHANGE OUT SECONDS      declares EXCHANGE (durable topic) and a durable queue bound to it with '#', consumes it
//                                         for SECONDS and writes OUT (message_id, receipt in Unix ms).
return args.FirstOrDefault() switch
{
    "sinks" when args.Length == 3 => await Sinks(args[1].Split(',').Select(int.Parse).ToArray(), args[2]),
    "drive" when args.Length == 7 => await Drive(new Uri(args[1]), double.Parse(args[2], CultureInfo.InvariantCulture),
        int.Parse(args[3], CultureInfo.InvariantCulture), await File.ReadAllBytesAsync(args[4]), args[5], args[6]),
    "listen" when args.Length == 5 => await Listen(new Uri(args[1]), args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture)),
    "consume" when args.Length == 5 => await Consume(new Uri(args[1]), args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: sinks PORTS OUTDIR | drive URL RATE SECONDS BODY SECRET RUN | listen URL KEY OUT SECONDS | consume URI EXCHANGE OUT SECONDS");
    return 2;
}

static double UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (DateTime.UtcNow.Ticks % TimeSpan.TicksPerMillisecond / 10_000.0);

static async Task<int> Sinks(int[] ports, string outDir)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.WebHost.ConfigureKestrel(k =>
    {
        foreach (var port in ports)
        {
            k.Listen(System.Net.IPAddress.Loopback, port);
        }
    });
    var app = builder.Build();
    var received = ports.ToDictionary(p => p, _ => new ConcurrentQueue<(string Id, double At, int Length)>());
    app.MapPost("/", async context =>
    {
        var at = UnixMs();
        var length = 0;
        var buffer = new byte[16384];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            length += read;
        }

        received[context.Connection.LocalPort].Enqueue((context.Request.Headers["X-GitHub-Delivery"].ToString(), at, length));
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    });
    app.MapGet("/count", () => string.Join(' ', received.Select(r => $"{r.Key}={r.Value.Count}")));
    app.Lifetime.ApplicationStopping.Register(() =>
    {
        foreach (var (port, rows) in received)
        {
            File.WriteAllLines(Path.Combine(outDir, $"sink-{port}.csv"),
                rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Id},{r.At:F3},{r.Length}")));
        }
    });
    await app.RunAsync();
    return 0;
}

static async Task<int> Drive(Uri url, double rate, int seconds, byte[] body, string secret, string run)
{
    var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };
    var total = (int)(rate * seconds);
    var latencies = new double[total];
    var lateness = new double[total];
    int ok = 0, failed = 0;
    using var inFlight = new SemaphoreSlim(512);
    var tasks = new List<Task>(total);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < total; i++)
    {
        var due = i / rate;
        var wait = due - clock.Elapsed.TotalSeconds;
        if (wait > 0.001)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
        }

        await inFlight.WaitAsync();
        var index = i;
        lateness[index] = Math.Max(0, clock.Elapsed.TotalSeconds - due) * 1000;
        tasks.Add(Task.Run(async () =>
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.TryAddWithoutValidation("User-Agent", "GitHub-Hookshot/load");
                request.Headers.TryAddWithoutValidation("X-GitHub-Event", "push");
                request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", string.Create(CultureInfo.InvariantCulture, $"{run}-{index}"));
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", signature);
                var started = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request);
                latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Interlocked.Increment(ref (int)response.StatusCode is >= 200 and < 300 ? ref ok : ref failed);
            }
            catch (HttpRequestException)
            {
                latencies[index] = double.NaN;
                Interlocked.Increment(ref failed);
            }
            finally
            {
                inFlight.Release();
            }
        }));
    }

    var sending = clock.Elapsed.TotalSeconds;
    await Task.WhenAll(tasks);
    var done = latencies.Where(l => !double.IsNaN(l)).Order().ToArray();
    var late = lateness.Order().ToArray();
    double P(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT sent={total} ok={ok} failed={failed} send_s={sending:F2} rate={total / sending:F1} p50_ms={P(done, 0.5):F2} p99_ms={P(done, 0.99):F2} max_ms={(done.Length > 0 ? done[^1] : double.NaN):F2} send_late_p99_ms={P(late, 0.99):F1}"));
    return failed == 0 ? 0 : 1;
}

static async Task<int> Listen(Uri url, string key, string outFile, int seconds)
{
    using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    using var request = new HttpRequestMessage(HttpMethod.Get, url);
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
    var rows = new List<string>();
    try
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"listen: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(stop.Token)}");
            return 1;
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
        string? id = null;
        while (await reader.ReadLineAsync(stop.Token) is { } line)
        {
            if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                id = line[3..].Trim();
            }
            else if (line.Length == 0 && id is not null)
            {
                rows.Add(string.Create(CultureInfo.InvariantCulture, $"{id},{UnixMs():F3}")); // the event is complete at its blank line
                id = null;
            }
        }
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
    }

    await File.WriteAllLinesAsync(outFile, rows);
    Console.WriteLine($"listen: {rows.Count} events");
    return 0;
}

static async Task<int> Consume(Uri broker, string exchange, string outFile, int seconds)
{
    var rows = new ConcurrentQueue<string>();
    await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = broker }.CreateConnectionAsync();
    await using var channel = await connection.CreateChannelAsync();
    await channel.ExchangeDeclareAsync(exchange, RabbitMQ.Client.ExchangeType.Topic, durable: true, autoDelete: false);
    var queue = (await channel.QueueDeclareAsync(exchange + ".bench", durable: true, exclusive: false, autoDelete: false)).QueueName;
    await channel.QueueBindAsync(queue, exchange, "#");
    await channel.BasicQosAsync(0, 1000, false);
    var consumer = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
    consumer.ReceivedAsync += (_, message) =>
    {
        rows.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{message.BasicProperties.MessageId},{UnixMs():F3}"));
        return Task.CompletedTask;
    };
    await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
    Console.WriteLine("consume: ready");
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
    {
        context.Cancel = true;
        stop.Cancel();
    });
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }

    await File.WriteAllLinesAsync(outFile, rows);
    Console.WriteLine($"consume: {rows.Count} messages");
    return 0;
}

