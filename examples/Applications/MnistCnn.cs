namespace NeuralService.Applications;

/// <summary>(a) The seed CNN (onnx-models/specs/mnist_cnn.json) on real MNIST digits: the built-in <c>mnist</c>
/// (7996 train) and <c>mnist:test</c> (2004), the recipe of <see cref="FashionCnn"/>.</summary>
public static class MnistCnn
{
    public static AppResult Run(AppOptions options) => FashionCnn.Run(options, "mnist-cnn", "mnist", 7996, 2004);
}
