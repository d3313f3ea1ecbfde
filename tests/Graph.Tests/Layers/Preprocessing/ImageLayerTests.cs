using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Preprocessing;

public sealed class ImageLayerTests
{
    private const int H = 4, W = 6, C = 2;
    private static readonly float[] Image = Reference.Random(2 * H * W * C, 61, 5f);

    private static float At(float[] x, int h, int w, int c, int b, int y, int z, int k) => x[((b * h + y) * w + z) * c + k];

    [Fact]
    public void RescalingScalesAndShifts()
    {
        var (y, _) = LayerRun.One(new Rescaling(1 / 255.0, -0.5), Image, [2, H, W, C]);
        Reference.AssertClose(Image.Select(v => (float)(v / 255.0 - 0.5)).ToArray(), y);
    }

    [Fact]
    public void RescalingPerChannelFromKerasConfig()
    {
        var c = KerasJson.ReadConfig<RescalingConfig>("""{"name": "rs", "trainable": true, "dtype": "float32", "scale": [2.0, 0.5], "offset": 1.0}""");
        var (y, _) = LayerRun.One(new Rescaling(c), Image, [2, H, W, C]);
        Reference.AssertClose(Image.Select((v, i) => v * (i % 2 == 0 ? 2f : 0.5f) + 1).ToArray(), y);
    }

    [Fact]
    public void CenterCropTakesTheMiddle()
    {
        var (y, dims) = LayerRun.One(new CenterCrop(3, 4), Image, [2, H, W, C]);
        Assert.Equal([2, 3, 4, C], dims);
        var expected = new List<float>();
        for (var b = 0; b < 2; b++)
            for (var r = 0; r < 3; r++)
                for (var q = 0; q < 4; q++)
                    for (var k = 0; k < C; k++)
                        expected.Add(At(Image, H, W, C, b, r + 0, q + 1, k));
        Reference.AssertClose(expected.ToArray(), y);
    }

    private static float[] ResizeReference(float[] x, int outH, int outW, bool bilinear)
    {
        var y = new float[2 * outH * outW * C];
        double Coord(int i, int inSize, int outSize) => Math.Clamp((i + 0.5) * inSize / outSize - 0.5, 0, inSize - 1);
        int Nearest(int i, int inSize, int outSize) => Math.Min((int)Math.Floor((i + 0.5) * inSize / outSize), inSize - 1);
        for (var b = 0; b < 2; b++)
            for (var r = 0; r < outH; r++)
                for (var q = 0; q < outW; q++)
                    for (var k = 0; k < C; k++)
                    {
                        double v;
                        if (!bilinear) v = At(x, H, W, C, b, Nearest(r, H, outH), Nearest(q, W, outW), k);
                        else
                        {
                            var (sy, sx) = (Coord(r, H, outH), Coord(q, W, outW));
                            var (y0, x0) = ((int)Math.Floor(sy), (int)Math.Floor(sx));
                            var (y1, x1) = (Math.Min(y0 + 1, H - 1), Math.Min(x0 + 1, W - 1));
                            var (fy, fx) = (sy - y0, sx - x0);
                            v = (1 - fy) * ((1 - fx) * At(x, H, W, C, b, y0, x0, k) + fx * At(x, H, W, C, b, y0, x1, k))
                                + fy * ((1 - fx) * At(x, H, W, C, b, y1, x0, k) + fx * At(x, H, W, C, b, y1, x1, k));
                        }
                        y[((b * outH + r) * outW + q) * C + k] = (float)v;
                    }
        return y;
    }

    [Fact]
    public void ResizingMatchesHalfPixelReference()
    {
        (int H, int W, string Mode)[] cases = [(3, 4, "bilinear"), (7, 9, "bilinear"), (3, 4, "nearest"), (7, 9, "nearest")];
        var input = Input.Of(H, W, C);
        var model = new NeuralService.Graph.Models.Functional([input], cases.Select(c => new Resizing(c.H, c.W, c.Mode).Apply(input)).ToList());
        var outs = LayerRun.Model(model, null, (Image, [2, H, W, C]));
        for (var k = 0; k < cases.Length; k++)
        {
            var (outH, outW, mode) = cases[k];
            Assert.Equal([2, outH, outW, C], outs[k].Dims);
            Reference.AssertClose(ResizeReference(Image, outH, outW, mode == "bilinear"), outs[k].Data, what: $"{mode} {outH}x{outW}");
        }
    }

    [Fact]
    public void ResizingRejectsUnsupportedInterpolationQuotingIt() =>
        Assert.Contains("'lanczos5'", Assert.Throws<ArgumentException>(() => new Resizing(2, 2, "lanczos5")).Message);

    [Fact]
    public void RandomLayersAreIdentityAtInference()
    {
        var input = Input.Of(H, W, C);
        Layer[] layers = [new RandomFlip(), new RandomRotation(0.2), new RandomZoom(0.1), new RandomTranslation(0.1, 0.2), new RandomContrast(0.5)];
        var model = new NeuralService.Graph.Models.Functional([input], layers.Select(l => l.Apply(input)).ToList());
        var outs = LayerRun.Model(model, null, (Image, [2, H, W, C]));
        foreach (var (data, _) in outs) Reference.AssertClose(Image, data);
        var (crop, dims) = LayerRun.One(new RandomCrop(2, 2), Image, [2, H, W, C]);
        Assert.Equal([2, 2, 2, C], dims);
        Assert.Equal(At(Image, H, W, C, 0, 1, 2, 0), crop[0]);
    }

    [Fact]
    public void RandomFlipInTrainingFlipsWholeImagesOrNot()
    {
        const int n = 16;
        var x = Reference.Random(n * H * W * C, 62);
        var (y, _) = LayerRun.One(new RandomFlip("horizontal"), x, [n, H, W, C], training: true, seed: 1);
        var flipped = 0;
        for (var b = 0; b < n; b++)
        {
            bool Same(bool mirror) => Enumerable.Range(0, H * W * C).All(i =>
            {
                var (r, q, k) = (i / (W * C), i / C % W, i % C);
                return y[((b * H + r) * W + q) * C + k] == At(x, H, W, C, b, r, mirror ? W - 1 - q : q, k);
            });
            var mirrored = Same(true);
            Assert.True(mirrored || Same(false), $"image {b} is neither the input nor its mirror");
            if (mirrored) flipped++;
        }
        Assert.InRange(flipped, 2, n - 2);
    }

    [Fact]
    public void RandomContrastInTrainingScalesAroundTheMean()
    {
        const int n = 8;
        var x = Reference.Random(n * H * W * C, 63, 50f).Select(v => v + 100).ToArray();
        var (y, _) = LayerRun.One(new RandomContrast(0.5), x, [n, H, W, C], training: true, seed: 2);
        var factors = new List<double>();
        for (var b = 0; b < n; b++)
        {
            var means = Enumerable.Range(0, C).Select(k => Enumerable.Range(0, H * W).Average(p => (double)x[(b * H * W + p) * C + k])).ToArray();
            var i0 = b * H * W * C;
            var factor = (y[i0] - means[0]) / (x[i0] - means[0]);
            Assert.InRange(factor, 0.5, 1.5);
            factors.Add(factor);
            var expected = Enumerable.Range(0, H * W * C).Select(i => (float)Math.Clamp((x[i0 + i] - means[i % C]) * factor + means[i % C], 0, 255)).ToArray();
            Reference.AssertClose(expected, y[i0..(i0 + H * W * C)], 1e-4, $"image {b}");
        }
        Assert.True(factors.Distinct().Count() > 1, "every image got the same contrast factor");
    }

    [Fact]
    public void AugmentationsWithoutAGraphFormAreIdentityInTraining()
    {
        var (y, _) = LayerRun.One(new RandomRotation(0.3), Image, [2, H, W, C], training: true);
        Reference.AssertClose(Image, y);
    }

    [Fact]
    public void Keras3ImageConfigsImport()
    {
        var flip = KerasJson.ReadConfig<RandomFlipConfig>("""{"name": "f", "trainable": true, "dtype": "float32", "seed": null, "mode": "horizontal", "data_format": "channels_last"}""");
        Assert.Equal("horizontal", new RandomFlip(flip).Config.Mode);
        var rot = KerasJson.ReadConfig<RandomRotationConfig>("""
            {"name": "r", "trainable": true, "dtype": "float32", "factor": [-0.2, 0.3], "data_format": "channels_last", "fill_value": 0.0,
             "value_range": [0, 255], "fill_mode": "reflect", "interpolation": "bilinear", "seed": null}
            """);
        Assert.Equal([-0.2, 0.3], new RandomRotation(rot).Config.Factor);
        var resize = KerasJson.ReadConfig<ResizingConfig>("""
            {"name": "z", "trainable": true, "dtype": "float32", "height": 8, "width": 8, "interpolation": "nearest", "data_format": "channels_last",
             "crop_to_aspect_ratio": false, "pad_to_aspect_ratio": false, "fill_mode": "constant", "fill_value": 0.0}
            """);
        Assert.Equal("nearest", new Resizing(resize).Config.Interpolation);
        var contrast = KerasJson.ReadConfig<RandomContrastConfig>("""{"name": "c", "trainable": true, "dtype": "float32", "factor": 0.2, "value_range": [0, 255], "seed": 3}""");
        Assert.Equal(0.2, new RandomContrast(contrast).Upper);
    }
}
