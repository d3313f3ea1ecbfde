using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace NeuralService.Inference.Tests.Support;

public static class ExternalModels
{
    /// <summary><c>y = x + w</c> where <c>w</c> (4 floats, 1..4) lives in an external file at <paramref name="location"/>.</summary>
    public static ModelProto WithExternalWeights(string location, long offset = 0)
    {
        var model = TestModels.Large(4, 0f);
        var w = model.Graph.Initializer.Single(t => t.Name == "w");
        w.RawData = ByteString.Empty;
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "16" });
        return model;
    }

    public static byte[] WeightBytes => MemoryMarshal.AsBytes<float>([1f, 2f, 3f, 4f]).ToArray();
}
