using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record PermuteConfig : LayerConfig
{
    /// <summary>A permutation of 1…rank−1 (1-based, the batch axis stays first).</summary>
    public int[] Dims { get; init; } = [];
}

/// <summary>y = transpose(x, [0, dims…]).</summary>
public sealed class Permute : UnaryLayer
{
    public Permute(PermuteConfig config) : base(config)
    {
        var dims = config.Dims ?? [];
        if (dims.Length == 0 || !dims.OrderBy(d => d).SequenceEqual(Enumerable.Range(1, dims.Length)))
            throw new ArgumentException($"Permute dims must be a permutation of 1..{dims.Length}, got ({string.Join(", ", dims)})");
        Config = config;
    }

    public Permute(int[] dims, string? name = null) : this(new PermuteConfig { Dims = dims, Name = name }) { }

    public override PermuteConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (x.Rank != Config.Dims.Length + 1)
            throw new ShapeException($"Permute dims ({string.Join(", ", Config.Dims)}) need an input of rank {Config.Dims.Length + 1}, got {x.Shape}");
        return g.Node1("Transpose", [x], [Attr.Ints("perm", [0L, .. Config.Dims.Select(d => (long)d)])]);
    }

    protected override bool PropagatesMask(Value x, Value y) => Config.Dims[0] == 1 && base.PropagatesMask(x, y);
}
