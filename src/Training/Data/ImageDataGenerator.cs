namespace NeuralService.Training.Data;

/// <summary>One image's random transform (Keras's <c>random_transform</c> dict): degrees, pixels, zoom factors, flips.</summary>
public sealed record ImageTransform(
    double Theta = 0, double Tx = 0, double Ty = 0, double Shear = 0, double Zx = 1, double Zy = 1,
    bool FlipHorizontal = false, bool FlipVertical = false)
{
    public static ImageTransform Identity { get; } = new();
}

/// <summary>
/// Keras's <c>ImageDataGenerator</c> on-the-fly augmentation for channels-last images [h, w, c]. A transform maps
/// each output pixel (row r, col c) to the input position M·(r, c, 1), M = T_center · R(θ) · S(tx, ty) · Shear(s) ·
/// Zoom(zx, zy) · T_center⁻¹ (tx shifts rows, ty columns, as in Keras), and samples it bilinearly with
/// fill_mode "nearest" (coordinates clamped to the border). Flips apply after the affine part.
/// Shift ranges below 1 are fractions of the image size, otherwise pixels; zoom range z means [1−z, 1+z].
/// All randomness comes from the seed, so a (seed, epoch) pair always yields the same augmented batches.
/// </summary>
public sealed class ImageDataGenerator
{
    public ImageDataGenerator(
        double rotationRange = 0, double widthShiftRange = 0, double heightShiftRange = 0, double shearRange = 0,
        double zoomRange = 0, bool horizontalFlip = false, bool verticalFlip = false, float rescale = 1f)
    {
        if (rotationRange < 0) throw new ArgumentOutOfRangeException(nameof(rotationRange), rotationRange, "rotation_range must be >= 0");
        if (widthShiftRange < 0) throw new ArgumentOutOfRangeException(nameof(widthShiftRange), widthShiftRange, "width_shift_range must be >= 0");
        if (heightShiftRange < 0) throw new ArgumentOutOfRangeException(nameof(heightShiftRange), heightShiftRange, "height_shift_range must be >= 0");
        if (shearRange < 0) throw new ArgumentOutOfRangeException(nameof(shearRange), shearRange, "shear_range must be >= 0");
        if (zoomRange < 0 || zoomRange >= 1) throw new ArgumentOutOfRangeException(nameof(zoomRange), zoomRange, "zoom_range must be in [0, 1)");
        RotationRange = rotationRange;
        WidthShiftRange = widthShiftRange;
        HeightShiftRange = heightShiftRange;
        ShearRange = shearRange;
        ZoomRange = zoomRange;
        HorizontalFlip = horizontalFlip;
        VerticalFlip = verticalFlip;
        Rescale = rescale;
    }

    public double RotationRange { get; }

    public double WidthShiftRange { get; }

    public double HeightShiftRange { get; }

    public double ShearRange { get; }

    public double ZoomRange { get; }

    public bool HorizontalFlip { get; }

    public bool VerticalFlip { get; }

    /// <summary>Multiplies pixels after augmentation (Keras's <c>rescale</c>, e.g. 1/255).</summary>
    public float Rescale { get; }

    /// <summary>Draws one transform for an image of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public ImageTransform RandomTransform(int height, int width, Random rng)
    {
        double U(double lo, double hi) => lo + (hi - lo) * rng.NextDouble();
        double theta = RotationRange > 0 ? U(-RotationRange, RotationRange) : 0;
        double tx = 0, ty = 0;
        if (HeightShiftRange > 0)
        {
            tx = U(-HeightShiftRange, HeightShiftRange);
            if (HeightShiftRange < 1) tx *= height;
        }
        if (WidthShiftRange > 0)
        {
            ty = U(-WidthShiftRange, WidthShiftRange);
            if (WidthShiftRange < 1) ty *= width;
        }
        double shear = ShearRange > 0 ? U(-ShearRange, ShearRange) : 0;
        double zx = 1, zy = 1;
        if (ZoomRange > 0)
        {
            zx = U(1 - ZoomRange, 1 + ZoomRange);
            zy = U(1 - ZoomRange, 1 + ZoomRange);
        }
        bool fh = HorizontalFlip && rng.NextDouble() < 0.5;
        bool fv = VerticalFlip && rng.NextDouble() < 0.5;
        return new ImageTransform(theta, tx, ty, shear, zx, zy, fh, fv);
    }

    /// <summary>Applies <paramref name="t"/> to an HWC image into <paramref name="dst"/> (same size).</summary>
    public static void ApplyTransform(ReadOnlySpan<float> src, Span<float> dst, int height, int width, int channels, ImageTransform t)
    {
        if (src.Length != height * width * channels || dst.Length != src.Length)
            throw new ArgumentException($"image buffers must hold {height}x{width}x{channels} values");
        var m = Matrix(t, height, width);
        bool affine = m is not null;
        for (int r = 0; r < height; r++)
        {
            for (int c = 0; c < width; c++)
            {
                int outR = t.FlipVertical ? height - 1 - r : r;
                int outC = t.FlipHorizontal ? width - 1 - c : c;
                int o = (outR * width + outC) * channels;
                if (!affine)
                {
                    src.Slice((r * width + c) * channels, channels).CopyTo(dst.Slice(o, channels));
                    continue;
                }
                double ir = m![0] * r + m[1] * c + m[2];
                double ic = m[3] * r + m[4] * c + m[5];
                ir = Math.Clamp(ir, 0, height - 1);
                ic = Math.Clamp(ic, 0, width - 1);
                int r0 = (int)Math.Floor(ir), c0 = (int)Math.Floor(ic);
                int r1 = Math.Min(r0 + 1, height - 1), c1 = Math.Min(c0 + 1, width - 1);
                double fr = ir - r0, fc = ic - c0;
                for (int k = 0; k < channels; k++)
                {
                    double v00 = src[(r0 * width + c0) * channels + k], v01 = src[(r0 * width + c1) * channels + k];
                    double v10 = src[(r1 * width + c0) * channels + k], v11 = src[(r1 * width + c1) * channels + k];
                    dst[o + k] = (float)((1 - fr) * ((1 - fc) * v00 + fc * v01) + fr * ((1 - fc) * v10 + fc * v11));
                }
            }
        }
    }

    /// <summary>The 2×3 output→input matrix, or null for the identity (then pixels are copied exactly).</summary>
    internal static double[]? Matrix(ImageTransform t, int height, int width)
    {
        double[,] m = Identity3();
        bool any = false;
        if (t.Theta != 0)
        {
            double a = t.Theta * Math.PI / 180, cos = Math.Cos(a), sin = Math.Sin(a);
            m = Mul(m, new[,] { { cos, -sin, 0 }, { sin, cos, 0 }, { 0, 0, 1 } });
            any = true;
        }
        if (t.Tx != 0 || t.Ty != 0)
        {
            m = Mul(m, new[,] { { 1, 0, t.Tx }, { 0, 1, t.Ty }, { 0, 0, 1 } });
            any = true;
        }
        if (t.Shear != 0)
        {
            double s = t.Shear * Math.PI / 180;
            m = Mul(m, new[,] { { 1, -Math.Sin(s), 0 }, { 0, Math.Cos(s), 0 }, { 0, 0, 1 } });
            any = true;
        }
        if (t.Zx != 1 || t.Zy != 1)
        {
            m = Mul(m, new[,] { { t.Zx, 0, 0 }, { 0, t.Zy, 0 }, { 0, 0, 1 } });
            any = true;
        }
        if (!any) return null;
        // Keras centres at (h/2 + 0.5, w/2 + 0.5) — kept as is so results match its augmentation geometry.
        double ox = height / 2.0 + 0.5, oy = width / 2.0 + 0.5;
        m = Mul(Mul(new[,] { { 1, 0, ox }, { 0, 1, oy }, { 0, 0, 1 } }, m), new[,] { { 1, 0, -ox }, { 0, 1, -oy }, { 0, 0, 1 } });
        return [m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2]];
    }

    private static double[,] Identity3() => new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };

    private static double[,] Mul(double[,] a, double[,] b)
    {
        var r = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                    r[i, j] += a[i, k] * b[k, j];
        return r;
    }

    /// <summary>Augments every image of a batch [n, h, w(, c)] with fresh random transforms from <paramref name="rng"/>.</summary>
    public DataArray Augment(DataArray images, Random rng)
    {
        if (images.Rank is not (3 or 4)) throw new ArgumentException($"images must be [n, h, w] or [n, h, w, c], got [{string.Join(", ", images.Shape)}]", nameof(images));
        int h = images.Shape[1], w = images.Shape[2], c = images.Rank == 4 ? images.Shape[3] : 1;
        var src = images.ToFloat32();
        var dst = new float[src.Length];
        int size = h * w * c;
        for (int i = 0; i < images.Count; i++)
        {
            var t = RandomTransform(h, w, rng);
            ApplyTransform(src.AsSpan(i * size, size), dst.AsSpan(i * size, size), h, w, c, t);
        }
        if (Rescale != 1f)
            for (int i = 0; i < dst.Length; i++) dst[i] *= Rescale;
        return DataArray.Create(dst, [.. images.Shape]);
    }

    /// <summary>Keras's <c>flow(x, y)</c>: batches of <paramref name="data"/>, each image freshly augmented.</summary>
    public IDataset Flow(InMemoryDataset data, int batchSize = 32, bool shuffle = true, int seed = 0) =>
        new AugmentedDataset(this, data.Batches(batchSize, shuffle, seed), seed);

    private sealed class AugmentedDataset(ImageDataGenerator generator, IDataset inner, int seed) : IDataset
    {
        public IReadOnlyList<int> FeatureShape => inner.FeatureShape;

        public int? BatchCount => inner.BatchCount;

        public IEnumerable<Batch> GetBatches(int epoch = 0)
        {
            // A separate stream from the shuffle's, so augmentation does not depend on the batch order's draws.
            var rng = new Random(DatasetExtensions.EpochSeed(unchecked(seed ^ 0x5bd1e995), epoch));
            foreach (var b in inner.GetBatches(epoch))
                yield return new Batch(generator.Augment(b.Features, rng), b.Labels, b.SampleWeights);
        }
    }
}
