using System.Buffers.Binary;
using Google.Protobuf;
using NeuralService.Training.Callbacks;

namespace NeuralService.Training.Tests.Support;

/// <summary>Reads TensorBoard event files as TensorBoard does: TFRecord frames (both CRCs checked) of tensorflow.Event
/// protobufs, decoded Event → Summary → Value into (tag, step, value). Shared by the callback's own tests and the
/// training-job tests that download the files.</summary>
public static class TensorBoardEventFiles
{
    public static (List<(string Tag, long Step, float Value)> Scalars, int Records) Read(byte[] bytes)
    {
        var result = new List<(string, long, float)>();
        var records = 0;
        for (var at = 0; at < bytes.Length; records++)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Assert.Equal(Crc32C.Masked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            var data = bytes.AsSpan(at + 12, length).ToArray();
            Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + length)));
            at += 16 + length;
            long step = 0;
            var input = new CodedInputStream(data);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: input.ReadDouble(); break;
                    case 2: step = input.ReadInt64(); break;
                    case 3: Assert.Equal("brain.Event:2", input.ReadString()); break;
                    case 5:
                        var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                        while (summary.ReadTag() != 0)
                        {
                            var value = new CodedInputStream(summary.ReadBytes().ToByteArray());
                            string? name = null;
                            var v = float.NaN;
                            uint vt;
                            while ((vt = value.ReadTag()) != 0)
                                if (WireFormat.GetTagFieldNumber(vt) == 1) name = value.ReadString();
                                else v = value.ReadFloat();
                            result.Add((name!, step, v));
                        }
                        break;
                    default: input.SkipLastField(); break;
                }
            }
        }
        return (result, records);
    }
}
