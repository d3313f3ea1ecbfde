using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

public sealed record NormalizationConfig : LayerConfig
{
    /// <summary>Axes that keep their own statistics; null or empty = one mean and variance for everything.</summary>
    public int[]? Axis { get; init; } = [-1];
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? Mean { get; init; }
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? Variance { get; init; }
    public bool Invert { get; init; }
}

/// <summary>y = (x − mean) / max(√variance, 1e−7), or with invert y = mean + x·max(√variance, 1e−7); statistics per
/// index of the kept axes. Without mean/variance in the config they are non-trainable weights (mean, variance,
/// count, as Keras) that <see cref="Adapt"/> fills from data.</summary>
public sealed class Normalization : UnaryLayer
{
    private const double Epsilon = 1e-7;
    private Weight? _mean;
    private Weight? _variance;
    private Weight? _count;
    private int[] _keep = [];
    private long[] _compact = [];
    private long[] _broadcast = [];

    public Normalization(NormalizationConfig config) : base(config)
    {
        if ((config.Mean is null) != (config.Variance is null))
            throw new ArgumentException("Normalization needs both mean and variance, or neither (then call Adapt)");
        if (config.Variance?.Where(v => !(v >= 0) || !double.IsFinite(v)).ToArray() is [var bad, ..])
            throw new ArgumentException($"Normalization variance must be finite and >= 0, got {bad}");
        Config = config;
    }

    public Normalization(int axis = -1, double[]? mean = null, double[]? variance = null, bool invert = false, string? name = null)
        : this(new NormalizationConfig { Axis = [axis], Mean = mean, Variance = variance, Invert = invert, Name = name }) { }

    public override NormalizationConfig Config { get; }

    protected override void Build(TensorType input)
    {
        var rank = input.Shape.Rank;
        _keep = (Config.Axis ?? []).Select(a => input.Shape.NormalizeAxis(a)).Distinct().Order().ToArray();
        foreach (var a in _keep)
            if (!input.Shape[a].IsKnown) throw new ArgumentException($"axis {a} of {input.Shape} must be known to hold statistics");
        _compact = _keep.Select(a => input.Shape[a].Known).ToArray();
        _broadcast = Enumerable.Range(0, rank).Select(i => _keep.Contains(i) ? input.Shape[i].Known : 1L).ToArray();
        var size = _compact.Aggregate(1L, (p, d) => p * d);
        if (Config.Mean is { } m && (m.Length is not 1 && m.Length != size || Config.Variance!.Length is not 1 && Config.Variance.Length != size))
            throw new ArgumentException($"mean/variance have {m.Length}/{Config.Variance!.Length} values; the kept axes need 1 or {size}");
        if (Config.Mean is null)
        {
            _mean = AddWeight("mean", _compact, Specs.Zeros, trainable: false);
            _variance = AddWeight("variance", _compact, Specs.Ones, trainable: false);
            _count = AddWeight("count", [], Specs.Zeros, trainable: false);
        }
    }

    /// <summary>Computes the statistics from data of shape <paramref name="shape"/> (batch first): mean and population
    /// variance over every axis but the kept ones.</summary>
    public void Adapt(float[] data, params long[] shape)
    {
        if (Config.Mean is not null) throw new InvalidOperationException($"layer '{Name}' has mean and variance in its config; it cannot adapt");
        if (shape.Aggregate(1L, (p, d) => p * d) != data.LongLength)
            throw new ArgumentException($"{data.LongLength} values do not fill shape [{string.Join(",", shape)}]");
        EnsureBuilt([new TensorType(DataType.Float, Shape.Of([Dim.Batch, .. shape.Skip(1).Select(Dim.Of)]))]);
        if (_broadcast.Length != shape.Length || _keep.Any(a => _broadcast[a] != shape[a]))
            throw new ArgumentException($"data of shape [{string.Join(",", shape)}] does not fit layer '{Name}' built for {BuiltInputs![0]}");
        var size = _compact.Aggregate(1L, (p, d) => p * d);
        var sum = new double[size];
        var sumSq = new double[size];
        var strides = new long[shape.Length];
        var stride = 1L;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        for (long n = 0; n < data.LongLength; n++)
        {
            long k = 0;
            foreach (var a in _keep) k = k * shape[a] + n / strides[a] % shape[a];
            sum[k] += data[n];
            sumSq[k] += (double)data[n] * data[n];
        }
        var count = data.LongLength / size;
        var mean = sum.Select(s => (float)(s / count)).ToArray();
        var variance = sumSq.Select((s, k) => (float)Math.Max(0, s / count - Math.Pow(sum[k] / count, 2))).ToArray();
        _mean!.Assign(mean);
        _variance!.Assign(variance);
        _count!.Assign([count]);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        x = Preprocess.ToFloat(g, x);
        if (x.Rank != _broadcast.Length) throw new ShapeException($"Normalization was built for rank {_broadcast.Length}, got {x.Shape}");
        Value mean, scale;
        if (Config.Mean is { } m)
        {
            var size = (int)_compact.Aggregate(1L, (p, d) => p * d);
            float At(double[] v, int i) => (float)(v.Length == 1 ? v[0] : v[i]);
            mean = g.Constant(Enumerable.Range(0, size).Select(i => At(m, i)).ToArray(), _broadcast, "mean");
            scale = g.Constant(Enumerable.Range(0, size).Select(i => (float)Math.Max(Math.Sqrt(At(Config.Variance!, i)), Epsilon)).ToArray(), _broadcast, "scale");
        }
        else
        {
            var shape = g.Ints("broadcast_shape", _broadcast);
            mean = g.Node1("Reshape", [Use(g, _mean!), shape]);
            var variance = g.Node1("Reshape", [Use(g, _variance!), shape]);
            scale = g.Node1("Max", [g.Node1("Sqrt", [variance]), g.Scalar(Epsilon, DataType.Float)]);
        }
        if (x.DType != DataType.Float)
        {
            mean = g.Node1("CastLike", [mean, x]);
            scale = g.Node1("CastLike", [scale, x]);
        }
        return Config.Invert
            ? g.Node1("Add", [mean, g.Node1("Mul", [x, scale])])
            : g.Node1("Div", [g.Node1("Sub", [x, mean]), scale]);
    }
}
