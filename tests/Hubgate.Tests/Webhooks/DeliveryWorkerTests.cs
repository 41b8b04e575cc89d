using Hubgate.Testing;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Octokit.Webhooks.Events;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>The background worker on a real SQLite inbox: states, retries, dead letters, leases, restarts.</summary>
public sealed class DeliveryWorkerTests
{
    [Fact]
    public async Task Handler_GetsTypedPayloadAndContext_DeliveryBecomesProcessed()
    {
        PushEvent? seen = null;
        WebhookContext? context = null;
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On<PushEvent>("push", (push, ctx, _) =>
            {
                seen = push;
                context = ctx;
                return Task.CompletedTask;
            }));
        try
        {
            await StoreFixtureAsync(services, "push", "with-installation.payload.json", "d-1");

            Assert.Equal(1, await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None));

            var row = await ReadAsync(services, "d-1");
            Assert.Equal(DeliveryState.Processed, row.State);
            Assert.Equal(1, row.Attempts);
            Assert.NotNull(row.ProcessedAt);
            Assert.Null(row.LeaseOwner);
            Assert.NotNull(seen);
            Assert.StartsWith("refs/tags/", seen!.Ref, StringComparison.Ordinal);
            Assert.NotEmpty(seen.Repository!.FullName);
            Assert.Equal("d-1", context!.DeliveryId);
            Assert.Equal("push", context.Event);
            Assert.Equal(seen.Installation!.Id, context.InstallationId);
            Assert.Equal(1, context.Attempt);
            Assert.Equal(seen.Ref, context.Json.GetProperty("ref").GetString());
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task NoHandler_KeptAsIgnored_AndActionFilterIsHonoured()
    {
        var opened = 0;
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On("pull_request", (_, _) => { opened++; return Task.CompletedTask; }, action: "opened"));
        try
        {
            await StoreFixtureAsync(services, "pull_request", "opened.payload.json", "pr-opened");
            await StoreFixtureAsync(services, "pull_request", "closed.payload.json", "pr-closed");
            await StoreFixtureAsync(services, "ping", "payload.json", "ping");

            Assert.Equal(3, await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None));

            Assert.Equal(1, opened);
            Assert.Equal(DeliveryState.Processed, (await ReadAsync(services, "pr-opened")).State);
            Assert.Equal(DeliveryState.Ignored, (await ReadAsync(services, "pr-closed")).State);
            Assert.Equal(DeliveryState.Ignored, (await ReadAsync(services, "ping")).State);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task UnknownActionTomorrow_DoesNotFailTheDelivery_TypedHandlerSkipped_UntypedSeesIt()
    {
        var body = System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(WebhookFixtures.Load("pull_request", "opened.payload.json"))
                .Replace("\"action\": \"opened\"", "\"action\": \"teleported\"", StringComparison.Ordinal));
        var typedCalls = 0;
        string? untypedAction = null;
        long? openedNumber = null;
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On<PullRequestEvent>("pull_request", (_, _, _) => { typedCalls++; return Task.CompletedTask; })
            .On<Octokit.Webhooks.Events.PullRequest.PullRequestOpenedEvent>("pull_request", (pr, _, _) => { openedNumber = pr.Number; return Task.CompletedTask; }, action: "opened")
            .On("pull_request", (ctx, _) => { untypedAction = ctx.Action; return Task.CompletedTask; }));
        try
        {
            await StoreAsync(services, "pull_request", body, "pr-new-action");
            await StoreFixtureAsync(services, "pull_request", "opened.payload.json", "pr-opened");
            await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);

            var row = await ReadAsync(services, "pr-new-action");
            Assert.True(row.State == DeliveryState.Processed, row.LastError);
            Assert.Equal(DeliveryState.Processed, (await ReadAsync(services, "pr-opened")).State);
            Assert.Equal(1, typedCalls); // only the known action reached the typed handler
            Assert.Equal(2, openedNumber);
            Assert.Equal("opened", untypedAction);
            Assert.Contains("no model for action 'teleported'", services.AllLogText(), StringComparison.Ordinal);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task ThrowingHandler_IsRetriedWithBackoff_ThenDead_WithTheErrorKept()
    {
        var calls = new List<int>();
        await using var services = await TestServices.StartAsync(Settings(maxAttempts: 3), configure: s => s.Webhooks()
            .On("push", (ctx, _) =>
            {
                calls.Add(ctx.Attempt);
                throw new InvalidOperationException("downstream said no");
            }));
        try
        {
            var worker = services.Get<DeliveryWorker>();
            await StoreFixtureAsync(services, "push", "payload.json", "failing");

            await worker.RunOnceAsync(CancellationToken.None);
            var first = await ReadAsync(services, "failing");
            Assert.Equal(DeliveryState.Failed, first.State);
            Assert.Equal(1, first.Attempts);
            Assert.Contains("downstream said no", first.LastError, StringComparison.Ordinal);
            Assert.Contains("InvalidOperationException", first.LastError, StringComparison.Ordinal);
            var firstDelay = first.NextAttemptAt - services.Time.GetUtcNow();
            Assert.InRange(firstDelay, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(12)); // 10 s ± 20 %

            // Not due yet: nothing happens.
            Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));

            services.Time.Advance(TimeSpan.FromSeconds(13));
            await worker.RunOnceAsync(CancellationToken.None);
            var second = await ReadAsync(services, "failing");
            Assert.Equal(DeliveryState.Failed, second.State);
            Assert.Equal(2, second.Attempts);
            Assert.InRange(second.NextAttemptAt - services.Time.GetUtcNow(), TimeSpan.FromSeconds(16), TimeSpan.FromSeconds(24)); // doubled

            services.Time.Advance(TimeSpan.FromSeconds(25));
            await worker.RunOnceAsync(CancellationToken.None);
            var dead = await ReadAsync(services, "failing");
            Assert.Equal(DeliveryState.Dead, dead.State);
            Assert.Equal(3, dead.Attempts);
            Assert.Contains("downstream said no", dead.LastError, StringComparison.Ordinal);
            Assert.Equal([1, 2, 3], calls);

            // Dead stays dead until replayed; a replay is attempt 4 (the count of runs goes on) with a full set of retries.
            services.Time.Advance(TimeSpan.FromHours(2));
            Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));
            Assert.True(await services.Get<WebhookInbox>().ReplayAsync(StoredApp.Default, "failing"));
            await worker.RunOnceAsync(CancellationToken.None);
            Assert.Equal([1, 2, 3, 4], calls);
            var replayed = await ReadAsync(services, "failing");
            Assert.Equal((DeliveryState.Failed, 4), (replayed.State, replayed.Attempts));
            Assert.False(await services.Get<WebhookInbox>().ReplayAsync(StoredApp.Default, "no-such-delivery"));
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task Duplicate_IsStoredOnce_AndProcessedOnce()
    {
        var calls = 0;
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On("*", (_, _) => { Interlocked.Increment(ref calls); return Task.CompletedTask; }));
        try
        {
            Assert.Equal(InboxOutcome.Stored, await StoreFixtureAsync(services, "push", "payload.json", "same-id"));
            Assert.Equal(InboxOutcome.Duplicate, await StoreFixtureAsync(services, "push", "payload.json", "same-id"));
            await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);
            Assert.Equal(InboxOutcome.Duplicate, await StoreFixtureAsync(services, "push", "payload.json", "same-id"));
            await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);

            Assert.Equal(1, calls);
            Assert.Equal(1, await CountAsync(services));
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task ConcurrentDuplicatesInOneBatch_OnlyOneIsStored_AndSameBodyUnderNewIdIsFlagged()
    {
        await using var services = await TestServices.StartAsync(Settings());
        try
        {
            var body = WebhookFixtures.Load("push", "payload.json");
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => StoreAsync(services, "push", body, "dup")));
            Assert.Equal(1, outcomes.Count(o => o == InboxOutcome.Stored));
            Assert.Equal(19, outcomes.Count(o => o == InboxOutcome.Duplicate));

            await StoreAsync(services, "push", body, "replayed-under-new-id");
            Assert.Equal("dup", (await ReadAsync(services, "replayed-under-new-id")).PossibleReplayOf);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task TwoHundredConcurrentDeliveries_AllStored_NoneLost_AllProcessedInOrderOfReceipt()
    {
        var order = new List<long>();
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On("push", (ctx, _) => { lock (order) { order.Add(ctx.Sequence); } return Task.CompletedTask; }));
        try
        {
            var body = WebhookFixtures.Load("push", "with-new-branch.payload.json");
            var ids = Enumerable.Range(0, 200).Select(i => $"concurrent-{i}").ToList();
            var outcomes = await Task.WhenAll(ids.Select(id => Task.Run(() => StoreAsync(services, "push", body, id))));

            Assert.All(outcomes, o => Assert.Equal(InboxOutcome.Stored, o));
            Assert.Equal(200, await CountAsync(services));

            var worker = services.Get<DeliveryWorker>();
            for (var round = 0; round < 50 && order.Count < 200; round++)
            {
                await worker.RunOnceAsync(CancellationToken.None);
            }

            Assert.Equal(200, order.Count);
            Assert.Equal(order.Order().ToList(), order);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task Claims_TakeABatchAtATime_OldestFirst_ARetryDueNowBeforeNewerPendingOnes()
    {
        var calls = new List<string>();
        var settings = Settings();
        settings["Webhooks:ClaimBatchSize"] = "3";
        await using var services = await TestServices.StartAsync(settings, configure: s => s.Webhooks()
            .On("push", (ctx, _) =>
            {
                calls.Add(ctx.DeliveryId);
                return ctx.DeliveryId == "a" && ctx.Attempt == 1 ? throw new InvalidOperationException("not yet") : Task.CompletedTask;
            }));
        try
        {
            var body = WebhookFixtures.Load("push", "payload.json");
            foreach (var id in new[] { "a", "b", "c", "d", "e", "f", "g" })
            {
                await StoreAsync(services, "push", body, id);
            }

            var worker = services.Get<DeliveryWorker>();
            Assert.Equal(3, await worker.RunOnceAsync(CancellationToken.None));
            Assert.Equal(3, await worker.RunOnceAsync(CancellationToken.None)); // "a" is failed and not due yet
            Assert.Equal(["a", "b", "c", "d", "e", "f"], calls);

            services.Time.Advance(TimeSpan.FromSeconds(13));
            await StoreAsync(services, "push", body, "h");
            Assert.Equal(3, await worker.RunOnceAsync(CancellationToken.None));
            Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));

            Assert.Equal(["a", "b", "c", "d", "e", "f", "a", "g", "h"], calls);
            Assert.Equal((DeliveryState.Processed, 2), ((await ReadAsync(services, "a")).State, (await ReadAsync(services, "a")).Attempts));
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task WorkerDiesMidProcessing_AnotherWorkerTakesItOverWhenTheLeaseRunsOut_TheLateOutcomeIsDiscarded()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var stuck = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var firstRun = true;
        var processedBy = new List<int>();
        await using var services = await TestServices.StartAsync(Settings(), time, configure: s => s.Webhooks()
            .On("push", async (ctx, token) =>
            {
                if (firstRun)
                {
                    firstRun = false;
                    started.SetResult();
                    await stuck.Task; // this worker "dies": it does not finish within its lease, never releases
                    throw new InvalidOperationException("a late failure from the worker that lost its lease");
                }

                processedBy.Add(ctx.Attempt);
            }));
        try
        {
            await StoreFixtureAsync(services, "push", "payload.json", "orphan");
            var dying = services.Get<DeliveryWorker>();
            var dyingRun = dying.RunOnceAsync(CancellationToken.None);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(DeliveryState.Processing, (await ReadAsync(services, "orphan")).State);

            // A second worker (another replica) does not touch it while the lease holds...
            var survivor = ActivatorUtilities.CreateInstance<DeliveryWorker>(services.Provider);
            Assert.Equal(0, await survivor.RunOnceAsync(CancellationToken.None));

            // ...and takes it over once the lease has run out.
            time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
            Assert.Equal(1, await survivor.RunOnceAsync(CancellationToken.None));
            var row = await ReadAsync(services, "orphan");
            Assert.Equal(DeliveryState.Processed, row.State);
            Assert.Equal(2, row.Attempts);
            Assert.Equal([2], processedBy);

            // The first worker comes back and fails: its outcome is not recorded over the one that counts.
            stuck.SetResult();
            Assert.Equal(1, await dyingRun.WaitAsync(TimeSpan.FromSeconds(10)));
            row = await ReadAsync(services, "orphan");
            Assert.Equal(DeliveryState.Processed, row.State);
            Assert.Null(row.LastError);
            Assert.Null(row.LeaseOwner);
            Assert.Equal(2, row.Attempts);
        }
        finally
        {
            stuck.TrySetResult();
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task ProcessRestart_PicksUpWhatThePreviousProcessLeftInProcessing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var first = await TestServices.StartAsync(Settings(), time, configure: s => s.Webhooks()
            .On("push", async (_, _) => await Task.Delay(Timeout.Infinite, CancellationToken.None)));
        var directory = first.Directory;
        await StoreFixtureAsync(first, "push", "payload.json", "interrupted");
        _ = first.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);
        for (var i = 0; i < 100 && (await ReadAsync(first, "interrupted")).State != DeliveryState.Processing; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(DeliveryState.Processing, (await ReadAsync(first, "interrupted")).State);
        // The "killed" process: its handler never returns and nothing is released. The next process starts on the same
        // database. On SQLite one process owns the file, so the restart reclaims at once; on PostgreSQL other replicas
        // may be alive, so only the lease running out frees it.
        if (TestDatabase.IsPostgres)
        {
            time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        }

        var processed = new TaskCompletionSource<string>();
        var settings = Settings();
        settings["Webhooks:PollInterval"] = "00:00:00.050";
        await using var second = await TestServices.StartAsync(settings, time, directory, s => s.Webhooks()
            .On("push", (ctx, _) => { processed.TrySetResult(ctx.DeliveryId); return Task.CompletedTask; }));
        var worker = second.Get<SubscriptionScheduler>();
        await ((IHostedService)worker).StartAsync(CancellationToken.None);
        try
        {
            // SQLite: no clock movement — the lease is five minutes from running out, yet the restart reclaims it.
            Assert.Equal("interrupted", await processed.Task.WaitAsync(TimeSpan.FromSeconds(20)));
            for (var i = 0; i < 100 && (await ReadAsync(second, "interrupted")).State != DeliveryState.Processed; i++)
            {
                await Task.Delay(20);
            }

            Assert.Equal(DeliveryState.Processed, (await ReadAsync(second, "interrupted")).State);
        }
        finally
        {
            await ((IHostedService)worker).StopAsync(CancellationToken.None);
            await first.DisposeAsync();
            second.DeleteFiles();
        }
    }

    [Fact]
    public async Task Shutdown_HandsTheDeliveryBack_WithoutSpendingAnAttempt()
    {
        var started = new TaskCompletionSource();
        await using var services = await TestServices.StartAsync(Settings(), configure: s => s.Webhooks()
            .On("push", async (_, token) => { started.TrySetResult(); await Task.Delay(Timeout.Infinite, token); }));
        try
        {
            await StoreFixtureAsync(services, "push", "payload.json", "in-flight");
            using var stopping = new CancellationTokenSource();
            var run = services.Get<DeliveryWorker>().RunOnceAsync(stopping.Token);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await stopping.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));

            var row = await ReadAsync(services, "in-flight");
            Assert.Equal(DeliveryState.Pending, row.State);
            Assert.Equal(0, row.Attempts);
            Assert.Null(row.LeaseOwner);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task HandlerClass_IsResolvedFromTheDeliverysScope()
    {
        await using var services = await TestServices.StartAsync(Settings(), configure: s =>
        {
            s.AddSingleton<ScopeLog>();
            s.Webhooks().AddHandler<RecordingHandler>("ping").AddHandler<RecordingHandler>("ping");
        });
        try
        {
            await StoreFixtureAsync(services, "ping", "payload.json", "ping-1");
            await StoreFixtureAsync(services, "ping", "with-app_id.payload.json", "ping-2");
            await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);

            var log = services.Get<ScopeLog>();
            Assert.Equal(4, log.Calls.Count);
            Assert.Equal(2, log.Calls.Distinct().Count()); // one instance per delivery's scope, shared by its handlers
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Theory]
    [InlineData(30, 1, 3)] // slow handlers (a GitHub call each, say): a few at a time, the rest left to other replicas
    [InlineData(0, 4, 34)] // fast ones: what 0.1 s holds, here up to every delivery still due
    public async Task BuiltInWorker_ClaimsSixteenFirst_ThenWhatItGetsThroughInATenthOfASecond(int handlerMilliseconds, int least, int most)
    {
        await using var services = await TestServices.StartAsync(Settings(), configure: s =>
        {
            s.AddSingleton(new HandlerPace(TimeSpan.FromMilliseconds(handlerMilliseconds)));
            s.Webhooks().AddHandler<PacedHandler>("ping");
        });
        try
        {
            for (var i = 0; i < 50; i++)
            {
                await StoreFixtureAsync(services, "ping", "payload.json", $"paced-{i}");
            }

            var worker = services.Get<DeliveryWorker>();
            Assert.Equal(16, await worker.RunOnceAsync(CancellationToken.None));
            Assert.InRange(await worker.RunOnceAsync(CancellationToken.None), least, most);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    private sealed record HandlerPace(TimeSpan PerDelivery);

    /// <summary>Takes <see cref="HandlerPace"/> per delivery, for real: the worker measures its pace on the monotonic clock.</summary>
    private sealed class PacedHandler(HandlerPace pace) : IWebhookHandler
    {
        public Task HandleAsync(WebhookContext context, CancellationToken cancellationToken) =>
            pace.PerDelivery > TimeSpan.Zero ? Task.Delay(pace.PerDelivery, cancellationToken) : Task.CompletedTask;
    }

    [Fact]
    public void RetryDelay_DoublesAndIsCapped()
    {
        var options = new WebhookOptions { RetryDelay = TimeSpan.FromSeconds(10), MaxRetryDelay = TimeSpan.FromMinutes(1) };
        Assert.InRange(DeliveryWorker.RetryDelay(1, options), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(12));
        Assert.InRange(DeliveryWorker.RetryDelay(3, options), TimeSpan.FromSeconds(32), TimeSpan.FromSeconds(48));
        Assert.InRange(DeliveryWorker.RetryDelay(30, options), TimeSpan.FromSeconds(48), TimeSpan.FromSeconds(72));
    }

    private sealed class ScopeLog
    {
        public List<Guid> Calls { get; } = [];
    }

    private sealed class RecordingHandler(ScopeLog log) : IWebhookHandler
    {
        private readonly Guid _instance = Guid.NewGuid();

        public Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
        {
            log.Calls.Add(_instance);
            return Task.CompletedTask;
        }
    }
}
