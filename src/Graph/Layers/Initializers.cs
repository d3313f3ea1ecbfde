using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>Keras's weight initializers. Fans follow Keras: a 2-D [in, out] kernel, or a conv kernel whose
/// receptive field multiplies both fans; callers with other layouts pass the fans explicitly.</summary>
public static class Initializers
{
    public static float[] Fill(ObjectSpec spec, long[] shape, int seed, (double In, double Out)? fans = null)
    {
        // Counted in double so no product of dims wraps; an array this large is refused by the runtime with an
        // OverflowException, which is the config's fault (Dense(2147483647)), not the caller's.
        var size = shape.Aggregate(1.0, (p, d) => p * d);
        if (!(size >= 0 && size <= Array.MaxLength))
            throw new ArgumentException($"a weight of shape [{string.Join(", ", shape)}] has {size:G} elements, more than one array holds ({Array.MaxLength})");
        var data = new float[(long)size];
        var rng = new Random(spec.GetInt("seed") ?? seed);
        var (fanIn, fanOut) = fans ?? Fans(shape);
        switch (spec.SnakeName)
        {
            case "zeros": break;
            case "ones": Array.Fill(data, 1f); break;
            case "constant": Array.Fill(data, (float)spec.GetDouble("value", 0)); break;
            case "random_normal": Normal(data, rng, spec.GetDouble("mean", 0), spec.GetDouble("stddev", 0.05)); break;
            case "random_uniform": Uniform(data, rng, spec.GetDouble("minval", -0.05), spec.GetDouble("maxval", 0.05)); break;
            case "truncated_normal": Truncated(data, rng, spec.GetDouble("mean", 0), spec.GetDouble("stddev", 0.05)); break;
            case "glorot_uniform": Scaled(data, rng, 1, fanIn, fanOut, "fan_avg", "uniform"); break;
            case "glorot_normal": Scaled(data, rng, 1, fanIn, fanOut, "fan_avg", "truncated_normal"); break;
            case "he_uniform": Scaled(data, rng, 2, fanIn, fanOut, "fan_in", "uniform"); break;
            case "he_normal": Scaled(data, rng, 2, fanIn, fanOut, "fan_in", "truncated_normal"); break;
            case "lecun_uniform": Scaled(data, rng, 1, fanIn, fanOut, "fan_in", "uniform"); break;
            case "lecun_normal": Scaled(data, rng, 1, fanIn, fanOut, "fan_in", "truncated_normal"); break;
            case "variance_scaling":
                Scaled(data, rng, spec.GetDouble("scale", 1), fanIn, fanOut, spec.GetString("mode") ?? "fan_in",
                    spec.GetString("distribution") ?? "truncated_normal");
                break;
            case "orthogonal": Orthogonal(data, shape, rng, spec.GetDouble("gain", 1)); break;
            case "identity":
                if (shape.Length != 2) throw new ArgumentException($"identity initializer needs a 2-D shape, got [{string.Join(",", shape)}]");
                for (var i = 0; i < Math.Min(shape[0], shape[1]); i++) data[i * shape[1] + i] = (float)spec.GetDouble("gain", 1);
                break;
            default:
                throw new ArgumentException($"unknown initializer '{spec.ClassName}'");
        }
        return data;
    }

    /// <summary>Throws what <see cref="Fill"/> would for any size, without filling: an unknown initializer or a shape it
    /// cannot fill. (Whether the values fit in memory is the caller's budget to check.)</summary>
    public static void Check(ObjectSpec spec, long[] shape)
    {
        if (!IsKnown(spec)) throw new ArgumentException($"unknown initializer '{spec.ClassName}'");
        if (spec.SnakeName == "identity" && shape.Length != 2) throw new ArgumentException($"identity initializer needs a 2-D shape, got [{string.Join(",", shape)}]");
    }

    public static bool IsKnown(ObjectSpec spec) => spec.SnakeName is "zeros" or "ones" or "constant" or "random_normal"
        or "random_uniform" or "truncated_normal" or "glorot_uniform" or "glorot_normal" or "he_uniform" or "he_normal"
        or "lecun_uniform" or "lecun_normal" or "variance_scaling" or "orthogonal" or "identity";

    /// <summary>Keras's <c>compute_fans</c> for its own layouts ([in, out] or [*k, in, out]).</summary>
    public static (double In, double Out) Fans(long[] shape) => shape.Length switch
    {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        2 => (shape[0], shape[1]),
        _ => (shape[^2] * Receptive(shape), shape[^1] * Receptive(shape)),
    };

    private static double Receptive(long[] shape) => shape[..^2].Aggregate(1.0, (p, d) => p * d);

    private static void Scaled(float[] data, Random rng, double scale, double fanIn, double fanOut, string mode, string distribution)
    {
        var fan = mode switch { "fan_in" => fanIn, "fan_out" => fanOut, _ => (fanIn + fanOut) / 2 };
        scale /= Math.Max(1, fan);
        switch (distribution)
        {
            case "uniform":
                var limit = Math.Sqrt(3 * scale);
                Uniform(data, rng, -limit, limit);
                break;
            case "untruncated_normal" or "normal":
                Normal(data, rng, 0, Math.Sqrt(scale));
                break;
            default:
                // Keras divides by the stddev of a unit normal truncated at ±2.
                Truncated(data, rng, 0, Math.Sqrt(scale) / 0.87962566103423978);
                break;
        }
    }

    private static void Uniform(float[] data, Random rng, double lo, double hi)
    {
        for (var i = 0; i < data.Length; i++) data[i] = (float)(lo + (hi - lo) * rng.NextDouble());
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static void Normal(float[] data, Random rng, double mean, double std)
    {
        for (var i = 0; i < data.Length; i++) data[i] = (float)(mean + std * Gaussian(rng));
    }

    private static void Truncated(float[] data, Random rng, double mean, double std)
    {
        for (var i = 0; i < data.Length; i++)
        {
            double z;
            do z = Gaussian(rng); while (Math.Abs(z) > 2);
            data[i] = (float)(mean + std * z);
        }
    }

    /// <summary>Gram-Schmidt on a random normal [rows, cols] matrix (rows = prod of all but the last dim).</summary>
    private static void Orthogonal(float[] data, long[] shape, Random rng, double gain)
    {
        var cols = (int)shape[^1];
        var rows = data.Length / Math.Max(1, cols);
        var transpose = rows < cols;
        var (r, c) = transpose ? (cols, rows) : (rows, cols);
        var m = new double[r, c];
        for (var i = 0; i < r; i++) for (var j = 0; j < c; j++) m[i, j] = Gaussian(rng);
        for (var j = 0; j < c; j++)
        {
            for (var k = 0; k < j; k++)
            {
                double dot = 0;
                for (var i = 0; i < r; i++) dot += m[i, j] * m[i, k];
                for (var i = 0; i < r; i++) m[i, j] -= dot * m[i, k];
            }
            double norm = 0;
            for (var i = 0; i < r; i++) norm += m[i, j] * m[i, j];
            norm = Math.Sqrt(norm);
            for (var i = 0; i < r; i++) m[i, j] /= norm;
        }
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
                data[i * cols + j] = (float)(gain * (transpose ? m[j, i] : m[i, j]));
    }
}

/// <summary>A string hash that is the same in every process (string.GetHashCode is randomized).</summary>
public static class StableHash
{
    public static int Of(string s)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var ch in s) h = (h ^ ch) * 16777619;
            return h & 0x7fffffff;
        }
    }
}
