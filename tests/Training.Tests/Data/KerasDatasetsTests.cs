using System.Text;
using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class KerasDatasetsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MnistNpzLayout(bool compressed)
    {
        using var dir = new TempDir();
        var path = dir.File("mnist.npz");
        var xTrain = DataArray.Create(Enumerable.Range(0, 3 * 28 * 28).Select(i => (byte)(i % 256)).ToArray(), 3, 28, 28);
        Npz.Write(path, new Dictionary<string, DataArray>
        {
            ["x_train"] = xTrain,
            ["y_train"] = DataArray.Vector(new byte[] { 5, 0, 4 }),
            ["x_test"] = DataArray.Create(new byte[28 * 28], 1, 28, 28),
            ["y_test"] = DataArray.Vector(new byte[] { 7 }),
        }, compressed);
        var (train, test) = KerasDatasets.LoadMnist(path);
        Assert.Equal([3, 28, 28], train.Features.Shape);
        Assert.Equal(xTrain.As<byte>(), train.Features.As<byte>());
        Assert.Equal(new byte[] { 5, 0, 4 }, train.Labels!.As<byte>());
        Assert.Equal(1, test.Count);
        Assert.Equal(new byte[] { 7 }, test.Labels!.As<byte>());
    }

    [Fact]
    public void MissingMemberIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("mnist.npz");
        Npz.Write(path, new Dictionary<string, DataArray> { ["x_train"] = DataArray.Vector(new byte[1]) });
        var e = Assert.Throws<DataFormatException>(() => KerasDatasets.LoadMnist(path));
        Assert.Contains("'y_train'", e.Message);
    }

    [Fact]
    public void ImdbRaggedLayoutAppliesKerasTransforms()
    {
        using var dir = new TempDir();
        var path = dir.File("imdb.npz");
        var train = new SequenceData([[1, 5, 2], [7], [3, 3, 3, 3, 3, 3]], [1, 0, 1]);
        var test = new SequenceData([[], [4, 9]], [0, 1]);
        KerasDatasets.WriteImdbNpz(path, train, test);

        var (tr, te) = KerasDatasets.LoadImdb(path);
        Assert.Equal([1, 4, 8, 5], tr.Sequences[0]); // start_char 1, then rank + index_from 3
        Assert.Equal([1], te.Sequences[0]);
        Assert.Equal(new long[] { 1, 0, 1 }, tr.Labels);

        // num_words=8: indices >= 8 become oov_char 2; maxlen=5 drops sequences of length >= 5.
        var (tr2, te2) = KerasDatasets.LoadImdb(path, numWords: 8, maxlen: 5);
        Assert.Equal(2, tr2.Count);
        Assert.Equal([1, 4, 2, 5], tr2.Sequences[0]);
        Assert.Equal([1, 2], tr2.Sequences[1]); // 7 + 3 = 10 → OOV
        Assert.Equal(new long[] { 1, 0 }, tr2.Labels);
        Assert.Equal([1, 7, 2], te2.Sequences[1]);

        var padded = tr2.ToDataset(maxlen: 3);
        Assert.Equal([2, 3], padded.Features.Shape);
        Assert.Equal(new[] { 4, 2, 5, 0, 1, 2 }, padded.Features.As<int>());
        Assert.Equal(new long[] { 1, 0 }, padded.Labels!.As<long>());
    }

    [Fact]
    public void ImdbPaddedLayoutStripsZeros()
    {
        using var dir = new TempDir();
        var path = dir.File("imdb.npz");
        Npz.Write(path, new Dictionary<string, DataArray>
        {
            ["x_train"] = DataArray.Create(new[] { 0, 0, 4, 6, 1, 2, 3, 0 }, 2, 4),
            ["y_train"] = DataArray.Vector(new long[] { 0, 1 }),
            ["x_test"] = DataArray.Create(new[] { 9, 0 }, 1, 2),
            ["y_test"] = DataArray.Vector(new long[] { 1 }),
        });
        // Without num_words Keras uses the largest index as the limit, which maps that index itself to OOV; pass 10.
        var (tr, te) = KerasDatasets.LoadImdb(path, numWords: 10, startChar: null, indexFrom: 0);
        Assert.Equal([4, 6], tr.Sequences[0]);
        Assert.Equal([1, 2, 3], tr.Sequences[1]);
        Assert.Equal([9], te.Sequences[0]);
    }

    [Fact]
    public void RealImdbPickledLayoutIsRefused()
    {
        using var dir = new TempDir();
        var path = dir.File("imdb.npz");
        var pickled = NpyTests.HandMade("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", Encoding.ASCII.GetBytes("\x80\x02]q\x00."));
        var labels = new MemoryStream();
        Npy.Write(labels, DataArray.Vector(new long[] { 0, 1 }));
        Npz.WriteRaw(path, new Dictionary<string, byte[]>
        {
            ["x_train.npy"] = pickled,
            ["y_train.npy"] = labels.ToArray(),
        });
        var e = Assert.Throws<DataFormatException>(() => KerasDatasets.LoadImdb(path));
        Assert.Contains("x_train.npy", e.Message);
        Assert.Contains("pickle", e.Message);
        Assert.Contains("offsets", e.Message);
    }
}
