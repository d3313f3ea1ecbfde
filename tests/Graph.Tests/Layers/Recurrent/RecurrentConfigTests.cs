using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class RecurrentConfigTests
{
    private static readonly HashSet<string> Classes = ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"];

    private static readonly string[] Keras3Common =
    [
        "name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask",
        "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
        "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint",
        "bias_constraint", "dropout", "recurrent_dropout", "seed",
    ];

    [Fact]
    public void WritesEveryKeyKeras3Writes()
    {
        var lstm = KerasJson.WriteConfig(new LSTMConfig { Units = 2 });
        var gru = KerasJson.WriteConfig(new GRUConfig { Units = 2 });
        var rnn = KerasJson.WriteConfig(new SimpleRNNConfig { Units = 2 });
        foreach (var key in Keras3Common)
        {
            Assert.True(lstm.ContainsKey(key), key);
            Assert.True(gru.ContainsKey(key), key);
            Assert.True(rnn.ContainsKey(key), key);
        }
        Assert.True(lstm.ContainsKey("recurrent_activation") && lstm.ContainsKey("unit_forget_bias"));
        Assert.True(gru.ContainsKey("recurrent_activation") && gru["reset_after"]!.GetValue<bool>());
        // Keras 2's keys appear only when the config had them.
        Assert.False(lstm.ContainsKey("implementation") || lstm.ContainsKey("time_major"));
        var bi = KerasJson.WriteConfig(new Bidirectional(new GRU(2)).Config);
        Assert.Equal("concat", bi["merge_mode"]!.GetValue<string>());
        Assert.Equal("GRU", bi["layer"]!["class_name"]!.GetValue<string>());
        Assert.True(bi["backward_layer"]!["config"]!["go_backwards"]!.GetValue<bool>());
        // What we write reads back into the same two layers.
        var again = new Bidirectional(KerasJson.ReadConfig<BidirectionalConfig>(bi.ToJsonString()));
        Assert.Equal(bi.ToJsonString(), KerasJson.WriteConfig(again.Config).ToJsonString());
    }

    [Fact]
    public void ReadsAndWritesBackEveryCorpusRecurrentConfig()
    {
        var found = 0;
        foreach (var file in RepoPaths.KerasCorpusFiles())
            foreach (var layer in Walk(JsonNode.Parse(File.ReadAllText(file))!))
            {
                var className = layer["class_name"]!.GetValue<string>();
                var source = layer["config"]!.AsObject();
                var entry = LayerRegistry.Find(className)!;
                var config = KerasJson.ReadConfig(source, entry.ConfigType);
                var built = entry.Create(config);
                Assert.Equal(className, built.ClassName);
                var written = KerasJson.WriteConfig(config);
                foreach (var (key, value) in source)
                {
                    Assert.True(written.ContainsKey(key), $"{Path.GetFileName(file)} {className}: '{key}' is not written back");
                    if (value is JsonValue)
                        Assert.True(JsonNode.DeepEquals(value, written[key]), $"{Path.GetFileName(file)} {className}: '{key}' {value} became {written[key]}");
                }
                found++;
            }
        Assert.True(found >= 14, $"only {found} recurrent layer configs found in the corpus");
    }

    [Theory]
    [InlineData("023-apple-gru-k3.json", 12929)]
    [InlineData("027-simple-rnn.json", 2651)]
    public void CorpusModelsCountParametersLikeKeras(string file, int totalParams)
    {
        var doc = JsonNode.Parse(File.ReadAllText(RepoPaths.KerasCorpusFile(file)))!;
        var model = new Sequential();
        // Keras ≤ 2.1 writes a Sequential config as the plain list of layers.
        var layers = doc["config"] as JsonArray ?? doc["config"]!["layers"]!.AsArray();
        foreach (var l in layers)
        {
            var entry = LayerRegistry.Find(l!["class_name"]!.GetValue<string>())!;
            model.Add(entry.Create(KerasJson.ReadConfig(l["config"]!.AsObject(), entry.ConfigType)));
        }
        Assert.Equal(totalParams, model.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        Assert.Contains(onnx.Graph.Node, n => n.OpType is "GRU" or "RNN");
    }

    [Fact]
    public void BidirectionalReadsAKeras3BackwardLayer()
    {
        var forward = WrappedLayers.Serialize(new LSTM(new LSTMConfig { Units = 2, Name = "forward_lstm_x" }));
        var backward = WrappedLayers.Serialize(new LSTM(new LSTMConfig { Units = 2, Name = "backward_lstm_x", GoBackwards = true }));
        var config = KerasJson.ReadConfig<BidirectionalConfig>(new JsonObject
        {
            ["name"] = "bidi_x", ["trainable"] = true, ["dtype"] = "float32", ["merge_mode"] = "ave",
            ["layer"] = forward, ["backward_layer"] = backward,
        }.ToJsonString());
        var layer = new Bidirectional(config);
        Assert.Equal("forward_lstm_x", layer.Forward.Name);
        Assert.Equal("backward_lstm_x", layer.Backward.Name);
        Assert.True(layer.Backward.GoBackwards);
        var same = new JsonObject { ["name"] = "bidi_y", ["layer"] = forward.DeepClone(), ["backward_layer"] = forward.DeepClone() };
        Assert.Throws<ArgumentException>(() => new Bidirectional(KerasJson.ReadConfig<BidirectionalConfig>(same.ToJsonString())));
    }

    private static IEnumerable<JsonObject> Walk(JsonNode node)
    {
        if (node is JsonObject o)
        {
            if (o["class_name"] is JsonValue v && v.TryGetValue<string>(out var cls) && Classes.Contains(cls) && o["config"] is JsonObject)
            {
                yield return o;
                yield break; // nested layers of wrappers are read by the wrapper
            }
            foreach (var (_, child) in o)
                if (child is not null)
                    foreach (var x in Walk(child)) yield return x;
        }
        else if (node is JsonArray a)
            foreach (var child in a)
                if (child is not null)
                    foreach (var x in Walk(child)) yield return x;
    }
}
