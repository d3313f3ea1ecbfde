using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class CsvTests
{
    [Fact]
    public void LabelByNameWithInvariantNumbers()
    {
        using var dir = new TempDir();
        var path = dir.File("d.csv");
        File.WriteAllText(path, "x1,class,x2\n1.5,2,-3e2\n\"4\",0,0.25\n");
        var ds = Csv.Load(path, new CsvOptions { LabelColumn = "class", LabelType = DType.Int64 });
        Assert.Equal([2, 2], ds.Features.Shape);
        Assert.Equal(new[] { 1.5f, -300f, 4f, 0.25f }, ds.Features.As<float>());
        Assert.Equal(new long[] { 2, 0 }, ds.Labels!.As<long>());
    }

    [Fact]
    public void LabelByNegativeIndexWithoutHeader()
    {
        using var dir = new TempDir();
        var path = dir.File("d.csv");
        File.WriteAllText(path, "1;2;0.5\n3;4;1.5\n");
        var ds = Csv.Load(path, new CsvOptions { HasHeader = false, Delimiter = ';', LabelIndex = -1 });
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, ds.Features.As<float>());
        Assert.Equal(new[] { 0.5f, 1.5f }, ds.Labels!.As<float>());
    }

    [Fact]
    public void BadNumberNamesFileLineAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.csv");
        File.WriteAllText(path, "a,b\n1,2\n3,4\n5,x7\n");
        var e = Assert.Throws<DataFormatException>(() => Csv.Load(path, new CsvOptions { LabelColumn = "b" }));
        Assert.Contains("bad.csv:4:", e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Contains("'x7'", e.Message);
    }

    [Fact]
    public void WrongFieldCountAndCommaDecimalsFail()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.csv");
        File.WriteAllText(path, "a,b\n1,2\n3\n");
        Assert.Contains(":3: 1 fields, expected 2", Assert.Throws<DataFormatException>(() => Csv.Load(path)).Message);
        File.WriteAllText(path, "a;b\n1,5;2\n");
        Assert.Contains(":2:", Assert.Throws<DataFormatException>(() => Csv.Load(path, new CsvOptions { Delimiter = ';' })).Message);
    }

    [Fact]
    public void UnknownLabelColumnListsTheHeader()
    {
        using var dir = new TempDir();
        var path = dir.File("d.csv");
        File.WriteAllText(path, "a,b\n1,2\n");
        var e = Assert.Throws<DataFormatException>(() => Csv.Load(path, new CsvOptions { LabelColumn = "y" }));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("a, b", e.Message);
    }

    [Fact]
    public void QuotedFieldsKeepDelimitersAndQuotes()
    {
        var rows = Csv.Records(new StringReader("\"a,b\",\"say \"\"hi\"\"\",c\n"), ',').ToList();
        Assert.Equal(["a,b", "say \"hi\"", "c"], rows[0].Fields);
    }
}
