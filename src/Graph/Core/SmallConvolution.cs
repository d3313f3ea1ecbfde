using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Core;

/// <summary>A 2-D convolution with few output positions as matrix products: columns = S·X (S a constant 0/1 matrix
/// that picks, for each output position and kernel tap, the input position it reads; a padded tap picks none), then
/// Y = columns·W. ONNX Runtime's convolution and its transposed form run such layers (the seed CNN's third: 5×5 in,
/// 3×3 out) several times slower per multiply-add than a GEMM; as MatMuls, the gradients are MatMuls too.</summary>
public static class SmallConvolution
{
    public const int MaxOutputPositions = 16;
    public const int MaxInputPositions = 256;

    public static Value? TryLower(GraphBuilder g, IReadOnlyList<Value?> inputs, IEnumerable<AttributeProto>? attributes)
    {
        if (inputs.Count < 2 || inputs[0] is not { } x || inputs[1] is not { } w || x.DType != DataType.Float) return null;
        if (x.Rank != 4 || w.Rank != 4 || !w.Shape.IsFullyKnown || !x.Shape.Dims.Skip(1).All(d => d.IsKnown)) return null;
        var attrs = (attributes ?? []).ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (attrs.Keys.Any(k => k is not ("kernel_shape" or "strides" or "pads" or "dilations" or "group"))) return null;
        if (attrs.TryGetValue("group", out var group) && group.I != 1) return null;
        long c = x.Shape[1].Known, h = x.Shape[2].Known, wd = x.Shape[3].Known;
        long m = w.Shape[0].Known, kh = w.Shape[2].Known, kw = w.Shape[3].Known;
        if (w.Shape[1].Known != c) return null;
        long[] Ints(string key, long[] fallback) => attrs.TryGetValue(key, out var a) ? a.Ints.ToArray() : fallback;
        var strides = Ints("strides", [1, 1]);
        var pads = Ints("pads", [0, 0, 0, 0]);
        var dilations = Ints("dilations", [1, 1]);
        long ho = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1;
        long wo = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1;
        if (ho < 1 || wo < 1 || ho * wo > MaxOutputPositions || h * wd > MaxInputPositions) return null;
        long p = ho * wo, k = kh * kw, q = h * wd;
        // Each (output position, tap) row of S picks the input position it reads; a padded tap picks none.
        float[] Selection(Func<long, long, long> row)
        {
            var select = new float[p * k * q];
            for (long oy = 0; oy < ho; oy++)
                for (long ox = 0; ox < wo; ox++)
                    for (long ky = 0; ky < kh; ky++)
                        for (long kx = 0; kx < kw; kx++)
                        {
                            long iy = oy * strides[0] - pads[0] + ky * dilations[0], ix = ox * strides[1] - pads[1] + kx * dilations[1];
                            if (iy >= 0 && iy < h && ix >= 0 && ix < wd) select[row(oy * wo + ox, ky * kw + kx) * q + iy * wd + ix] = 1;
                        }
            return select;
        }
        var bias = inputs.Count > 2 ? inputs[2] : null;
        if (g.BatchInnermost(x) is { } batchInnermost)
        {
            // x laid out [C·Q, N] by a pooled convolution: columns [C·K, P·N] by one product per channel (no transpose
            // of x), then Yᵀ = columnsᵀ·Wᵀ + B as [P, N, M], which one row-block transpose makes channels-last.
            var byTap = g.Constant(Selection((position, tap) => tap * p + position), [k * p, q], "select");
            var columnsByTap = g.Reshape(g.MatMul(byTap, g.Reshape(batchInnermost, c, q, -1)), c * k, -1); // [C·K, P·N]
            Value[] operands = bias is null ? [columnsByTap, g.Reshape(w, m, c * k)] : [columnsByTap, g.Reshape(w, m, c * k), bias];
            var outputs = g.Node1("Gemm", operands, [Attr.Int("transA", 1), Attr.Int("transB", 1)]);      // [P·N, M]
            var channelsLast = g.Reshape(g.Transpose(g.Reshape(outputs, p, -1, m), 1, 0, 2), -1, ho, wo, m);
            return g.Transpose(channelsLast, 0, 3, 1, 2);
        }
        var s = g.Constant(Selection((position, tap) => position * k + tap), [p * k, q], "select");
        var rows = g.Transpose(g.Reshape(x, 0, c, q), 0, 2, 1);                          // [N, HW, C]
        var columns = g.Reshape(g.MatMul(s, rows), -1, k * c);                             // [N·P, K·C]
        // The kernel as [M, K·C] for Gemm's transB: W [M, C, K] → [M, K, C] moves one axis, which ONNX Runtime copies
        // with MLAS's transpose (a 4-D transpose to [K·C, M] took its generic element-by-element path: 0.13 ms forward
        // and 0.3–0.5 ms for the gradient's, per seed CNN step).
        var kernel = g.Reshape(g.Transpose(g.Reshape(w, m, c, k), 0, 2, 1), m, k * c);  // [M, K·C]
        var y = g.Node1("Gemm", bias is not null ? [columns, kernel, bias] : [columns, kernel], [Attr.Int("transB", 1)]);
        return g.Transpose(g.Reshape(y, -1, ho, wo, m), 0, 3, 1, 2);
    }
}
