using NeuralService.Training.Data;

namespace NeuralService.Applications.Tests;

/// <summary>The PyTorch peer (bench/apps/imdb_lstm.py) trains on the arrays <c>--export-data</c> writes, so they must
/// be exactly the ones the app trains and tests on.</summary>
public sealed class ImdbLstmExportTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("imdb-export");
    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void The_export_holds_the_prepared_train_and_test_arrays()
    {
        var (train, test) = ImdbLstm.Prepare(new AppOptions { Samples = 100, Seed = 3 });
        var path = Path.Combine(_dir.FullName, "imdb.npz");
        ImdbLstm.Export(path, train, test);
        var read = Npz.Read(path);
        Assert.Equal(["x_test", "x_train", "y_test", "y_train"], read.Keys.Order());
        Assert.Equal([80, ImdbLstm.Length], read["x_train"].Shape);
        Assert.Equal([20, 1], read["y_test"].Shape);
        Assert.Equal(DType.Int64, read["x_train"].DType);
        Assert.Equal(train.Features.ToInt64(), read["x_train"].ToInt64());
        Assert.Equal(test.Features.ToInt64(), read["x_test"].ToInt64());
        Assert.Equal(train.Labels!.ToFloat32(), read["y_train"].ToFloat32());
        Assert.Equal(test.Labels!.ToFloat32(), read["y_test"].ToFloat32());
        // Real tokens, not padding only: the texts were tokenized.
        Assert.Contains(read["x_train"].ToInt64(), t => t > 0);
    }
}
