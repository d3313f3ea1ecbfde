using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Tests.Support;

public sealed record ZeroMaskingConfig : LayerConfig;

/// <summary>A test-only stand-in for Keras's Masking(0): passes x through and attaches the Keras mask
/// any(x[b, t, :] ≠ 0) so that layers downstream see a [batch, time] mask.</summary>
public sealed class ZeroMasking() : Layer(new ZeroMaskingConfig())
{
    public override LayerConfig Config { get; } = new ZeroMaskingConfig();

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        var x = inputs[0];
        var y = g.Node1("Identity", [x]);
        var any = g.Node1("ReduceMax", [g.Node1("Abs", [x])], [Attr.Ints("axes", [-1]), Attr.Int("keepdims", 0)]);
        ctx.SetMask(y, g.Node1("Greater", [any, g.Scalar(0, x.DType)]));
        return [y];
    }

    /// <summary>Zeroes the features of the steps listed per batch row so that they come out masked.</summary>
    public static float[] Blank(float[] x, int time, int dim, params (int B, int T)[] steps)
    {
        var y = (float[])x.Clone();
        foreach (var (b, t) in steps) Array.Clear(y, (b * time + t) * dim, dim);
        return y;
    }
}
