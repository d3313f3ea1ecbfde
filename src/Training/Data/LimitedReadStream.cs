namespace NeuralService.Training.Data;

/// <summary>Reads through to a decompressing stream and refuses to hand out more than <see cref="Limit"/> bytes in
/// all: what a zip member or gzip stream actually expands to, whatever its headers claim.</summary>
internal sealed class LimitedReadStream(Stream inner, long limit, string name) : Stream
{
    public long Limit { get; } = limit;
    public long BytesRead { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Ask for one byte beyond the limit so a stream that goes on past it is caught, not silently cut.
        var want = (int)Math.Min(buffer.Length, Limit - BytesRead + 1);
        if (want <= 0) want = 1;
        var n = inner.Read(buffer[..want]);
        BytesRead += n;
        if (BytesRead > Limit)
            throw new DataTooLargeException($"{name}: expands to more than {Limit} bytes, over the limit on decompressed data");
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
