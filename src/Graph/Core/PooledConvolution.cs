using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Core;

/// <summary>A 2-D convolution whose output a max pool with k×k windows tiles, as one Gather, one MatMul and a ReduceMax:
/// the im2col columns are gathered with the output positions ordered by their offset inside the pooling window and the
/// batch innermost ([rows, k²·P, N]: each index copies a run of N values), Z = W·columns is [M, k²·P·N], and the
/// pool is the max over the k² offsets, plus B. The gradients are then the ops' own: the ReduceMax's mask and ties on Z's
/// layout (no upsampling of Y and dY to the convolution's size, none of the NCHWc reorders ONNX Runtime puts around its
/// pools and Resize), dW as one MatMul against the same columns, and dX as a MatMul and the Gather's ScatterND
/// (instead of ConvTranspose, which ONNX Runtime runs image by image). Positions no window reads are not computed. The
/// pooled output keeps its batch-innermost form, which the next pooled convolution gathers from directly.</summary>
public static class PooledConvolution
{
    /// <summary>Most entries of the gathered columns per sample (input channels × taps × output positions), bounding
    /// the position table the graph carries and the columns' memory next to the convolution's own (e.g. 3 channels ×
    /// 9 taps over 224×224 outputs, 1.3M, keeps the Conv and MaxPool).</summary>
    public const long MaxColumnEntries = 1 << 20;

    /// <summary>The pooled output of <paramref name="conv"/> (ReLU'd when <paramref name="relu"/>) in this form, or null
    /// where it does not apply (the caller then emits the MaxPool as it is).</summary>
    public static Value? TryLower(GraphBuilder g, NodeProto conv, IEnumerable<AttributeProto>? poolAttributes, bool relu, string? name)
    {
        if (conv.Input.Count < 2 || !g.Contains(conv.Input[0]) || !g.Contains(conv.Input[1])) return null;
        Value x = g[conv.Input[0]], w = g[conv.Input[1]];
        var b = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? g[conv.Input[2]] : null;
        if (x.DType != DataType.Float || x.Rank != 4 || w.Rank != 4 || !w.Shape.IsFullyKnown || !x.Shape.Dims.Skip(1).All(d => d.IsKnown)) return null;
        if (conv.GetInt("group", 1) != 1 || PoolWindow(poolAttributes) is not { } k) return null;
        long c = x.Shape[1].Known, h = x.Shape[2].Known, wd = x.Shape[3].Known;
        long m = w.Shape[0].Known, kh = w.Shape[2].Known, kw = w.Shape[3].Known;
        var taps = kh * kw;
        var rows = c * taps;
        if (w.Shape[1].Known != c || conv.GetInts("kernel_shape") is { } ks && !ks.SequenceEqual([kh, kw])) return null;
        var strides = conv.GetInts("strides") ?? [1, 1];
        var dilations = conv.GetInts("dilations") ?? [1, 1];
        var pads = conv.GetString("auto_pad", "NOTSET") switch
        {
            "NOTSET" => conv.GetInts("pads") ?? [0, 0, 0, 0],
            "VALID" => [0, 0, 0, 0],
            var same => SamePads(h, wd, kh, kw, strides, dilations, same == "SAME_UPPER"),
        };
        long ho = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1;
        long wo = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1;
        long o1 = ho / k, o2 = wo / k;
        if (o1 < 1 || o2 < 1 || rows * k * k * o1 * o2 > MaxColumnEntries) return null;

        // Flat input positions of every (row, output position): positions in window-offset-major order; a tap in the
        // padding reads a zero row appended to the flat input.
        long plane = h * wd, inputs = c * plane, pooled = o1 * o2, positions = k * k * pooled;
        var table = new int[rows * positions];
        var readsPadding = false;
        for (long p = 0; p < positions; p++)
        {
            long offset = p / pooled, oy = p % pooled / o2 * k + offset / k, ox = p % o2 * k + offset % k;
            for (long r = 0; r < rows; r++)
            {
                long tap = r % taps, iy = oy * strides[0] - pads[0] + tap / kw * dilations[0], ix = ox * strides[1] - pads[1] + tap % kw * dilations[1];
                var inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
                readsPadding |= !inside;
                table[r * positions + p] = inside ? checked((int)(r / taps * plane + iy * wd + ix)) : checked((int)inputs);
            }
        }
        var flat = g.BatchInnermost(x) ?? g.Transpose(g.Reshape(x, 0, inputs), 1, 0);           // [C·H·W, N]
        if (readsPadding) flat = g.Node1("Pad", [flat, g.Ints("pads", [0, 0, 1, 0])]);
        var columns = g.Node1("Gather", [flat, g.Constant(Tensors.Create("im2col", table, rows, positions), "im2col")]); // [rows, k²·P, N]
        var z = g.MatMul(g.Reshape(w, m, rows), g.Reshape(columns, rows, -1));                // [M, k²·P·N]
        var windows = g.Node1("ReduceMax", [g.Reshape(z, m, k * k, -1)], [Attr.Ints("axes", [1]), Attr.Int("keepdims", 0)], name: name);
        // max(Z + B) = max(Z) + B: the bias is added to the pooled values, a quarter of Z for 2×2 windows (as Gemm's C,
        // which ONNX Runtime also fuses a MatMul and Add into, it made the product twice as slow).
        if (b is not null) windows = g.Add(windows, g.Reshape(b, m, 1));
        if (relu) windows = g.Node1("Relu", [windows], name: (name ?? "MaxPool") + "_relu");
        var y = g.Reshape(g.Transpose(g.Reshape(windows, m, pooled, -1), 2, 0, 1), 0, m, o1, o2);
        g.SetBatchInnermost(y, g.Reshape(windows, m * pooled, -1));
        return y;
    }

    /// <summary>k for a pool of square k×k windows at stride k (no pads, dilations or ceil mode), else null.</summary>
    private static long? PoolWindow(IEnumerable<AttributeProto>? attributes)
    {
        var attrs = (attributes ?? []).ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (attrs.Keys.Any(n => n is not ("kernel_shape" or "strides" or "pads" or "dilations" or "ceil_mode" or "auto_pad" or "storage_order"))) return null;
        if (attrs.TryGetValue("storage_order", out var order) && order.I != 0) return null;
        if (attrs.TryGetValue("auto_pad", out var autoPad) && autoPad.S.ToStringUtf8() is not ("NOTSET" or "VALID")) return null;
        long[]? Ints(string key) => attrs.TryGetValue(key, out var a) ? a.Ints.ToArray() : null;
        return Window.SquareTiling(Ints("kernel_shape"), Ints("strides"), Ints("dilations"), Ints("pads"), attrs.TryGetValue("ceil_mode", out var ceil) ? ceil.I : 0);
    }

    private static long[] SamePads(long h, long w, long kh, long kw, long[] strides, long[] dilations, bool upper)
    {
        var (top, bottom) = ShapeMath.SamePads(h, kh, strides[0], dilations[0], upper);
        var (left, right) = ShapeMath.SamePads(w, kw, strides[1], dilations[1], upper);
        return [top, left, bottom, right];
    }
}
