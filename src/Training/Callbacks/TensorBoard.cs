using System.Buffers.Binary;
using Google.Protobuf;

namespace NeuralService.Training.Callbacks;

/// <summary>Writes per-epoch scalars as TensorBoard event files, as Keras does: <c>log_dir/train</c> and
/// <c>log_dir/validation</c>, tags <c>epoch_loss</c>, <c>epoch_accuracy</c>…</summary>
public sealed class TensorBoard(string logDir) : Callback
{
    private EventFileWriter? _train;
    private EventFileWriter? _validation;

    public override void OnTrainBegin(ITrainingControl control)
    {
        _train = new EventFileWriter(Path.Combine(logDir, "train"));
        _validation = new EventFileWriter(Path.Combine(logDir, "validation"));
    }

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        foreach (var (name, value) in logs)
        {
            if (name.StartsWith("val_", StringComparison.Ordinal)) _validation!.Scalar("epoch_" + name[4..], value, epoch);
            else _train!.Scalar("epoch_" + name, value, epoch);
        }
        _train!.Scalar("epoch_learning_rate", control.LearningRate, epoch);
        _train.Flush();
        _validation!.Flush();
    }

    public override void OnTrainEnd(ITrainingControl control, IReadOnlyDictionary<string, double> logs)
    {
        _train?.Dispose();
        _validation?.Dispose();
    }
}

/// <summary>A TensorFlow event file: TFRecord framing (length, masked CRC-32C, data, masked CRC-32C) of
/// <c>tensorflow.Event</c> protobufs, written field by field (Event: wall_time=1, step=2, file_version=3,
/// summary=5; Summary.value=1; Value: tag=1, simple_value=2).</summary>
public sealed class EventFileWriter : IDisposable
{
    private readonly FileStream _stream;

    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{stamp}.{Environment.MachineName}.{Environment.ProcessId}.v2");
        _stream = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Write(Event(w => { w.WriteTag(3, WireFormat.WireType.LengthDelimited); w.WriteString("brain.Event:2"); }, step: 0));
    }

    public string Path { get; }

    public void Scalar(string tag, double value, long step)
    {
        var v = new MemoryStream();
        using (var vw = new CodedOutputStream(v, leaveOpen: true))
        {
            vw.WriteTag(1, WireFormat.WireType.LengthDelimited); vw.WriteString(tag);
            vw.WriteTag(2, WireFormat.WireType.Fixed32); vw.WriteFloat((float)value);
        }
        var summary = new MemoryStream();
        using (var sw = new CodedOutputStream(summary, leaveOpen: true))
        {
            sw.WriteTag(1, WireFormat.WireType.LengthDelimited); sw.WriteBytes(ByteString.CopyFrom(v.ToArray()));
        }
        Write(Event(w => { w.WriteTag(5, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(summary.ToArray())); }, step));
    }

    private static byte[] Event(Action<CodedOutputStream> body, long step)
    {
        var ms = new MemoryStream();
        using (var w = new CodedOutputStream(ms, leaveOpen: true))
        {
            w.WriteTag(1, WireFormat.WireType.Fixed64); w.WriteDouble(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
            if (step != 0) { w.WriteTag(2, WireFormat.WireType.Varint); w.WriteInt64(step); }
            body(w);
        }
        return ms.ToArray();
    }

    private void Write(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        _stream.Write(header);
        _stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        _stream.Write(footer);
    }

    public void Flush() => _stream.Flush(flushToDisk: false);
    public void Dispose() => _stream.Dispose();
}

/// <summary>CRC-32C (Castagnoli), and TFRecord's masking of it.</summary>
public static class Crc32C
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        var c = (uint)i;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    public static uint Masked(ReadOnlySpan<byte> data)
    {
        var crc = Compute(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }
}
