using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace NeuralService.Training.Data;

/// <summary>
/// Reads the wrapped dataset on a background thread, keeping up to <see cref="BufferSize"/> finished batches ready,
/// so decoding/parsing the next batch overlaps with the training step on the current one. Order and content are
/// exactly the wrapped dataset's; a reader exception is rethrown, unchanged, to the consumer.
/// </summary>
public sealed class PrefetchDataset : IDataset
{
    private readonly IDataset _inner;

    public PrefetchDataset(IDataset inner, int bufferSize = 1)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (bufferSize <= 0) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "buffer size must be positive");
        _inner = inner;
        BufferSize = bufferSize;
    }

    public int BufferSize { get; }

    public IReadOnlyList<int> FeatureShape => _inner.FeatureShape;

    public int? BatchCount => _inner.BatchCount;

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        using var queue = new BlockingCollection<Batch>(BufferSize);
        using var cts = new CancellationTokenSource();
        Exception? failure = null;
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                foreach (var b in _inner.GetBatches(epoch))
                    queue.Add(b, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                // The consumer stopped early; nothing to report.
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                queue.CompleteAdding();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            foreach (var b in queue.GetConsumingEnumerable())
                yield return b;
            producer.Wait();
            // Rethrow the reader's own exception (a DataFormatException with its line number stays one).
            if (failure is not null) ExceptionDispatchInfo.Capture(failure).Throw();
        }
        finally
        {
            // Leaving early (break, exception) must stop the producer before the queue is disposed.
            cts.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }
}
