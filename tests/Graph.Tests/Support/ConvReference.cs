namespace NeuralService.Graph.Tests.Support;

/// <summary>Plain-loop N-D references for window ops on [N, C, *spatial] arrays, and layout helpers.</summary>
public static class ConvReference
{
    public static int Count(int[] dims) => dims.Aggregate(1, (p, d) => p * d);

    private static int[] Pitches(int[] dims)
    {
        var p = new int[dims.Length];
        var acc = 1;
        for (var i = dims.Length - 1; i >= 0; i--) { p[i] = acc; acc *= dims[i]; }
        return p;
    }

    /// <summary>Every index tuple of <paramref name="dims"/> in row-major order.</summary>
    public static IEnumerable<int[]> Indices(int[] dims)
    {
        var n = Count(dims);
        var idx = new int[dims.Length];
        for (var k = 0; k < n; k++)
        {
            var r = k;
            for (var i = dims.Length - 1; i >= 0; i--) { idx[i] = r % dims[i]; r /= dims[i]; }
            yield return idx;
        }
    }

    /// <summary>y[i_perm[0], …] = x[i]: y dims are dims[perm[j]].</summary>
    public static (float[] Data, int[] Dims) Transpose(float[] x, int[] dims, int[] perm)
    {
        var outDims = perm.Select(p => dims[p]).ToArray();
        var pin = Pitches(dims);
        var y = new float[x.Length];
        var k = 0;
        foreach (var o in Indices(outDims))
        {
            var off = 0;
            for (var j = 0; j < perm.Length; j++) off += o[j] * pin[perm[j]];
            y[k++] = x[off];
        }
        return (y, outDims);
    }

    public static (float[] Data, int[] Dims) ToChannelsFirst(float[] x, int[] dims) =>
        Transpose(x, dims, [0, dims.Length - 1, .. Enumerable.Range(1, dims.Length - 2)]);

    public static (float[] Data, int[] Dims) ToChannelsLast(float[] x, int[] dims) =>
        Transpose(x, dims, [0, .. Enumerable.Range(2, dims.Length - 2), 1]);

    /// <summary>TensorFlow's 'same' pads: output ⌈in/s⌉, the odd pad at the end.</summary>
    public static (int Begin, int End) SamePads(int input, int kernel, int stride, int dilation)
    {
        var effective = (kernel - 1) * dilation + 1;
        var output = (input + stride - 1) / stride;
        var total = Math.Max((output - 1) * stride + effective - input, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>y[n, o, p] = b[o] + Σ_{c, k} w[o, c, k]·x[n, g·C/G + c, p·s + k·d − pad] over the group g of o.</summary>
    public static (float[] Data, int[] Dims) Conv(float[] x, int[] xDims, float[] w, int[] wDims, float[]? bias,
        int[] strides, int[] dilations, int[] padBegin, int[] padEnd, int groups = 1)
    {
        var r = xDims.Length - 2;
        var (n, m, cg) = (xDims[0], wDims[0], wDims[1]);
        var k = wDims[2..];
        var outSp = Enumerable.Range(0, r).Select(i => (xDims[i + 2] + padBegin[i] + padEnd[i] - ((k[i] - 1) * dilations[i] + 1)) / strides[i] + 1).ToArray();
        int[] yDims = [n, m, .. outSp];
        var y = new float[Count(yDims)];
        var px = Pitches(xDims);
        var pw = Pitches(wDims);
        var mPerGroup = m / groups;
        var at = 0;
        foreach (var yi in Indices(yDims))
        {
            var o = yi[1];
            var grp = o / mPerGroup;
            double s = bias?[o] ?? 0;
            for (var c = 0; c < cg; c++)
                foreach (var ki in Indices(k))
                {
                    var xoff = yi[0] * px[0] + (grp * cg + c) * px[1];
                    var inside = true;
                    for (var i = 0; i < r && inside; i++)
                    {
                        var pos = yi[i + 2] * strides[i] + ki[i] * dilations[i] - padBegin[i];
                        if (pos < 0 || pos >= xDims[i + 2]) inside = false;
                        else xoff += pos * px[i + 2];
                    }
                    if (!inside) continue;
                    var woff = o * pw[0] + c * pw[1];
                    for (var i = 0; i < r; i++) woff += ki[i] * pw[i + 2];
                    s += (double)x[xoff] * w[woff];
                }
            y[at++] = (float)s;
        }
        return (y, yDims);
    }

    /// <summary>Transposed convolution by scattering: y[n, o, i·s + k·d − padBegin] += x[n, c, i]·w[c, o, k], y has
    /// spatial length <paramref name="outLen"/>.</summary>
    public static (float[] Data, int[] Dims) ConvTranspose(float[] x, int[] xDims, float[] w, int[] wDims, float[]? bias,
        int[] strides, int[] dilations, int[] padBegin, int[] outLen)
    {
        var r = xDims.Length - 2;
        var (n, c, m) = (xDims[0], xDims[1], wDims[1]);
        var k = wDims[2..];
        int[] yDims = [n, m, .. outLen];
        var acc = new double[Count(yDims)];
        var py = Pitches(yDims);
        var pw = Pitches(wDims);
        var at = 0;
        foreach (var xi in Indices(xDims))
        {
            var v = x[at++];
            for (var o = 0; o < m; o++)
                foreach (var ki in Indices(k))
                {
                    var yoff = xi[0] * py[0] + o * py[1];
                    var inside = true;
                    for (var i = 0; i < r && inside; i++)
                    {
                        var pos = xi[i + 2] * strides[i] + ki[i] * dilations[i] - padBegin[i];
                        if (pos < 0 || pos >= outLen[i]) inside = false;
                        else yoff += pos * py[i + 2];
                    }
                    if (!inside) continue;
                    var woff = xi[1] * pw[0] + o * pw[1];
                    for (var i = 0; i < r; i++) woff += ki[i] * pw[i + 2];
                    acc[yoff] += (double)v * w[woff];
                }
        }
        var y = new float[acc.Length];
        var j = 0;
        foreach (var yi in Indices(yDims)) { y[j] = (float)(acc[j] + (bias?[yi[1]] ?? 0)); j++; }
        _ = c;
        return (y, yDims);
    }

    /// <summary>Max or average over each window; the average counts only positions inside the input.</summary>
    public static (float[] Data, int[] Dims) Pool(float[] x, int[] xDims, int[] kernel, int[] strides, int[] padBegin, int[] padEnd, bool max)
    {
        var r = xDims.Length - 2;
        var outSp = Enumerable.Range(0, r).Select(i => (xDims[i + 2] + padBegin[i] + padEnd[i] - kernel[i]) / strides[i] + 1).ToArray();
        int[] yDims = [xDims[0], xDims[1], .. outSp];
        var y = new float[Count(yDims)];
        var px = Pitches(xDims);
        var at = 0;
        foreach (var yi in Indices(yDims))
        {
            double best = double.NegativeInfinity, sum = 0;
            var count = 0;
            foreach (var ki in Indices(kernel))
            {
                var off = yi[0] * px[0] + yi[1] * px[1];
                var inside = true;
                for (var i = 0; i < r && inside; i++)
                {
                    var pos = yi[i + 2] * strides[i] + ki[i] - padBegin[i];
                    if (pos < 0 || pos >= xDims[i + 2]) inside = false;
                    else off += pos * px[i + 2];
                }
                if (!inside) continue;
                best = Math.Max(best, x[off]);
                sum += x[off];
                count++;
            }
            y[at++] = (float)(max ? best : sum / count);
        }
        return (y, yDims);
    }
}
