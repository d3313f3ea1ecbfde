using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using NeuralService.Training.Callbacks;

namespace NeuralService.Training.Tests.Callbacks;

public sealed class TensorBoardTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tb");
    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void EventFilesHoldFramedScalarEventsPerSplit()
    {
        var control = new FakeControl();
        var tb = new TensorBoard(_dir.FullName);
        tb.OnTrainBegin(control);
        tb.OnEpochEnd(control, 0, new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.75 });
        tb.OnEpochEnd(control, 1, new Dictionary<string, double> { ["loss"] = 0.25, ["val_loss"] = 0.5 });
        tb.OnTrainEnd(control, new Dictionary<string, double>());

        var train = ReadScalars(Directory.GetFiles(Path.Combine(_dir.FullName, "train")).Single());
        Assert.Contains(("epoch_loss", 0L, 0.5f), train);
        Assert.Contains(("epoch_loss", 1L, 0.25f), train);
        Assert.Contains(("epoch_learning_rate", 1L, 0.1f), train);
        var validation = ReadScalars(Directory.GetFiles(Path.Combine(_dir.FullName, "validation")).Single());
        Assert.Equal([("epoch_loss", 0L, 0.75f), ("epoch_loss", 1L, 0.5f)], validation);
    }

    /// <summary>Reads TFRecord frames (checking both CRCs) and decodes Event → Summary → Value fields.</summary>
    private static List<(string Tag, long Step, float Value)> ReadScalars(string path)
    {
        var bytes = File.ReadAllBytes(path);
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
                            float v = 0;
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
        Assert.True(records >= 2);
        return result;
    }
}
