using NeuralService.Inference.Engine;
using NeuralService.Inference.Import;
using NeuralService.Inference.Tests.Support;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Engine;

public sealed class BatchPlanTests
{
    [Fact]
    public void Symbolic_leading_dim_concatenates() =>
        Assert.Equal(BatchMode.Concatenate, BatchPlan.ModeOf(SignatureReader.Read(TestModels.Affine())));

    [Fact]
    public void Fixed_batch_of_one_is_detected() =>
        Assert.Equal(BatchMode.FixedBatchOfOne, BatchPlan.ModeOf(SignatureReader.Read(TestModels.FixedBatchOne())));

    [Fact]
    public void Fixed_or_scalar_shapes_run_singly()
    {
        Assert.Equal(BatchMode.Single, BatchPlan.ModeOf(SignatureReader.Read(TestModels.Identity(DataType.Float, 4, 3))));
        Assert.Equal(BatchMode.Single, BatchPlan.ModeOf(SignatureReader.Read(TestModels.Identity(DataType.Float))));
    }
}
