using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Keras;

namespace NeuralService.Api.Tests.Support;

/// <summary>Small models and data built with our own Graph library, and ONNX Runtime as the independent runner.</summary>
public static class TestModels
{
    /// <summary>Keras 3 Sequential: 4 inputs → Dense(8, relu) → Dense(3, softmax).</summary>
    public const string DenseJson = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "mlp", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 8, "activation": "relu"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "softmax"}}
        ]}}
        """;

    public static byte[] DenseOnnx() => KerasModelJson.Read(DenseJson).ToOnnx().ToByteArray();

    public static string InputName(byte[] onnx) { using var s = new InferenceSession(onnx); return s.InputNames[0]; }
    public static string OutputName(byte[] onnx) { using var s = new InferenceSession(onnx); return s.OutputNames[0]; }

    /// <summary>ONNX Runtime's own output for a float input [rows, cols].</summary>
    public static float[] RunOrt(byte[] onnx, float[] x, int rows, int cols)
    {
        using var s = new InferenceSession(onnx);
        using var r = s.Run([NamedOnnxValue.CreateFromTensor(s.InputNames[0], new DenseTensor<float>(x, [rows, cols]))]);
        return r.First().AsTensor<float>().ToArray();
    }

    public static float[] Inputs(int rows, int cols) =>
        Enumerable.Range(0, rows * cols).Select(i => (float)Math.Sin(i * 0.7) * 2).ToArray();

    public static ByteArrayContent Octets(byte[] bytes)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return c;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Three separable classes in 4 features, label in the last column.</summary>
    public static string BlobsCsv(int rows)
    {
        var sb = new StringBuilder("a,b,c,d,label\n");
        var rng = new Random(7);
        for (var i = 0; i < rows; i++)
        {
            var c = i % 3;
            sb.Append(string.Join(",", Enumerable.Range(0, 4).Select(f => ((f == c ? 3.0 : 0.0) + rng.NextDouble() * 0.5).ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
            sb.Append(',').Append(c).Append('\n');
        }
        return sb.ToString();
    }

    public static MultipartFormDataContent CsvUpload(string csv, string name, string fileName = "data.csv")
    {
        var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", fileName);
        form.Add(new StringContent(name), "name");
        form.Add(new StringContent("int64"), "label_type");
        return form;
    }
}
