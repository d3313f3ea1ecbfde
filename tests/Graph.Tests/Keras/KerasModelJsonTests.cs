using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

public sealed class KerasModelJsonTests
{
    private const string Keras3Sequential = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "mlp", "trainable": true,
          "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
          "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 20], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 64, "activation": "relu", "use_bias": true,
              "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
              "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
              "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 20]}},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}, "registered_name": null}
          ], "build_input_shape": [null, 20]}, "registered_name": null}
        """;

    private const string Keras2Functional = """
        {"class_name": "Model", "keras_version": "2.1.4", "config": {"name": "two_in",
          "layers": [
            {"class_name": "InputLayer", "name": "a", "config": {"batch_input_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "a"}, "inbound_nodes": []},
            {"class_name": "InputLayer", "name": "b", "config": {"batch_input_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "b"}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "shared", "config": {"name": "shared", "units": 3, "activation": "tanh"}, "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "head", "config": {"name": "head", "units": 2}, "inbound_nodes": [[["shared", 1, 0, {}]]]}
          ],
          "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["shared", 0, 0], ["head", 0, 0]]}}
        """;

    [Fact]
    public void ReadsKeras3Sequential()
    {
        var model = KerasModelJson.Read(Keras3Sequential);
        Assert.IsType<Sequential>(model);
        Assert.Equal(20 * 64 + 64 + 64 * 10 + 10, model.CountParams());
        Assert.Equal("dense_1", model.Layers[^1].Name);
    }

    [Fact]
    public void ReadsKeras2FunctionalWithSharedLayerAndTwoOutputs()
    {
        var model = (Functional)KerasModelJson.Read(Keras2Functional);
        Assert.Equal(2, model.Inputs.Count);
        Assert.Equal(2, model.Outputs.Count);
        Assert.Equal(4 * 3 + 3 + 3 * 2 + 2, model.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var a = Reference.Random(8, 1);
        var b = Reference.Random(8, 2);
        var outs = Ort.Run(onnx, ("a", a, [2, 4]), ("b", b, [2, 4]));
        var shared = (Dense)model.GetLayer("shared");
        var head = (Dense)model.GetLayer("head");
        var sa = Reference.Dense(a, 2, 4, shared.Weights[0].Data, 3, shared.Weights[1].Data).Select(MathF.Tanh).ToArray();
        var sb = Reference.Dense(b, 2, 4, shared.Weights[0].Data, 3, shared.Weights[1].Data).Select(MathF.Tanh).ToArray();
        Reference.AssertClose(sa, outs["shared"].Data);
        Reference.AssertClose(Reference.Dense(sb, 2, 3, head.Weights[0].Data, 2, head.Weights[1].Data), outs["head"].Data);
    }

    [Fact]
    public void WrittenJsonReadsBackToTheSameModel()
    {
        foreach (var json in new[] { Keras3Sequential, Keras2Functional })
        {
            var model = KerasModelJson.Read(json);
            var written = KerasModelJson.Write(model);
            var again = KerasModelJson.Read(written);
            Assert.Equal(model.GetType(), again.GetType());
            Assert.Equal(model.CountParams(), again.CountParams());
            Assert.Equal(model.Layers.Select(l => (l.Name, l.ClassName)), again.Layers.Select(l => (l.Name, l.ClassName)));
            Assert.Equal(model.Layers.Select(ConfigJson), again.Layers.Select(ConfigJson));
            Assert.Equal(written, KerasModelJson.Write(again));
        }
    }

    /// <summary>Configs compared as Keras JSON; input layers by their declared shape (Keras 2 and 3 spell it differently).</summary>
    private static string ConfigJson(Layer l) => l is InputLayer i
        ? string.Join(",", i.Config.DeclaredInputShape!)
        : KerasJson.WriteConfig(l.Config with { Name = l.Name }).ToJsonString();

    [Theory]
    [InlineData("{\"class_name\": \"Sequential\", ", "malformed JSON")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "Dense", "config": {"units": -4}}]}}""", "$.config.layers[1] (Dense")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "Dense", "config": {"units": -4}}]}}""", "-4")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "FancyLayer", "config": {}}]}}""", "$.config.layers[1].class_name: unknown layer class 'FancyLayer'")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "Dense", "config": {"units": 3, "colour": "red"}}]}}""", "unknown argument 'colour'")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3}}]}}""", "declares no input shape")]
    public void BadSpecsFailWithOneClearMessage(string json, string expected)
    {
        var e = Assert.ThrowsAny<GraphException>(() => KerasModelJson.Read(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void CyclesInAFunctionalGraphAreReported()
    {
        const string json = """
            {"class_name": "Functional", "config": {"name": "loop", "layers": [
              {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
              {"class_name": "Dense", "name": "d1", "config": {"units": 3, "name": "d1"}, "inbound_nodes": [[["d2", 0, 0, {}]]]},
              {"class_name": "Dense", "name": "d2", "config": {"units": 3, "name": "d2"}, "inbound_nodes": [[["d1", 0, 0, {}]]]}],
              "input_layers": [["in", 0, 0]], "output_layers": [["d2", 0, 0]]}}
            """;
        var e = Assert.ThrowsAny<GraphException>(() => KerasModelJson.Read(json));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("$.config.layers[1]", e.Message);
    }

    [Fact]
    public void ShapeMismatchBetweenLayersNamesTheLayer()
    {
        const string json = """
            {"class_name": "Functional", "config": {"name": "bad", "layers": [
              {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 3], "name": "x"}, "inbound_nodes": []},
              {"class_name": "InputLayer", "name": "y", "config": {"batch_shape": [null, 5], "name": "y"}, "inbound_nodes": []},
              {"class_name": "Dense", "name": "d", "config": {"units": 2, "name": "d"}, "inbound_nodes": [[["x", 0, 0, {}]], [["y", 0, 0, {}]]]}],
              "input_layers": [["x", 0, 0], ["y", 0, 0]], "output_layers": [["d", 1, 0]]}}
            """;
        var e = Assert.ThrowsAny<GraphException>(() => KerasModelJson.Read(json));
        Assert.Contains("layers[2].inbound_nodes[1]", e.Message);
        Assert.Contains("'d'", e.Message);
    }
}

public sealed class NestedModelJsonTests
{
    [Fact]
    public void AnEncoderCalledTwiceRoundTripsWithKerasNodeNumbering()
    {
        var inner = Input.Of(4);
        var encoder = new Functional(inner, new Dense(3, "tanh").Apply(inner), "encoder");
        var a = Input.Of(4);
        var b = Input.Of(4);
        var model = new Functional([a, b], [new Subtract(new MergeConfig()).Apply(encoder.Apply(a), encoder.Apply(b))], "siamese");
        var json = KerasModelJson.Write(model);
        // Keras numbers a nested model's calls from 1 (its node 0 is its own construction).
        Assert.Matches("\"encoder\",\\s*2,", json);
        var again = (Functional)KerasModelJson.Read(json);
        Assert.Equal(model.CountParams(), again.CountParams());
        Assert.Equal(2, again.Nodes.Count(n => n.Layer.Name == "encoder"));
        var onnx = again.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(8, 3);
        var outs = Ort.Run(onnx, (again.InputNames[0], x, [2, 4]), (again.InputNames[1], x, [2, 4]));
        Assert.All(outs.Single().Value.Data, v => Assert.Equal(0f, v));
    }
}
