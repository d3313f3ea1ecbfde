using NeuralService.Inference.Import;
using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Import;

public sealed class OnnxImporterTests : IDisposable
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
    public void Accepts_a_valid_model_and_reads_its_signature()
    {
        var prepared = _importer.FromFile(Write("m.onnx", TestModels.Affine().Bytes()));
        Assert.Equal(17, prepared.Opset);
        Assert.Equal("x: float32[batch,3]", prepared.Signature.Inputs[0].ToString());
    }

    [Fact]
    public void Bad_protobuf_is_refused_clearly()
    {
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromBytes([0x0a, 0xff, 0xff, 0xff, 0x01, 0x02]));
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void Newer_opset_is_refused_with_its_version()
    {
        var model = TestModels.Affine();
        model.OpsetImport[0].Version = 18;
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromBytes(model.Bytes()));
        Assert.Contains("opset 18", e.Message);
    }

    [Fact]
    public void Undefined_node_input_is_refused()
    {
        var model = TestModels.Affine();
        model.Graph.Node[0].Input[0] = "ghost";
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromBytes(model.Bytes()));
        Assert.Contains("'ghost'", e.Message);
    }

    [Fact]
    public void Negative_and_huge_declared_dims_are_refused()
    {
        var model = TestModels.Affine();
        model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = -3;
        Assert.Contains("negative dimension -3", Assert.Throws<InvalidModelException>(() => _importer.FromBytes(model.Bytes())).Message);
        model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = 1L << 40;
        Assert.Contains("over the limit", Assert.Throws<InvalidModelException>(() => _importer.FromBytes(model.Bytes())).Message);
    }

    [Fact]
    public void Model_that_onnx_runtime_cannot_load_is_refused()
    {
        var model = TestModels.Affine();
        model.Graph.Node[0].OpType = "NoSuchOp";
        var e = Assert.Throws<InvalidModelException>(() => _importer.FromBytes(model.Bytes()));
        Assert.Contains("ONNX Runtime cannot load", e.Message);
    }

    [Fact]
    public void Oversized_file_is_refused_before_reading()
    {
        var small = new OnnxImporter(new ImportLimits { MaxModelBytes = 1000 });
        var path = Write("big.onnx", TestModels.Large(1000, 1f).Bytes());
        var e = Assert.Throws<ModelTooLargeException>(() => small.FromFile(path));
        Assert.Contains("1000-byte limit", e.Message);
        Assert.Throws<ModelTooLargeException>(() => small.FromBytes(File.ReadAllBytes(path)));
    }

    [Fact]
    public void Import_root_confines_source_paths()
    {
        var importer = new OnnxImporter(new ImportLimits { ImportRoot = _dir.Combine("inbox") });
        var inside = Write("inbox/m.onnx", TestModels.Affine().Bytes());
        var outside = Write("elsewhere/m.onnx", TestModels.Affine().Bytes());
        File.CreateSymbolicLink(_dir.Combine("inbox", "link.onnx"), outside);
        importer.FromFile(inside);
        Assert.Contains("outside the import directory", Assert.Throws<InvalidModelException>(() => importer.FromFile(outside)).Message);
        Assert.Contains("outside the import directory", Assert.Throws<InvalidModelException>(() => importer.FromFile(_dir.Combine("inbox", "..", "elsewhere", "m.onnx"))).Message);
        Assert.Contains("outside the import directory", Assert.Throws<InvalidModelException>(() => importer.FromFile(_dir.Combine("inbox", "link.onnx"))).Message);
    }

    [Fact]
    public async Task Registry_import_writes_only_inside_its_data_directory()
    {
        Write("src/w.bin", ExternalModels.WeightBytes);
        var source = Write("src/m.onnx", ExternalModels.WithExternalWeights("w.bin").Bytes());
        var before = Directory.GetFiles(_dir.Combine("src"));
        using var registry = await ModelRegistry.OpenSqliteAsync(_dir.Combine("data"));
        var v = await registry.ImportAsync("ext", source);
        Assert.StartsWith(_dir.Combine("data") + "/", registry.FilePath(v));
        Assert.Equal(before, Directory.GetFiles(_dir.Combine("src")));
        await Assert.ThrowsAsync<InvalidModelException>(() => registry.ImportAsync("ext", Write("src/bad.onnx", ExternalModels.WithExternalWeights("../w.bin").Bytes())));
        Assert.Single(await registry.ListVersionsAsync("ext"));
        Assert.Empty(await registry.CheckConsistencyAsync());
    }

    public void Dispose() => _dir.Dispose();
}
