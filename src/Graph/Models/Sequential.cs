using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Models;

/// <summary>A plain stack of single-input, single-output layers. It is built as soon as its input shape is known
/// (an InputLayer first, a first layer declaring <c>batch_input_shape</c>, or <see cref="Build(int?[])"/>).</summary>
public sealed class Sequential : Model
{
    private readonly List<Layer> _layers = [];
    private InputLayer? _input;
    private KerasTensor? _output;

    public Sequential(IEnumerable<Layer>? layers = null, string? name = null) : this(new ModelConfig { Name = name })
    {
        foreach (var l in layers ?? []) Add(l);
    }

    public Sequential(ModelConfig config) : base(config) => Config = config;

    public override string ClassName => "Sequential";
    public override ModelConfig Config { get; }
    /// <summary>The stacked layers, without the input layer.</summary>
    public IReadOnlyList<Layer> StackedLayers => _layers;
    public override IReadOnlyList<Layer> Layers => _input is null ? _layers : [_input, .. _layers];
    public override IReadOnlyList<KerasTensor> Inputs => _input is null ? throw NotBuilt() : [_input.Output];
    public override IReadOnlyList<KerasTensor> Outputs => _output is null ? throw NotBuilt() : [_output];
    public bool HasInput => _input is not null;

    public Sequential Add(Layer layer)
    {
        if (layer is InputLayer input)
        {
            if (_input is not null || _layers.Count > 0) throw new GraphException($"model '{Name}': an InputLayer can only come first");
            _input = input;
            _output = input.Output;
            return this;
        }
        if (_input is null && _layers.Count == 0 && layer.Config.DeclaredInputShape is { } declared)
        {
            _input = new InputLayer(new InputLayerConfig { Name = $"{layer.Name}_input", BatchShape = declared, Dtype = layer.Config.Dtype });
            _output = _input.Output;
        }
        _layers.Add(layer);
        if (_output is not null) _output = ApplyChecked(layer, _output);
        return this;
    }

    /// <summary>Builds the model for a batch-first input shape (null = any size).</summary>
    public Sequential Build(int?[] batchShape)
    {
        if (_input is not null) throw new GraphException($"model '{Name}' already has an input");
        _input = new InputLayer(new InputLayerConfig { Name = $"{Name}_input", BatchShape = batchShape });
        _output = _input.Output;
        foreach (var l in _layers) _output = ApplyChecked(l, _output);
        EnsureBuilt([new TensorType(_input.DType, _input.Output.Shape)]);
        return this;
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != 1) throw new ShapeException($"Sequential model '{Name}' takes one input, got {inputs.Count}");
        var x = inputs;
        foreach (var l in _layers)
        {
            x = l.Emit(g, x, ctx);
            if (x.Count != 1) throw new ShapeException($"layer '{l.Name}' in Sequential model '{Name}' gave {x.Count} outputs; Sequential needs one");
        }
        return x;
    }

    private KerasTensor ApplyChecked(Layer layer, KerasTensor x)
    {
        var outs = layer.ApplyMulti([x]);
        return outs.Count == 1 ? outs[0] : throw new GraphException($"layer '{layer.Name}' in Sequential model '{Name}' has {outs.Count} outputs; Sequential needs one");
    }

    private GraphException NotBuilt() => new($"Sequential model '{Name}' has no input shape yet: start with an InputLayer or call Build");
}
