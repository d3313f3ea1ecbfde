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

    [Theory]
    [InlineData("", "register_as '' is invalid: it is empty; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'fashion-mlp'")]
    [InlineData("my model/v2", "register_as 'my model/v2' is invalid: ' ' is not allowed; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'my-model-v2'")]
    [InlineData("-dash", "register_as '-dash' is invalid: it starts with '-'; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'dash'")]
    [InlineData("a..b", "register_as 'a..b' is invalid: '..' is not allowed; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'a.b'")]
    public void Refusals_say_what_is_wrong_and_what_to_send(string name, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidModelException>(() => ModelName.Check(name, "register_as")).Message);

    [Fact]
    public void Refuses_names_over_128_characters()
    {
        Assert.True(ModelName.IsValid(new string('a', 128)));
        Assert.False(ModelName.IsValid(new string('a', 129)));
    }
}
