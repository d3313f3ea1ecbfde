using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Engine;

/// <summary>Converts <see cref="NamedTensor"/>s to and from ONNX Runtime values. ORT's
/// <see cref="TensorElementType"/> numbers equal ONNX's <c>TensorProto.DataType</c>, so types map one to one.</summary>
public static class OrtTensors
{
    public static OrtValue ToOrtValue(NamedTensor t)
    {
        if (t.ElementType == DataType.String)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, t.Dims);
            try
            {
                for (var i = 0; i < t.Strings!.Length; i++) value.StringTensorSetElementAt(t.Strings[i].AsSpan(), i);
                return value;
            }
            catch
            {
                value.Dispose();
                throw;
            }
        }
        var tensor = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)t.ElementType, t.Dims);
        if (t.Data!.Length > 0) t.Data.CopyTo(tensor.GetTensorMutableRawData());
        return tensor;
    }

    public static NamedTensor FromOrtValue(string name, OrtValue value)
    {
        if (value.OnnxType != OnnxValueType.ONNX_TYPE_TENSOR)
            throw new InvalidModelException($"output '{name}' is a {value.OnnxType}; only tensor outputs are served");
        var info = value.GetTensorTypeAndShape();
        var type = (DataType)(int)info.ElementDataType;
        var dims = info.Shape;
        return type == DataType.String
            ? new NamedTensor(name, type, dims, strings: value.GetStringTensorAsArray())
            : new NamedTensor(name, type, dims, value.GetTensorMutableRawData().ToArray());
    }
}
