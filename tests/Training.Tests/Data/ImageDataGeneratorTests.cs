using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class ImageDataGeneratorTests
{
    private const int H = 5, W = 6;

    /// <summary>Pixel (r, c) has value 10r + c, one channel.</summary>
    private static float[] Ramp() => Enumerable.Range(0, H * W).Select(i => (float)(10 * (i / W) + i % W)).ToArray();

    private static float At(float[] img, int r, int c) => img[r * W + c];

    private static float[] Apply(ImageTransform t)
    {
        var dst = new float[H * W];
        ImageDataGenerator.ApplyTransform(Ramp(), dst, H, W, 1, t);
        return dst;
    }

    [Fact]
    public void HorizontalFlipMirrorsColumnsExactly()
    {
        var y = Apply(new ImageTransform(FlipHorizontal: true));
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                Assert.Equal(At(Ramp(), r, W - 1 - c), At(y, r, c));
    }

    [Fact]
    public void ZeroRangesAreTheIdentity()
    {
        var gen = new ImageDataGenerator();
        var x = DataArray.Create(Ramp(), 1, H, W, 1);
        Assert.Equal(Ramp(), gen.Augment(x, new Random(1)).As<float>());
        Assert.Equal(Ramp(), Apply(new ImageTransform(Theta: 0, Zx: 1, Zy: 1)));
    }

    [Fact]
    public void ShiftMovesPixelsByTheShift()
    {
        // Keras's matrix maps output to input: tx = 2 rows means output row r shows input row r + 2.
        var y = Apply(new ImageTransform(Tx: 2, Ty: -1));
        for (int r = 0; r < H - 2; r++)
            for (int c = 1; c < W; c++)
                Assert.Equal(At(Ramp(), r + 2, c - 1), At(y, r, c), 4);
        // fill_mode nearest: beyond the border the edge repeats.
        Assert.Equal(At(Ramp(), H - 1, 0), At(y, H - 1, 0), 4);
    }

    [Fact]
    public void Rotation180ReversesTheImage()
    {
        var y = Apply(new ImageTransform(Theta: 180));
        // Keras centres at (h/2 + 0.5, w/2 + 0.5), so 180° maps (r, c) to (h + 1 − r, w + 1 − c), clamped.
        for (int r = 2; r < H; r++)
            for (int c = 2; c < W; c++)
                Assert.Equal(At(Ramp(), H + 1 - r, W + 1 - c), At(y, r, c), 3);
    }

    [Fact]
    public void ZoomInterpolatesBilinearly()
    {
        // zx = 0.5 halves row distances from the centre (3.0): output row 2 samples input row 2.5.
        var y = Apply(new ImageTransform(Zx: 0.5));
        Assert.Equal((At(Ramp(), 2, 1) + At(Ramp(), 3, 1)) / 2, At(y, 2, 1), 4);
    }

    [Fact]
    public void RandomAugmentationIsSeededAndBounded()
    {
        var gen = new ImageDataGenerator(rotationRange: 20, widthShiftRange: 0.2, heightShiftRange: 0.2, shearRange: 10, zoomRange: 0.1, horizontalFlip: true);
        var data = new InMemoryDataset(DataArray.Create(Enumerable.Repeat(Ramp(), 8).SelectMany(a => a).ToArray(), 8, H, W, 1), DataArray.Vector(new long[8]));
        var a = gen.Flow(data, batchSize: 4, seed: 7).GetBatches(0).SelectMany(b => b.Features.As<float>()).ToArray();
        var b = gen.Flow(data, batchSize: 4, seed: 7).GetBatches(0).SelectMany(b => b.Features.As<float>()).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Repeat(Ramp(), 8).SelectMany(x => x), a);
        Assert.All(a, v => Assert.InRange(v, 0f, 45f));
        var t = gen.RandomTransform(H, W, new Random(3));
        Assert.InRange(t.Theta, -20, 20);
        Assert.InRange(t.Tx, -0.2 * H, 0.2 * H);
        Assert.InRange(t.Zx, 0.9, 1.1);
    }

    [Fact]
    public void InvalidRangesAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataGenerator(zoomRange: 1.5));
        Assert.Contains("1.5", e.Message);
    }
}
