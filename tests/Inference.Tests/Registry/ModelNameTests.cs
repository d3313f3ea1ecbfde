using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Tests.Registry;

public sealed class ModelNameTests
{
    [Theory]
    [InlineData("resnet50")]
    [InlineData("A.b_c-9")]
    [InlineData("x")]
    public void Accepts_safe_names(string name) => Assert.Equal(name, ModelName.Check(name));

    [Theory]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("a..b")]
    [InlineData("white space")]
    [InlineData("ünïcode")]
    public void Refuses_unsafe_names(string name)
    {
        var e = Assert.Throws<InvalidModelException>(() => ModelName.Check(name));
        Assert.Contains($"'{name}'", e.Message);
    }

    [Fact]
    public void Refuses_names_over_128_characters()
    {
        Assert.True(ModelName.IsValid(new string('a', 128)));
        Assert.False(ModelName.IsValid(new string('a', 129)));
    }
}
