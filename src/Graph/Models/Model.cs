using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using Onnx;

namespace NeuralService.Graph.Models;

public sealed record ModelConfig : LayerConfig;

/// <summary>Options for <see cref="Model.ToOnnx"/>.</summary>
public sealed record ExportOptions
{
    /// <summary>Training behaviour (Dropout active, BatchNorm on batch statistics, state updates as extra outputs).</summary>
    public bool Training { get; init; }
    public int Seed { get; init; }
    /// <summary>Name/value pairs for the ONNX file's metadata_props.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>The result of emitting a model into a graph: its input and output values and, in training mode, state updates.</summary>
public sealed record ModelTrace(IReadOnlyList<Value> Inputs, IReadOnlyList<Value> Outputs, IReadOnlyList<StateUpdate> StateUpdates);

/// <summary>A model is a layer made of layers: Sequential or Functional. It can be nested inside another model.</summary>
public abstract class Model : Layer
{
    protected Model(LayerConfig config) : base(config) { }

    public override string ClassName => "Functional";
    public abstract IReadOnlyList<Layer> Layers { get; }
    public abstract IReadOnlyList<KerasTensor> Inputs { get; }
    public abstract IReadOnlyList<KerasTensor> Outputs { get; }

    /// <summary>Names of the graph outputs: the producing layers' names (suffixed when one layer gives several).</summary>
    public IReadOnlyList<string> OutputNames =>
        Outputs.Select(o => Outputs.Count(x => x.Layer == o.Layer) > 1 ? $"{o.Layer.Name}_{o.Index}" : o.Layer.Name).ToList();

    public IReadOnlyList<string> InputNames => Inputs.Select(i => i.Layer.Name).ToList();

    /// <summary>Every weight of every layer, once, in layer order (shared layers and nested models included).</summary>
    public override IReadOnlyList<Weight> Weights =>
        Layers.SelectMany(l => l.Weights).Distinct().ToList();

    public Layer GetLayer(string name) =>
        Layers.FirstOrDefault(l => l.Name == name) ?? throw new GraphException($"model '{Name}' has no layer named '{name}'");

    /// <summary>Emits the model into <paramref name="g"/> with fresh graph inputs named after the model's inputs.</summary>
    public ModelTrace Trace(GraphBuilder g, CallContext ctx)
    {
        var inputs = Inputs.Select(t => g.AddInput(t.Layer.Name, t.DType, t.Shape)).ToList();
        var outputs = Call(g, inputs, ctx);
        return new ModelTrace(inputs, outputs, ctx.StateUpdates.ToList());
    }

    /// <summary>The model as a standalone ONNX model (opset 17, IR 8) with a symbolic batch dimension.</summary>
    public ModelProto ToOnnx(ExportOptions? options = null)
    {
        options ??= new ExportOptions();
        var g = new GraphBuilder();
        var trace = Trace(g, new CallContext(options.Training, options.Seed));
        var names = OutputNames;
        for (var i = 0; i < trace.Outputs.Count; i++)
        {
            var o = trace.Outputs[i];
            var name = names[i];
            var taken = g.Inputs.Any(x => x.Name == o.Name) || g.Outputs.Any(x => x.Name == o.Name) || g.IsInitializer(o.Name);
            if (o.Name == name && !taken) g.AddOutput(o);
            else g.AddOutput(o, g.Contains(name) ? g.UniqueName(name) : name);
        }
        // State updates: BatchNorm's moving statistics in training mode; stateful recurrent layers' carried state in
        // both modes, whose current value is also an input (the stored value is its default) so that a caller can
        // feed one call's state to the next.
        var carried = CarriedStates.ToHashSet();
        foreach (var u in trace.StateUpdates)
        {
            if (carried.Contains(u.Weight)) g.ExposeAsInput(Layer.WeightValue(g, u.Weight));
            else if (!options.Training) continue;
            g.AddOutput(u.NewValue, g.UniqueName(u.Weight.Path + "/new"));
        }
        var meta = new Dictionary<string, string> { ["neuralservice.model_name"] = Name };
        if (options.Metadata is not null) foreach (var (k, v) in options.Metadata) meta[k] = v;
        return g.ToModel(Name, meta);
    }

    public string Summary() => ModelSummary.Format(this);

    /// <summary>The carried states of the stateful recurrent layers inside this model (nested models and
    /// Bidirectional included).</summary>
    public IReadOnlyList<Weight> CarriedStates => RecurrentLayers(this).SelectMany(r => r.CarriedStates).Distinct().ToList();

    /// <summary>Zeros every stateful recurrent layer's carried state (Keras's <c>reset_states</c>).</summary>
    public void ResetStates()
    {
        foreach (var r in RecurrentLayers(this)) r.ResetStates();
    }

    private static IEnumerable<RecurrentLayer> RecurrentLayers(Model model) => model.Layers.SelectMany(l => l switch
    {
        Model m => RecurrentLayers(m),
        RecurrentLayer r => [r],
        Bidirectional b => [b.Forward, b.Backward],
        _ => Enumerable.Empty<RecurrentLayer>(),
    });
}
