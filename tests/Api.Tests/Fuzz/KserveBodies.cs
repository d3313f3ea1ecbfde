using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>Binary tensor data extension bodies (a JSON header of Inference-Header-Content-Length bytes, then raw
/// tensors) made from the operation's JSON example, then broken: the header length header absent, negative, past the
/// body, not a number or repeated; binary_data_size of the wrong kind, negative, huge or not matching the bytes;
/// datatypes and shapes that do not fit the bytes; BYTES elements with lying length prefixes; leftover bytes.</summary>
public sealed class KserveBodies(Random rng)
{
    private static readonly string[] SizeValues = ["-1", "0", "1", "31", "33", "64", "2147483647", "2147483648", "9223372036854775807", "1e30", "32.0", "32.5", "\"32\"", "null", "true", "[32]", "{}", "-0"];
    private static readonly string[] Datatypes = ["FP64", "INT8", "UINT8", "INT64", "BYTES", "BOOL", "FP16", "UINT64", "INT32", "fp32", "", "FP8", "BF16"];
    private static readonly string[] Shapes = ["[4,4]", "[0]", "[]", "[-1,4]", "[2147483648,2147483648]", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2,4]", "[8]", "[2,2,2]", "[1,4]", "[3,4]", "[2,0]", "[9223372036854775807]", "[65536,65536]", "[2,\"4\"]"];
    private readonly List<string> _steps = [];

    public (byte[] Body, List<(string, string)> Headers, string ContentType, string What) Next(JsonNode? example)
    {
        var input = example?["inputs"]?[0];
        var name = input?["name"]?.GetValue<string>() ?? "input_layer";
        var rows = 2;
        string datatype = "FP32", shape = "[2,4]", size = "32";
        var data = new byte[rows * 4 * 4];
        for (var i = 0; i < rows * 4; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), i * 0.25f);
        var extraInputs = "";
        var outputs = "";
        var count = 1 + rng.Next(2);
        string? headerValue = null;
        var repeatHeader = false;
        var omitHeader = false;
        var contentType = "application/octet-stream";
        for (var s = 0; s < count; s++)
            switch (rng.Next(11))
            {
                case 0 or 1:
                    size = SizeValues[rng.Next(SizeValues.Length)];
                    _steps.Add($"binary_data_size {size}");
                    break;
                case 2:
                    datatype = Datatypes[rng.Next(Datatypes.Length)];
                    _steps.Add($"datatype '{datatype}'");
                    break;
                case 3:
                    shape = Shapes[rng.Next(Shapes.Length)];
                    _steps.Add($"shape {shape}");
                    break;
                case 4 or 5:
                    headerValue = rng.Next(12) switch
                    {
                        0 => "-1", 1 => "0", 2 => "abc", 3 => " 5", 4 => "+5", 5 => "0x10", 6 => "", 7 => "1e3", 8 => "5, 6",
                        9 => "2147483648", 10 => "9223372036854775807", _ => "99999999999999999999999",
                    };
                    _steps.Add($"header length '{headerValue}'");
                    break;
                case 6:
                    var delta = rng.Next(-40, 40);
                    headerValue = "delta:" + delta.ToString(CultureInfo.InvariantCulture);
                    _steps.Add($"header length off by {delta}");
                    break;
                case 7:
                    if (rng.Next(2) == 0) { omitHeader = true; _steps.Add("no header length header"); }
                    else { repeatHeader = true; _steps.Add("header length header twice"); }
                    break;
                case 8:
                    var cut = rng.Next(data.Length + 20);
                    data = cut <= data.Length ? data[..cut] : [.. data, .. new byte[cut - data.Length]];
                    _steps.Add($"{data.Length} tensor bytes");
                    break;
                case 9:
                    datatype = "BYTES";
                    shape = "[2]";
                    var lie = rng.Next(4) switch { 0 => -1, 1 => int.MaxValue, 2 => 1000, _ => 3 };
                    data = [.. BitConverter.GetBytes(lie), .. "abc"u8, .. BitConverter.GetBytes(2), .. "xy"u8];
                    size = data.Length.ToString(CultureInfo.InvariantCulture);
                    _steps.Add($"BYTES with length prefix {lie}");
                    break;
                default:
                    if (rng.Next(2) == 0)
                    {
                        extraInputs = $$$""",{"name": "{{{name}}}", "datatype": "FP32", "shape": [2,4], "parameters": {"binary_data_size": 32}}""";
                        data = [.. data, .. data];
                        _steps.Add("the input twice");
                    }
                    else
                    {
                        outputs = rng.Next(3) switch
                        {
                            0 => """, "outputs": [{"name": "dense_1", "parameters": {"binary_data": true}}]""",
                            1 => """, "parameters": {"binary_data_output": true}, "outputs": [{"name": "nope", "parameters": {"binary_data": "yes"}}]""",
                            _ => """, "outputs": [{"name": "dense_1", "parameters": {"binary_data": true}}, {"name": "dense_1"}]""",
                        };
                        _steps.Add("binary outputs");
                    }
                    break;
            }
        if (_steps.Count == 0) _steps.Add("valid");
        if (rng.Next(12) == 0)
        {
            contentType = rng.Next(2) == 0 ? "application/json" : "text/plain";
            _steps.Add($"as {contentType}");
        }
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs": [{"name": "{{{name}}}", "datatype": "{{{datatype}}}", "shape": {{{shape}}}, "parameters": {"binary_data_size": {{{size}}}}}{{{extraInputs}}}]{{{outputs}}}}""");
        byte[] body = [.. header, .. data];
        var value = headerValue is null ? header.Length.ToString(CultureInfo.InvariantCulture)
            : headerValue.StartsWith("delta:", StringComparison.Ordinal) ? (header.Length + int.Parse(headerValue[6..], CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture)
            : headerValue;
        var headers = new List<(string, string)>();
        if (!omitHeader) headers.Add(("Inference-Header-Content-Length", value));
        if (repeatHeader) headers.Add(("Inference-Header-Content-Length", (header.Length + 1).ToString(CultureInfo.InvariantCulture)));
        return (body, headers, contentType, string.Join("; ", _steps));
    }
}
