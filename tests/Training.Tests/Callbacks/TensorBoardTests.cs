using System.Text;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Tests.Support;

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

    private static List<(string Tag, long Step, float Value)> ReadScalars(string path)
    {
        var (scalars, records) = TensorBoardEventFiles.Read(File.ReadAllBytes(path));
        Assert.True(records >= 2); // the file-version event, then the epochs'
        return scalars;
    }
}
