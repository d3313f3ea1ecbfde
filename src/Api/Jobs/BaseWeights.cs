using System.Globalization;
using NeuralService.Api.Errors;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using Onnx;

namespace NeuralService.Api.Jobs;

/// <summary>Fine-tuning a registered version: its stored ONNX weights are loaded into the model rebuilt from its Keras
/// config, and the layers asked for are frozen. Weights are matched by the initializer name the model's own export
/// gives each weight, so a config and an ONNX file that do not belong together fail here, naming the weight.</summary>
public static class BaseWeights
{
    /// <summary>Assigns every weight the model's graph reads from the initializer of the same name in
    /// <paramref name="stored"/>; <paramref name="what"/> names the version in errors (422).</summary>
    public static int Load(Model model, ModelProto stored, string what)
    {
        var initializers = stored.Graph.Initializer.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        // The same trace the export makes (inference mode): each weight's value there is named as in a file we wrote.
        var g = new GraphBuilder();
        model.Trace(g, new CallContext(training: false));
        var read = g.ReadNames().ToHashSet(StringComparer.Ordinal);
        var loaded = 0;
        foreach (var w in model.Weights)
        {
            var name = Layer.WeightValue(g, w).Name;
            if (!read.Contains(name)) continue; // off every output's path: not in an exported file either
            if (!initializers.TryGetValue(name, out var t))
                throw ApiException.Unprocessable($"base_model {what}: its ONNX file has no initializer '{name}' for weight {w.Path} {Dims(w.Shape)}; " +
                                                 "its keras_config does not describe its weights, so it cannot be fine-tuned (train it afresh with 'model')");
            var dims = Tensors.DimsOf(t);
            if (!dims.SequenceEqual(w.Shape))
                throw ApiException.Unprocessable($"base_model {what}: weight {w.Path} is {Dims(w.Shape)} in its keras_config but {Dims(dims)} in its ONNX file " +
                                                 $"(initializer '{name}'); it cannot be fine-tuned (train it afresh with 'model')");
            if (Tensors.TypeOf(t) != TensorProto.Types.DataType.Float)
                throw ApiException.Unprocessable($"base_model {what}: initializer '{name}' is {Tensors.TypeOf(t)}, not float; it cannot be fine-tuned");
            w.Assign(Tensors.ToFloats(t));
            loaded++;
        }
        return loaded;
    }

    /// <summary>Freezes the named layers (Keras's <c>layer.trainable = False</c>); an unknown name is a 400 listing the
    /// layers there are. Returns the layers it changed (those the config did not already freeze).</summary>
    public static IReadOnlyList<Layer> Freeze(Model model, IReadOnlyList<string>? layers)
    {
        var changed = new List<Layer>();
        foreach (var name in layers ?? [])
        {
            var layer = model.Layers.FirstOrDefault(l => l.Name == name)
                ?? throw ApiException.BadRequest($"base_model.freeze: the model has no layer '{name}'; its layers are {string.Join(", ", model.Layers.Select(l => l.Name))}");
            if (!layer.Trainable) continue;
            layer.Trainable = false;
            changed.Add(layer);
        }
        return changed;
    }

    private static string Dims(IEnumerable<long> dims) => "[" + string.Join(",", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
