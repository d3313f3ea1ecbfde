using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

/// <summary>Mask and dropout building blocks shared by the attention layers.</summary>
public static class AttentionMath
{
    /// <summary>Keras's <c>_large_negative_number</c> for float32: what masked scores become before the softmax.</summary>
    public const float LargeNegative = -1e9f;

    /// <summary>A mask as bool: kept as is when bool, else <c>m &gt; 0.5</c> (Keras's rule for non-bool masks).</summary>
    public static Value ToBool(GraphBuilder g, Value mask) =>
        mask.DType == DataType.Bool ? mask
        : g.Node1("Greater", [mask, g.Scalar(0.5, mask.DType)], name: "MaskToBool");

    /// <summary>Causal mask M[i, j] = (i ≥ j) of shape [Tq, Tv], from axis 1 of the query and of the value
    /// (Keras's <c>_compute_causal_mask</c>); a constant when both lengths are known.</summary>
    public static Value CausalMask(GraphBuilder g, Value query, Value value)
    {
        var (tq, tv) = (query.Shape[1], value.Shape[1]);
        if (tq.IsKnown && tv.IsKnown)
        {
            var data = new bool[tq.Known * tv.Known];
            for (var i = 0; i < tq.Known; i++)
                for (var j = 0; j < tv.Known; j++)
                    data[i * tv.Known + j] = i >= j;
            return g.Constant(Tensors.Create("causal_mask", data, tq.Known, tv.Known), "causal_mask");
        }
        var rows = g.Node1("Unsqueeze", [Positions(g, query, 1), g.Ints(1)]);
        var cols = g.Node1("Unsqueeze", [Positions(g, value, 1), g.Ints(0)]);
        return g.Node1("GreaterOrEqual", [rows, cols], name: "CausalMask");
    }

    /// <summary>Sliding-window mask M[i, j] = |i − j| &lt; w of shape [Tq, Tv] (Keras's <c>_compute_sliding_window_mask</c>).</summary>
    public static Value BandMask(GraphBuilder g, Value query, Value value, int w)
    {
        var (tq, tv) = (query.Shape[1], value.Shape[1]);
        if (tq.IsKnown && tv.IsKnown)
        {
            var data = new bool[tq.Known * tv.Known];
            for (var i = 0; i < tq.Known; i++)
                for (var j = 0; j < tv.Known; j++)
                    data[i * tv.Known + j] = Math.Abs(i - j) < w;
            return g.Constant(Tensors.Create("band_mask", data, tq.Known, tv.Known), "band_mask");
        }
        var rows = g.Node1("Unsqueeze", [Positions(g, query, 1), g.Ints(1)]);
        var cols = g.Node1("Unsqueeze", [Positions(g, value, 1), g.Ints(0)]);
        return g.Node1("Less", [g.Node1("Abs", [g.Node1("Sub", [rows, cols])]), g.ScalarLong(w)], name: "BandMask");
    }

    /// <summary>[0, 1, …, n−1] (int64) where n = x.shape[axis], read at run time.</summary>
    public static Value Positions(GraphBuilder g, Value x, int axis)
    {
        var n = g.Node1("Squeeze", [g.Node1("Shape", [x], [Attr.Int("start", axis), Attr.Int("end", axis + 1)]), g.Ints(0)]);
        return g.Node1("Range", [g.ScalarLong(0), n, g.ScalarLong(1)]);
    }

    /// <summary>Logical and of optional bool masks (null when all are null).</summary>
    public static Value? And(GraphBuilder g, Value? a, Value? b) =>
        a is null ? b : b is null ? a : g.Node1("And", [a, b]);

    /// <summary>softmax(where(mask, s, −1e9)) on the last axis; <paramref name="mask"/> broadcasts against the scores.</summary>
    public static Value MaskedSoftmax(GraphBuilder g, Value scores, Value? mask)
    {
        if (mask is not null) scores = g.Node1("Where", [mask, scores, g.Scalar(LargeNegative, scores.DType)], name: "MaskScores");
        return g.Node1("Softmax", [scores], [Attr.Int("axis", -1)]);
    }

    /// <summary>Inverted dropout with keep probability 1 − rate, active only in training mode.</summary>
    public static Value Dropout(GraphBuilder g, Value x, double rate, CallContext ctx, float seed)
    {
        if (!ctx.Training || rate <= 0) return x;
        var ratio = g.Scalar(rate, x.DType, "dropout_rate");
        var training = g.Constant(Tensors.Create("training_mode", [true]), "training_mode");
        return g.Node1("Dropout", [x, ratio, training], [Attr.Int("seed", (long)seed)]);
    }

    /// <summary>Lets a [B, T, S] mask broadcast over the heads (and any non-attention axes) of [B, …, heads, T, S]
    /// scores: inserts <paramref name="count"/> unit axes after the batch axis, as Keras's masked softmax does.</summary>
    public static Value ExpandMask(GraphBuilder g, Value mask, int count) =>
        count <= 0 ? mask : g.Node1("Unsqueeze", [mask, g.Ints(Enumerable.Range(1, count).Select(i => (long)i).ToArray())]);
}
