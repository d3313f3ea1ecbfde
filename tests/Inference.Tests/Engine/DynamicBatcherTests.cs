using NeuralService.Inference.Engine;

namespace NeuralService.Inference.Tests.Engine;

/// <summary>The batcher with a fake model (<c>y = 2·x</c> on float[rows, k]) so timing can be controlled.</summary>
public sealed class DynamicBatcherTests
{
    private sealed class FakeModel
    {
        public ManualResetEventSlim Gate { get; } = new(true);
        public SemaphoreSlim Entered { get; } = new(0);
        public List<long> BatchRows { get; } = [];

        public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs)
        {
            Entered.Release();
            Gate.Wait(TimeSpan.FromSeconds(10));
            var x = inputs[0];
            lock (BatchRows) BatchRows.Add(x.Dims[0]);
            var values = x.As<float>();
            if (values.Any(v => v < 0)) throw new InvalidInputException("negative input");
            return [NamedTensor.Create("y", values.Select(v => 2 * v).ToArray(), x.Dims)];
        }
    }

    private static NamedTensor Rows(float start, int rows, int k = 2) =>
        NamedTensor.Create("x", Enumerable.Range(0, rows * k).Select(i => start + i).ToArray(), rows, k);

    private static DynamicBatcher Create(FakeModel model, BatchingOptions options) =>
        new(model.Run, BatchMode.Concatenate, options, "fake/1");

    [Fact]
    public async Task Concurrent_requests_are_batched_and_get_their_own_rows_back()
    {
        var model = new FakeModel();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(300) });
        var tasks = Enumerable.Range(0, 16).Select(i => batcher.SubmitAsync([Rows(100 * i, 1)])).ToList();
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < 16; i++) Assert.Equal([200f * i, 200f * i + 2], results[i][0].As<float>());
        Assert.Equal(16, batcher.RequestsServed);
        Assert.InRange(batcher.Runs, 2, 4);
        Assert.Equal(8, batcher.LargestBatch);
    }

    [Fact]
    public async Task Requests_of_several_rows_are_split_back_by_their_row_counts()
    {
        var model = new FakeModel();
        model.Gate.Reset();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(200) });
        var blocker = batcher.SubmitAsync([Rows(0, 1)]);
        await model.Entered.WaitAsync();
        var a = batcher.SubmitAsync([Rows(1, 1)]);
        var b = batcher.SubmitAsync([Rows(10, 3)]);
        var c = batcher.SubmitAsync([Rows(50, 2)]);
        model.Gate.Set();
        await blocker;
        Assert.Equal(new[] { 2f, 4f }, (await a)[0].As<float>());
        Assert.Equal(new[] { 3L, 2L }, (await b)[0].Dims);
        Assert.Equal(Enumerable.Range(10, 6).Select(v => 2f * v), (await b)[0].As<float>());
        Assert.Equal(Enumerable.Range(50, 4).Select(v => 2f * v), (await c)[0].As<float>());
        Assert.Equal([1L, 6L], model.BatchRows);
    }

    [Fact]
    public async Task Requests_with_other_inner_shapes_are_not_concatenated()
    {
        var model = new FakeModel();
        model.Gate.Reset();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(100) });
        var blocker = batcher.SubmitAsync([Rows(0, 1)]);
        await model.Entered.WaitAsync();
        var narrow = batcher.SubmitAsync([Rows(1, 2, k: 2)]);
        var wide = batcher.SubmitAsync([Rows(1, 2, k: 3)]);
        model.Gate.Set();
        await blocker;
        Assert.Equal(new[] { 2L, 2L }, (await narrow)[0].Dims);
        Assert.Equal(new[] { 2L, 3L }, (await wide)[0].Dims);
        Assert.Equal(3, batcher.Runs);
    }

    [Fact]
    public async Task Full_queue_rejects_with_overload()
    {
        var model = new FakeModel();
        model.Gate.Reset();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 2 });
        var running = batcher.SubmitAsync([Rows(0, 1)]);
        await model.Entered.WaitAsync();
        var queued = new[] { batcher.SubmitAsync([Rows(1, 1)]), batcher.SubmitAsync([Rows(2, 1)]) };
        var e = Assert.Throws<OverloadedException>(() => { _ = batcher.SubmitAsync([Rows(3, 1)]); });
        Assert.Equal(ErrorKind.Overloaded, e.Kind);
        model.Gate.Set();
        await running;
        Assert.Equal(new[] { 4f, 6f }, (await queued[1])[0].As<float>());
    }

    [Fact]
    public async Task Cancelled_waiting_request_is_dropped_before_it_runs()
    {
        var model = new FakeModel();
        model.Gate.Reset();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 1 });
        var running = batcher.SubmitAsync([Rows(0, 1)]);
        await model.Entered.WaitAsync();
        using var cts = new CancellationTokenSource();
        var cancelled = batcher.SubmitAsync([Rows(7, 1)], cts.Token);
        var kept = batcher.SubmitAsync([Rows(9, 1)]);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        model.Gate.Set();
        await running;
        await kept;
        Assert.Equal(2, batcher.Runs);
        Assert.Equal(2, batcher.RequestsServed);
    }

    [Fact]
    public async Task One_bad_request_fails_alone_when_its_batch_fails()
    {
        var model = new FakeModel();
        model.Gate.Reset();
        await using var batcher = Create(model, new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(100) });
        var blocker = batcher.SubmitAsync([Rows(0, 1)]);
        await model.Entered.WaitAsync();
        var good = batcher.SubmitAsync([Rows(1, 1)]);
        var bad = batcher.SubmitAsync([Rows(-5, 1)]);
        model.Gate.Set();
        await blocker;
        Assert.Equal(new[] { 2f, 4f }, (await good)[0].As<float>());
        await Assert.ThrowsAsync<InvalidInputException>(() => bad);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchingOptions { MaxBatchSize = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchingOptions { QueueCapacity = 0 }.Validate());
    }
}
