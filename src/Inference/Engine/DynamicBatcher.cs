using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Engine;

public sealed record BatchingOptions
{
    /// <summary>Most rows (sum of requests' leading dims) in one run.</summary>
    public int MaxBatchSize { get; init; } = 32;
    /// <summary>How long the first request of a batch waits for company.</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Requests waiting beyond this many are rejected with <see cref="OverloadedException"/>.</summary>
    public int QueueCapacity { get; init; } = 1024;

    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be at least 1");
        if (MaxQueueDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxQueueDelay), MaxQueueDelay, "MaxQueueDelay must not be negative");
        if (QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "QueueCapacity must be at least 1");
    }
}

/// <summary>Queues requests for one model version and runs them in batches: requests whose inputs agree on everything
/// but the leading dim are concatenated along it (up to <see cref="BatchingOptions.MaxBatchSize"/> rows, waiting at
/// most <see cref="BatchingOptions.MaxQueueDelay"/>), run once, and the outputs are split back by rows.</summary>
public sealed class DynamicBatcher : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<NamedTensor>, IReadOnlyList<NamedTensor>> _run;
    private readonly BatchMode _mode;
    private readonly BatchingOptions _options;
    private readonly string _label;
    private readonly Channel<Request> _queue;
    private readonly Task _loop;
    private long _runs, _requests, _largestBatch;
    private volatile bool _closed;

    /// <param name="run">Runs the model on inputs in signature order (called from one thread at a time).</param>
    public DynamicBatcher(Func<IReadOnlyList<NamedTensor>, IReadOnlyList<NamedTensor>> run, BatchMode mode, BatchingOptions options, string label)
    {
        options.Validate();
        _run = run;
        _mode = mode;
        _options = options;
        _label = label;
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(LoopAsync);
    }

    public BatchMode Mode => _mode;
    /// <summary>Model runs so far (a batch counts once).</summary>
    public long Runs => Interlocked.Read(ref _runs);
    public long RequestsServed => Interlocked.Read(ref _requests);
    public long LargestBatch => Interlocked.Read(ref _largestBatch);
    /// <summary>Requests waiting to be batched now.</summary>
    public int QueueDepth => _queue.Reader.Count;
    internal bool IsClosed => _closed;

    /// <summary>Queues one request (inputs already validated, in signature order).</summary>
    /// <exception cref="OverloadedException">the queue is full.</exception>
    /// <exception cref="ObjectDisposedException">the batcher was closed (e.g. evicted from the cache).</exception>
    public Task<IReadOnlyList<NamedTensor>> SubmitAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var request = new Request(inputs, _mode == BatchMode.Concatenate ? KeyOf(inputs) : null);
        if (!_queue.Writer.TryWrite(request))
        {
            if (_closed) throw new ObjectDisposedException(_label, $"the batcher of {_label} is closed");
            throw new OverloadedException($"{_label}: {_options.QueueCapacity} requests are already waiting; retry later");
        }
        if (ct.CanBeCanceled)
            request.Registration = ct.Register(() => request.Result.TrySetCanceled(ct));
        return request.Result.Task;
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        Request? carried = null;
        while (true)
        {
            Request first;
            if (carried is not null) { first = carried; carried = null; }
            else if (!reader.TryRead(out first!))
            {
                if (!await reader.WaitToReadAsync().ConfigureAwait(false)) break;
                continue;
            }
            if (first.Result.Task.IsCompleted) continue; // cancelled while waiting
            var batch = new List<Request> { first };
            if (first.Key is not null && first.Rows < _options.MaxBatchSize)
                carried = await GatherAsync(reader, batch).ConfigureAwait(false);
            Execute(batch);
        }
        if (carried is not null) Execute([carried]);
    }

    /// <summary>Adds compatible requests until the batch is full or the delay is over; returns an incompatible one
    /// (it leads the next batch).</summary>
    private async Task<Request?> GatherAsync(ChannelReader<Request> reader, List<Request> batch)
    {
        var rows = batch[0].Rows;
        var clock = Stopwatch.StartNew();
        while (rows < _options.MaxBatchSize)
        {
            if (reader.TryRead(out var next))
            {
                if (next.Result.Task.IsCompleted) continue;
                if (next.Key != batch[0].Key || rows + next.Rows > _options.MaxBatchSize) return next;
                batch.Add(next);
                rows += next.Rows;
                continue;
            }
            var left = _options.MaxQueueDelay - clock.Elapsed;
            if (left <= TimeSpan.Zero) break;
            using var timeout = new CancellationTokenSource(left);
            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false)) break;
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return null;
    }

    private void Execute(List<Request> batch)
    {
        batch.RemoveAll(r => r.Result.Task.IsCompleted);
        if (batch.Count == 0) return;
        Interlocked.Add(ref _requests, batch.Count);
        if (batch.Count == 1) { RunOne(batch[0]); return; }
        IReadOnlyList<NamedTensor> outputs;
        var total = batch.Sum(r => r.Rows);
        try
        {
            outputs = RunCounted(Concatenate(batch));
        }
        catch (Exception)
        {
            // One bad request must not fail its neighbours: rerun them one by one.
            foreach (var r in batch) RunOne(r);
            return;
        }
        Interlocked.Exchange(ref _largestBatch, Math.Max(Interlocked.Read(ref _largestBatch), total));
        if (outputs.Any(o => o.Dims.Length == 0 || o.Dims[0] != total))
        {
            // The outputs do not follow the batch dim after all (the model mixes rows): batching is not safe.
            foreach (var r in batch) RunOne(r);
            return;
        }
        var offset = 0L;
        foreach (var r in batch)
        {
            r.Complete(outputs.Select(o => Slice(o, offset, r.Rows, total)).ToList());
            offset += r.Rows;
        }
    }

    private void RunOne(Request r)
    {
        if (r.Result.Task.IsCompleted) return;
        try
        {
            r.Complete(RunCounted(r.Inputs));
            Interlocked.Exchange(ref _largestBatch, Math.Max(Interlocked.Read(ref _largestBatch), r.Rows));
        }
        catch (Exception e)
        {
            r.Fail(e);
        }
    }

    private IReadOnlyList<NamedTensor> RunCounted(IReadOnlyList<NamedTensor> inputs)
    {
        Interlocked.Increment(ref _runs);
        return _run(inputs);
    }

    private static List<NamedTensor> Concatenate(List<Request> batch)
    {
        var first = batch[0].Inputs;
        var result = new List<NamedTensor>(first.Count);
        for (var i = 0; i < first.Count; i++)
        {
            var parts = batch.Select(r => r.Inputs[i]).ToList();
            var dims = (long[])first[i].Dims.Clone();
            dims[0] = parts.Sum(p => p.Dims[0]);
            result.Add(first[i].ElementType == DataType.String
                ? new NamedTensor(first[i].Name, DataType.String, dims, strings: parts.SelectMany(p => p.Strings!).ToArray())
                : new NamedTensor(first[i].Name, first[i].ElementType, dims, Concat(parts.Select(p => p.Data!))));
        }
        return result;
    }

    private static byte[] Concat(IEnumerable<byte[]> parts)
    {
        var list = parts.ToList();
        var all = new byte[list.Sum(p => (long)p.Length)];
        var at = 0;
        foreach (var p in list) { p.CopyTo(all, at); at += p.Length; }
        return all;
    }

    private static NamedTensor Slice(NamedTensor t, long start, long rows, long total)
    {
        var dims = (long[])t.Dims.Clone();
        dims[0] = rows;
        var perRow = total == 0 ? 0 : t.ElementCount / total;
        if (t.ElementType == DataType.String)
            return new NamedTensor(t.Name, t.ElementType, dims, strings: t.Strings!.AsSpan((int)(start * perRow), (int)(rows * perRow)).ToArray());
        var size = DataTypes.ByteSize(t.ElementType);
        return new NamedTensor(t.Name, t.ElementType, dims, t.Data!.AsSpan((int)(start * perRow * size), (int)(rows * perRow * size)).ToArray());
    }

    /// <summary>Requests batch together only when their inputs agree on element types and every dim but the first,
    /// and all inputs of a request share one leading dim.</summary>
    private static string? KeyOf(IReadOnlyList<NamedTensor> inputs)
    {
        if (inputs.Count == 0 || inputs.Any(t => t.Dims.Length == 0)) return null;
        var rows = inputs[0].Dims[0];
        if (rows == 0 || inputs.Any(t => t.Dims[0] != rows)) return null;
        var key = new StringBuilder();
        foreach (var t in inputs)
            key.Append((int)t.ElementType).Append(':').Append(string.Join(",", t.Dims.Skip(1))).Append(';');
        return key.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        _queue.Writer.TryComplete();
        // Requests already queued are still served before the loop ends.
        await _loop.ConfigureAwait(false);
    }

    private sealed class Request(IReadOnlyList<NamedTensor> inputs, string? key)
    {
        public IReadOnlyList<NamedTensor> Inputs { get; } = inputs;
        public string? Key { get; } = key;
        public long Rows { get; } = key is null ? 1 : inputs[0].Dims[0];
        public TaskCompletionSource<IReadOnlyList<NamedTensor>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(IReadOnlyList<NamedTensor> outputs)
        {
            Result.TrySetResult(outputs);
            Registration.Dispose();
        }

        public void Fail(Exception e)
        {
            Result.TrySetException(e);
            Registration.Dispose();
        }
    }
}
