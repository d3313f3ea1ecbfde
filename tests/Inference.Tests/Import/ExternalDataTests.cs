using NeuralService.Inference.Import;
using NeuralService.Inference.Tests.Support;
using Onnx;

namespace NeuralService.Inference.Tests.Import;

/// <summary>External-data references: inlined from inside the model's directory, refused otherwise
/// (CVE-2022-25882, CVE-2024-27318).</summary>
public sealed class ExternalDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly OnnxImporter _importer = new();

    private string Write(string relative, byte[] bytes)
    {
        var path = _dir.Combine(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void External_data_inside_the_model_directory_is_inlined()
    {
        Write("model/weights/w.bin", [0, 0, 0, 0, .. ExternalModels.WeightBytes]);
        var prepared = _importer.FromFile(Write("model/m.onnx", ExternalModels.WithExternalWeights("weights/w.bin", offset: 4).Bytes()));
        var w = prepared.Model.Graph.Initializer.Single(t => t.Name == "w");
        Assert.Equal(TensorProto.Types.DataLocation.Default, w.DataLocation);
        Assert.Equal(ExternalModels.WeightBytes, w.RawData.ToByteArray());
        Assert.False(ExternalData.HasExternal(ModelProto.Parser.ParseFrom(prepared.Bytes)));
    }

    [Theory]
    [InlineData("../secret.bin", "contains '..'")]
    [InlineData("weights/../../secret.bin", "contains '..'")]
    [InlineData("/etc/passwd", "relative path")]
    [InlineData("missing.bin", "does not exist")]
    public void External_data_path_tricks_are_refused(string location, string message)
    {
        Write("secret.bin", ExternalModels.WeightBytes);
        var path = Write("model/m.onnx", ExternalModels.WithExternalWeights(location).Bytes());
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromFile(path));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Symlinks_leading_out_of_the_model_directory_are_refused()
    {
        Write("secret.bin", ExternalModels.WeightBytes);
        Directory.CreateDirectory(_dir.Combine("model"));
        File.CreateSymbolicLink(_dir.Combine("model", "w.bin"), _dir.Combine("secret.bin"));
        Directory.CreateSymbolicLink(_dir.Combine("model", "outside"), _dir.Path);
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromFile(Write("model/m.onnx", ExternalModels.WithExternalWeights("w.bin").Bytes())));
        Assert.Contains("resolves outside", e.Message);
        e = Assert.Throws<InvalidModelException>(() => _importer.FromFile(Write("model/m2.onnx", ExternalModels.WithExternalWeights("outside/secret.bin").Bytes())));
        Assert.Contains("resolves outside", e.Message);
        // A link that stays inside is fine.
        Write("model/real.bin", ExternalModels.WeightBytes);
        File.CreateSymbolicLink(_dir.Combine("model", "inside.bin"), _dir.Combine("model", "real.bin"));
        _importer.FromFile(Write("model/m3.onnx", ExternalModels.WithExternalWeights("inside.bin").Bytes()));
    }

    [Fact]
    public void External_data_out_of_file_bounds_is_refused()
    {
        Write("model/w.bin", ExternalModels.WeightBytes);
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromFile(Write("model/m.onnx", ExternalModels.WithExternalWeights("w.bin", offset: 8).Bytes())));
        Assert.Contains("outside 'w.bin'", e.Message);
    }

    [Fact]
    public void External_data_is_refused_for_uploaded_bytes()
    {
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromBytes(ExternalModels.WithExternalWeights("w.bin").Bytes()));
        Assert.Contains("external file", e.Message);
    }

    public void Dispose() => _dir.Dispose();
}
