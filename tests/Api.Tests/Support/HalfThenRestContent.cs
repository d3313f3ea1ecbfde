using System.Net;

namespace NeuralService.Api.Tests.Support;

/// <summary>A request body that sends its first half, signals <paramref name="halfSent"/>, and sends the rest only once
/// <paramref name="release"/> completes: a request caught in flight (shutdown, an upload buffered on disk).</summary>
public sealed class HalfThenRestContent(byte[] bytes, Task release, TaskCompletionSource halfSent) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
        await stream.FlushAsync();
        halfSent.SetResult();
        await release;
        await stream.WriteAsync(bytes.AsMemory(bytes.Length / 2));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = bytes.Length;
        return true;
    }
}
