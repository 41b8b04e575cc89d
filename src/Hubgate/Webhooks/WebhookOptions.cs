namespace Hubgate.Webhooks;

/// <summary>The inbox and the worker, from the <c>Webhooks</c> section.</summary>
public sealed class WebhookOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Webhooks";

    /// <summary>GitHub's cap on a webhook body: 25 MiB. Larger bodies are refused with 413 while reading.</summary>
    public const long GitHubMaxBodyBytes = 25L * 1024 * 1024;

    /// <summary>Attempts before a delivery is <c>dead</c> for the built-in subscription (the model and in-process handlers) (8).</summary>
    [ConfigurationRange("Webhooks:MaxAttempts", 1, 1000)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The first retry delay; each further attempt doubles it, up to <see cref="MaxRetryDelay"/> (10 s).</summary>
    [ConfigurationRange("Webhooks:RetryDelay", typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest retry delay (1 h).</summary>
    [ConfigurationRange("Webhooks:MaxRetryDelay", typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a worker's claim on a delivery lasts without a heartbeat (30 s). The worker renews it every
    /// <see cref="HeartbeatInterval"/> while the handlers run; when a worker dies, another takes its deliveries over
    /// once this has run out, so it bounds the failover time.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a working worker renews its leases; unset: a third of <see cref="LeaseDuration"/>.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>The heartbeat period in use: <see cref="HeartbeatInterval"/>, or a third of <see cref="LeaseDuration"/>.</summary>
    public TimeSpan EffectiveHeartbeatInterval => HeartbeatInterval ?? LeaseDuration / 3;

    /// <summary>How long one delivery's handlers may run before they are cancelled and the attempt fails (5 min).</summary>
    public TimeSpan HandlerTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the worker looks for due work when nothing new arrived (1 s). New deliveries wake it at once.</summary>
    [ConfigurationRange("Webhooks:PollInterval", typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The most due deliveries the built-in subscription's worker claims at once; they are processed one after another,
    /// in order, and their outcomes recorded in one commit (128). It starts at 16 and then claims what it gets through in
    /// about 0.1 s at the pace of its last batch: under load with fast handlers every batch's fixed statements are spread
    /// over up to this many deliveries (at 16, the worker fell behind an 8.8 KB push load of 4,500/s on two cores; at
    /// 128 it kept up), while slow handlers (a GitHub call each) claim a few at a time and leave the rest to other
    /// replicas. A claim takes only what is due; a crash re-attempts at most one batch.
    /// </summary>
    [ConfigurationRange("Webhooks:ClaimBatchSize", 1, 1000)]
    public int ClaimBatchSize { get; set; } = 128;

    /// <summary>Whether this process runs the background worker (true). Ingest-only replicas can turn it off.</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>
    /// SQLite: whether bodies (from <see cref="LogBodiesFrom"/>) are made durable in the delivery log, a folder of
    /// append-only segment files beside the database, rather than in the database itself (true). The inbox's rows stay in
    /// SQLite. Turning it off affects new deliveries only: bodies already in the log are read from it until retention
    /// prunes them.
    /// </summary>
    public bool Log { get; set; } = true;

    /// <summary>
    /// SQLite with <see cref="Log"/>: bodies of at least this many bytes go to the delivery log (0: every body); smaller
    /// ones are compressed into the database. Every body by default: when a whole batch is in the log, the rows' commit
    /// needs no sync of its own, so it holds SQLite's write lock for less time, and the worker (which shares that lock)
    /// processed twice as many recorded pushes while ingest ran at full load (docs/benchmarks.md). Ingest alone was up
    /// to 14 % faster with small bodies in the database, at a quarter of the disk per delivery.
    /// </summary>
    [ConfigurationRange("Webhooks:LogBodiesFrom", 0, 26214400)]
    public int LogBodiesFrom { get; set; }

    /// <summary>The delivery log's folder (default: the SQLite file's path with <c>.log</c> added, e.g. <c>hubgate.db.log</c>).</summary>
    public string? LogDirectory { get; set; }

    /// <summary>A segment of the delivery log is sealed, and a new one started, at this size (64 MiB); sealed segments are deleted whole by retention.</summary>
    [ConfigurationRange("Webhooks:LogSegmentBytes", typeof(long), "65536", "4294967296")]
    public long LogSegmentBytes { get; set; } = 64L << 20;

    /// <summary>How far back to compare body hashes to flag a possible replay under a new delivery id (24 h).</summary>
    [ConfigurationRange("Webhooks:ReplayWindow", typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long ingest waits for a delivery's commit before answering 503 (8 s: inside GitHub's 10 s, so GitHub sees a
    /// failure it can redeliver rather than a timeout).
    /// </summary>
    [ConfigurationRange("Webhooks:StoreTimeout", typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The most deliveries committed in one transaction by the ingest writer (256).</summary>
    [ConfigurationRange("Webhooks:MaxBatchSize", 1, 10000)]
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>
    /// How often to ask GitHub for deliveries it failed to send and have them redelivered; off when unset or zero.
    /// Needs the App's credentials.
    /// </summary>
    public TimeSpan? RecoverInterval { get; set; }

    /// <summary>How far back the periodic recovery looks (72 h).</summary>
    public TimeSpan RecoverLookback { get; set; } = TimeSpan.FromHours(72);

    /// <summary>
    /// The events recovery asks GitHub to redeliver (<c>push</c>, <c>pull_request</c>, …); empty: every event. Failed
    /// deliveries of other events are listed but left alone.
    /// </summary>
    public IList<string> RecoverEvents { get; } = [];

    /// <summary>
    /// The most bytes of request bodies held, across all requests, before their signatures are verified (64 MiB: two of
    /// GitHub's largest deliveries, or thousands of ordinary ones, at once). Past it a request is answered 503 with
    /// <c>Retry-After</c>. At least 25 MiB, so that GitHub's largest delivery can be received.
    /// </summary>
    public long MaxUnverifiedBytesInFlight { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long a delivery is kept once every subscription is done with it (processed, ignored or dead) (14 days).
    /// The inbox is pruned in small batches every <see cref="PruneInterval"/>.
    /// </summary>
    [ConfigurationRange("Webhooks:Retention", typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How long a delivery is kept at most, even while a paused, disabled or failing subscription still owes it (30 days);
    /// then it is pruned and counted as expired for that subscription. At least <see cref="Retention"/>.
    /// </summary>
    [ConfigurationRange("Webhooks:MaxRetention", typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan MaxRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often retention runs (10 min).</summary>
    [ConfigurationRange("Webhooks:PruneInterval", typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether a delivery signed only with SHA-1 (<c>X-Hub-Signature</c>, no <c>X-Hub-Signature-256</c>) is refused. Unset:
    /// per App, on for github.com and GHE.com (which always send SHA-256), off for GitHub Enterprise Server (older versions
    /// sent only SHA-1), decided from the App's API base (<c>GitHub:ApiBaseUrl</c>, <c>GitHub:Apps:{name}:ApiBaseUrl</c>).
    /// </summary>
    public bool? RequireSha256 { get; set; }
}
