using NeuralService.Graph.Core;

namespace NeuralService.Graph.Ops;

/// <summary>Shape arithmetic shared by the ops' inference.</summary>
public static class ShapeMath
{
    /// <summary>NumPy-style multidirectional broadcasting.</summary>
    public static Shape Broadcast(IReadOnlyList<Shape> shapes, Func<string, Exception> error)
    {
        var rank = shapes.Max(s => s.Rank);
        var dims = new Dim[rank];
        for (var i = 0; i < rank; i++)
        {
            Dim result = 1;
            var first = true;
            foreach (var s in shapes)
            {
                var k = i - (rank - s.Rank);
                if (k < 0) continue;
                var d = s[k];
                if (first) { result = d; first = false; continue; }
                if (d.Value == 1) continue;
                if (result.Value == 1) { result = d; continue; }
                if (d.IsKnown && result.IsKnown && d.Known != result.Known)
                    throw error($"shapes {string.Join(" and ", shapes)} do not broadcast (axis {i}: {result} vs {d})");
                if (!result.IsKnown && d.IsKnown) result = d;
                else if (!result.IsKnown && !d.IsKnown && result != d) result = result.Symbol is null ? d : result;
            }
            dims[i] = result;
        }
        return new Shape(dims);
    }

    /// <summary>Output length of a convolution/pooling window along one axis with explicit pads.</summary>
    public static Dim ConvOut(Dim input, long kernel, long stride, long dilation, long padBegin, long padEnd, bool ceil = false)
    {
        if (!input.IsKnown) return Dim.Unknown;
        var effective = (kernel - 1) * dilation + 1;
        var span = input.Known + padBegin + padEnd - effective;
        if (span < 0) return Dim.Of(0);
        return Dim.Of((ceil ? (span + stride - 1) / stride : span / stride) + 1);
    }

    /// <summary>Pads for ONNX's auto_pad SAME_UPPER/SAME_LOWER: output = ceil(input / stride).</summary>
    public static (long Begin, long End) SamePads(long input, long kernel, long stride, long dilation, bool upper = true)
    {
        var effective = (kernel - 1) * dilation + 1;
        var output = (input + stride - 1) / stride;
        var total = Math.Max(0, (output - 1) * stride + effective - input);
        var small = total / 2;
        return upper ? (small, total - small) : (total - small, small);
    }

    /// <summary>Slice bounds at or beyond this magnitude reach past any axis (exporters write INT_MAX or INT64_MAX).</summary>
    private const long Huge = int.MaxValue;

    /// <summary>True when Slice(start, end, step) keeps a whole axis of length <paramref name="n"/> (null: unknown),
    /// in order (step 1) or reversed (step −1).</summary>
    public static bool CoversAxis(long start, long end, long step, long? n) => step switch
    {
        1 => (start == 0 || start <= -Huge || (n is { } a && start <= -a)) && (end >= Huge || (n is { } b && end >= b)),
        -1 => (start == -1 || start >= Huge || (n is { } a && start >= a - 1)) && (end <= -Huge - 1 || (n is { } b && end < -b)),
        _ => false,
    };

    /// <summary>The entries ONNX's Slice keeps of a vector (bounds clamped as ONNX does).</summary>
    public static T[] SliceEntries<T>(T[] v, long start, long end, long step)
    {
        long n = v.Length;
        if (step == 0) throw new ArgumentOutOfRangeException(nameof(step), "slice step 0");
        var s = start < 0 ? start + n : start;
        var e = end < 0 ? end + n : end;
        var result = new List<T>();
        if (step > 0)
        {
            s = Math.Clamp(s, 0, n);
            e = Math.Clamp(e, 0, n);
            for (var i = s; i < e; i += step) result.Add(v[i]);
        }
        else
        {
            s = Math.Clamp(s, -1, n - 1);
            e = Math.Clamp(e, -1, n - 1);
            for (var i = s; i > e; i += step) result.Add(v[i]);
        }
        return result.ToArray();
    }

    public static long[] Permutation(long[]? perm, int rank) =>
        perm ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
}
