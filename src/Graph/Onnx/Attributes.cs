using Google.Protobuf;
using Onnx;
using AttrType = Onnx.AttributeProto.Types.AttributeType;

namespace NeuralService.Graph.Onnx;

/// <summary>Creates <see cref="AttributeProto"/>s.</summary>
public static class Attr
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttrType.Int, I = value };
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttrType.Float, F = value };
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttrType.String, S = ByteString.CopyFromUtf8(value) };
    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, Type = AttrType.Tensor, T = value };
    public static AttributeProto Graph(string name, GraphProto value) => new() { Name = name, Type = AttrType.Graph, G = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Ints(string name, IEnumerable<int> values) => Ints(name, values.Select(v => (long)v));

    public static AttributeProto Floats(string name, IEnumerable<float> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    public static AttributeProto Strings(string name, IEnumerable<string> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }
}

/// <summary>Reads attributes of a <see cref="NodeProto"/> with defaults.</summary>
public static class NodeAttributes
{
    public static AttributeProto? Find(this NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);
    public static bool Has(this NodeProto node, string name) => node.Find(name) is not null;
    public static long GetInt(this NodeProto node, string name, long defaultValue) => node.Find(name)?.I ?? defaultValue;
    public static float GetFloat(this NodeProto node, string name, float defaultValue) => node.Find(name)?.F ?? defaultValue;
    public static string GetString(this NodeProto node, string name, string defaultValue) =>
        node.Find(name) is { } a ? a.S.ToStringUtf8() : defaultValue;
    public static long[]? GetInts(this NodeProto node, string name) => node.Find(name)?.Ints.ToArray();
    public static float[]? GetFloats(this NodeProto node, string name) => node.Find(name)?.Floats.ToArray();
    public static TensorProto? GetTensor(this NodeProto node, string name) => node.Find(name)?.T;
    public static GraphProto? GetGraph(this NodeProto node, string name) => node.Find(name)?.G;
    /// <summary>"Relu(dense/Relu)" — how errors name a node.</summary>
    public static string Describe(this NodeProto node) => $"{node.OpType} node '{node.Name}'";
}
