using System.Collections.Concurrent;
using System.Threading.Channels;

namespace NeuralService.Api.Jobs;

/// <summary>Fan-out of job progress to Server-Sent Event listeners; a slow listener loses old events, never blocks training.</summary>
public sealed class JobEvents
{
    private readonly ConcurrentDictionary<string, ImmutableList> _listeners = new(StringComparer.Ordinal);

    private sealed record ImmutableList(IReadOnlyList<Channel<JobEvent>> Items);

    public IDisposable Subscribe(string jobId, out ChannelReader<JobEvent> reader)
    {
        var channel = Channel.CreateBounded<JobEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        _listeners.AddOrUpdate(jobId, _ => new([channel]), (_, l) => new([.. l.Items, channel]));
        reader = channel.Reader;
        return new Unsubscriber(() => _listeners.AddOrUpdate(jobId, _ => new([]), (_, l) => new(l.Items.Where(c => c != channel).ToList())));
    }

    public void Publish(string jobId, JobEvent e)
    {
        if (_listeners.TryGetValue(jobId, out var l))
            foreach (var c in l.Items) c.Writer.TryWrite(e);
    }

    private sealed class Unsubscriber(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
