using Google.Protobuf;
using Onnx;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>Broken ONNX uploads made from a valid model: byte-level damage (bit flips, truncation, inserted, deleted
/// or repeated bytes) and protobuf-level tampering that still parses (opset and IR version, op types, node wiring,
/// initializer dims and types, input element types and shapes, outputs, attributes, metadata).</summary>
public sealed class OnnxMutator(Random rng, byte[] valid)
{
    public (byte[] Bytes, string What) Mutate() => rng.Next(5) < 2 ? Bytes() : Proto();

    private (byte[], string) Bytes()
    {
        var b = (byte[])valid.Clone();
        var at = rng.Next(b.Length);
        switch (rng.Next(7))
        {
            case 0:
                var flips = 1 + rng.Next(16);
                for (var i = 0; i < flips; i++) { var p = rng.Next(b.Length); b[p] ^= (byte)(1 << rng.Next(8)); }
                return (b, $"{flips} bit flips");
            case 1: return (b[..at], $"truncated to {at} of {b.Length} bytes");
            case 2:
                var insert = new byte[1 + rng.Next(64)];
                rng.NextBytes(insert);
                return ([.. b[..at], .. insert, .. b[at..]], $"{insert.Length} random bytes inserted at {at}");
            case 3:
                var n = Math.Min(1 + rng.Next(32), b.Length - at);
                return ([.. b[..at], .. b[(at + n)..]], $"{n} bytes deleted at {at}");
            case 4:
                var len = Math.Min(1 + rng.Next(200), b.Length - at);
                return ([.. b[..(at + len)], .. b[at..]], $"{len} bytes repeated at {at}");
            case 5:
                // A varint length or tag turned into an absurd one.
                byte[] huge = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
                return ([.. b[..at], .. huge, .. b[Math.Min(b.Length, at + 1)..]], $"varint 0xFFFFFFFF0F at {at}");
            default:
                var z = Math.Min(1 + rng.Next(100), b.Length - at);
                Array.Clear(b, at, z);
                return (b, $"{z} bytes zeroed at {at}");
        }
    }

    private (byte[], string) Proto()
    {
        var m = ModelProto.Parser.ParseFrom(valid);
        var g = m.Graph;
        var steps = new List<string>();
        var count = 1 + rng.Next(2);
        for (var s = 0; s < count; s++) steps.Add(Tamper(m, g));
        return (m.ToByteArray(), string.Join("; ", steps));
    }

    private static readonly long[] Versions = [-1, 0, 1, 6, 12, 16, 18, 21, 22, 99, long.MaxValue];
    private static readonly long[] Dims = [-7, -1, 0, 1, 3, 5, 1 << 20, 1L << 40, long.MaxValue];
    private static readonly string[] OpTypes = ["Foo", "", "Loop", "If", "Relu", "Gemm", "MatMul", "Identity", "Reshape", "Scan", "Softmax", "Add"];

    private T Pick<T>(IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private string Tamper(ModelProto m, GraphProto g)
    {
        switch (rng.Next(16))
        {
            case 0:
                var v = Pick(Versions);
                m.OpsetImport[0].Version = v;
                return $"opset {v}";
            case 1:
                var d = Pick(new[] { "ai.onnx.ml", "com.evil", "ai.onnx", "\u0000" });
                m.OpsetImport[0].Domain = d;
                return $"opset domain '{d}'";
            case 2:
                var ir = Pick(Versions);
                m.IrVersion = ir;
                return $"ir_version {ir}";
            case 3 when g.Node.Count > 0:
                var i = rng.Next(g.Node.Count);
                g.Node.RemoveAt(i);
                return $"node {i} removed";
            case 4 when g.Node.Count > 0:
                var node = Pick(g.Node);
                var op = Pick(OpTypes);
                var was = node.OpType;
                node.OpType = op;
                return $"node {node.Name} {was} → '{op}'";
            case 5 when g.Node.Count > 0:
                var n5 = Pick(g.Node);
                if (n5.Input.Count == 0) break;
                var k = rng.Next(n5.Input.Count);
                n5.Input[k] = Pick(new[] { "", "missing", n5.Output[0], g.Input[0].Name, "x\u0000" });
                return $"node {n5.Name} input {k} → '{n5.Input[k]}'";
            case 6 when g.Node.Count > 1:
                g.Node[1].Output[0] = g.Node[0].Output[0];
                return "two nodes write one output";
            case 7 when g.Initializer.Count > 0:
                var t = Pick(g.Initializer);
                if (t.Dims.Count == 0) break;
                var di = rng.Next(t.Dims.Count);
                t.Dims[di] = Pick(Dims);
                return $"initializer {t.Name} dim {di} = {t.Dims[di]}";
            case 8 when g.Initializer.Count > 0:
                var t8 = Pick(g.Initializer);
                var dt = rng.Next(-1, 26);
                t8.DataType = dt;
                return $"initializer {t8.Name} data_type {dt}";
            case 9 when g.Initializer.Count > 0:
                var t9 = Pick(g.Initializer);
                var raw = t9.RawData.Length > 0 ? t9.RawData.ToByteArray() : [];
                t9.RawData = ByteString.CopyFrom(raw[..rng.Next(raw.Length + 1)]);
                t9.FloatData.Clear();
                return $"initializer {t9.Name} data cut to {t9.RawData.Length} bytes";
            case 10:
                var input = g.Input[0];
                var et = rng.Next(-1, 30);
                input.Type.TensorType.ElemType = et;
                return $"input elem_type {et}";
            case 11:
                var shape = g.Input[0].Type.TensorType.Shape;
                var dim = new TensorShapeProto.Types.Dimension();
                if (rng.Next(3) == 0) dim.DimParam = Pick(new[] { "", "N", "🦀", "-1" });
                else dim.DimValue = Pick(Dims);
                if (shape.Dim.Count > 0 && rng.Next(2) == 0) shape.Dim[rng.Next(shape.Dim.Count)] = dim;
                else shape.Dim.Add(dim);
                return $"input shape [{string.Join(",", shape.Dim.Select(x => x.HasDimValue ? x.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : "'" + x.DimParam + "'"))}]";
            case 12:
                if (rng.Next(2) == 0) { g.Output.Clear(); return "no outputs"; }
                g.Output.Add(new ValueInfoProto { Name = "nowhere", Type = g.Input[0].Type.Clone() });
                return "an output no node writes";
            case 13 when g.Node.Count > 0:
                var n13 = Pick(g.Node);
                var attr = new AttributeProto { Name = Pick(new[] { "axis", "transB", "alpha", "junk", "" }), Type = (AttributeProto.Types.AttributeType)rng.Next(0, 15) };
                if (rng.Next(2) == 0) attr.I = Pick(Dims);
                else attr.S = ByteString.CopyFromUtf8("x");
                n13.Attribute.Add(attr);
                return $"node {n13.Name} attribute '{attr.Name}' type {attr.Type}";
            case 14:
                var entries = rng.Next(2) == 0 ? 1 : 2000;
                for (var e = 0; e < entries; e++)
                    m.MetadataProps.Add(new StringStringEntryProto { Key = rng.Next(3) == 0 ? "" : $"k{e}\u0000🦀", Value = new string('v', rng.Next(10_000)) });
                return $"{entries} metadata entries";
            case 15 when g.Node.Count > 0:
                var n15 = g.Node[^1];
                if (n15.Input.Count == 0) break;
                n15.Input[0] = n15.Output[0];
                return "a node reads its own output (cycle)";
        }
        g.Name = new string('g', rng.Next(2) == 0 ? 0 : 100_000);
        return $"graph name of {g.Name.Length} chars";
    }
}
