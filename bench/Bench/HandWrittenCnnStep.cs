using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Training.Execution;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Bench;

/// <summary>The seed CNN's train step (Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10, sparse softmax cross-entropy,
/// Adam) written by hand in plain ONNX ops, NCHW, static batch: the reference the compiled step is measured against.
/// Backward: ReLU dX = dY·(Y&gt;0); softmax CE dZ = (softmax(Z) − onehot(y))/B; conv weight gradient as a Conv of the
/// batch-transposed input and output gradient; conv data gradient as ConvTranspose; max-pool gradient by scattering
/// into the pool's argmax indices.</summary>
public static class HandWrittenCnnStep
{
    private static readonly (string Name, long[] Shape)[] Params =
    [
        ("w1", [32, 1, 3, 3]), ("b1", [32]), ("w2", [64, 32, 3, 3]), ("b2", [64]), ("w3", [64, 64, 3, 3]), ("b3", [64]),
        ("w4", [576, 64]), ("b4", [64]), ("w5", [64, 10]), ("b5", [10]),
    ];

    public static long ParameterCount => Params.Sum(p => p.Shape.Aggregate(1L, (a, d) => a * d));

    public static (ModelProto Model, StepSignature Signature, Dictionary<string, float[]> Initial) Build(int batch, int seed = 0)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(batch, 1, 28, 28));
        var y = g.AddInput("y", DataType.Int64, Shape.Of(batch));
        var lr = g.AddInput("lr", DataType.Float, Shape.Scalar);
        var t = g.AddInput("step", DataType.Float, Shape.Scalar);
        var p = Params.ToDictionary(q => q.Name, q => g.AddInput(q.Name, DataType.Float, Shape.Of(q.Shape)));
        var m = Params.ToDictionary(q => q.Name, q => g.AddInput(q.Name + ".m", DataType.Float, Shape.Of(q.Shape)));
        var v = Params.ToDictionary(q => q.Name, q => g.AddInput(q.Name + ".v", DataType.Float, Shape.Of(q.Shape)));

        Value Conv(Value input, Value w, Value b) => g.Node1("Conv", [input, w, b]);
        Value Relu(Value a) => g.Node1("Relu", [a]);
        (Value Y, Value Idx) Pool(Value a)
        {
            var r = g.Node("MaxPool", [a], [Attr.Ints("kernel_shape", [2L, 2]), Attr.Ints("strides", [2L, 2])], 2);
            return (r[0], r[1]);
        }
        Value T0(Value a) => g.Node1("Transpose", [a], [Attr.Ints("perm", [1L, 0, 2, 3])]);
        Value ReluGrad(Value dy, Value yAct) => g.Node1("Mul", [dy, g.Node1("Cast", [g.Node1("Greater", [yAct, g.Constant(0f)])], [Attr.Int("to", (long)DataType.Float)])]);
        Value WeightGrad(Value input, Value dy) => T0(g.Node1("Conv", [T0(input), T0(dy)]));
        Value BiasGrad(Value dy) => g.Node1("ReduceSum", [dy, g.Ints(0, 2, 3)], [Attr.Int("keepdims", 0)]);
        Value PoolGrad(Value dy, Value idx, Value like)
        {
            var n = like.Shape.ElementCount!.Value;
            var zeros = g.Constant(new float[n], [n]);
            var flat = g.Node1("ScatterElements", [zeros, g.Node1("Reshape", [idx, g.Ints(-1)]), g.Node1("Reshape", [dy, g.Ints(-1)])], [Attr.Int("axis", 0)]);
            return g.Node1("Reshape", [flat, g.Ints(like.Shape.ToArray())]);
        }

        // forward
        var c1 = Relu(Conv(x, p["w1"], p["b1"]));
        var (p1, i1) = Pool(c1);
        var c2 = Relu(Conv(p1, p["w2"], p["b2"]));
        var (p2, i2) = Pool(c2);
        var c3 = Relu(Conv(p2, p["w3"], p["b3"]));
        var f = g.Node1("Flatten", [c3]);
        var h = Relu(g.Node1("Gemm", [f, p["w4"], p["b4"]]));
        var z = g.Node1("Gemm", [h, p["w5"], p["b5"]]);
        var logp = g.Node1("LogSoftmax", [z], [Attr.Int("axis", 1)]);
        var oneHot = g.Node1("OneHot", [y, g.Ints(10), g.Constant([0f, 1f], [2])], [Attr.Int("axis", -1)]);
        var loss = g.Node1("Neg", [g.Node1("ReduceMean", [g.Node1("ReduceSum", [g.Node1("Mul", [logp, oneHot]), g.Ints(1)], [Attr.Int("keepdims", 0)])], [Attr.Int("keepdims", 0)])]);

        // backward
        var dz = g.Node1("Div", [g.Node1("Sub", [g.Node1("Softmax", [z], [Attr.Int("axis", 1)]), oneHot]), g.Constant((float)batch)]);
        var grads = new Dictionary<string, Value>
        {
            ["w5"] = g.Node1("Gemm", [h, dz], [Attr.Int("transA", 1)]),
            ["b5"] = g.Node1("ReduceSum", [dz, g.Ints(0)], [Attr.Int("keepdims", 0)]),
        };
        var dh = ReluGrad(g.Node1("Gemm", [dz, p["w5"]], [Attr.Int("transB", 1)]), h);
        grads["w4"] = g.Node1("Gemm", [f, dh], [Attr.Int("transA", 1)]);
        grads["b4"] = g.Node1("ReduceSum", [dh, g.Ints(0)], [Attr.Int("keepdims", 0)]);
        var dc3 = ReluGrad(g.Node1("Reshape", [g.Node1("Gemm", [dh, p["w4"]], [Attr.Int("transB", 1)]), g.Ints(c3.Shape.ToArray())]), c3);
        grads["w3"] = WeightGrad(p2, dc3);
        grads["b3"] = BiasGrad(dc3);
        var dc2 = ReluGrad(PoolGrad(g.Node1("ConvTranspose", [dc3, p["w3"]]), i2, c2), c2);
        grads["w2"] = WeightGrad(p1, dc2);
        grads["b2"] = BiasGrad(dc2);
        var dc1 = ReluGrad(PoolGrad(g.Node1("ConvTranspose", [dc2, p["w2"]]), i1, c1), c1);
        grads["w1"] = WeightGrad(x, dc1);
        grads["b1"] = BiasGrad(dc1);

        // Adam, Keras's form: lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ); p' = p − lr_t·m'/(√v' + ε)
        const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
        var lrT = g.Node1("Div", [g.Node1("Mul", [lr, g.Node1("Sqrt", [g.Node1("Sub", [g.Constant(1f), g.Node1("Pow", [g.Constant(b2), t])])])]),
            g.Node1("Sub", [g.Constant(1f), g.Node1("Pow", [g.Constant(b1), t])])]);
        g.AddOutput(loss, "loss");
        foreach (var (name, _) in Params)
        {
            var grad = grads[name];
            var m2 = g.Node1("Add", [g.Node1("Mul", [m[name], g.Constant(b1)]), g.Node1("Mul", [grad, g.Constant(1 - b1)])]);
            var v2 = g.Node1("Add", [g.Node1("Mul", [v[name], g.Constant(b2)]), g.Node1("Mul", [g.Node1("Mul", [grad, grad]), g.Constant(1 - b2)])]);
            var p2New = g.Node1("Sub", [p[name], g.Node1("Mul", [lrT, g.Node1("Div", [m2, g.Node1("Add", [g.Node1("Sqrt", [v2]), g.Constant(eps)])])])]);
            g.AddOutput(p2New, name + ".new");
            g.AddOutput(m2, name + ".m.new");
            g.AddOutput(v2, name + ".v.new");
        }

        var rng = new Random(seed);
        var initial = new Dictionary<string, float[]>();
        foreach (var (name, shape) in Params)
        {
            var size = (int)shape.Aggregate(1L, (a, d) => a * d);
            var fanIn = shape.Length == 4 ? shape[1] * 9 : shape.Length == 2 ? shape[0] : 1;
            var limit = name.StartsWith('b') ? 0 : Math.Sqrt(6.0 / fanIn);
            initial[name] = Enumerable.Range(0, size).Select(_ => (float)((rng.NextDouble() * 2 - 1) * limit)).ToArray();
            initial[name + ".m"] = new float[size];
            initial[name + ".v"] = new float[size];
        }
        var state = Params.SelectMany(q => new[] { (q.Name, q.Name + ".new"), (q.Name + ".m", q.Name + ".m.new"), (q.Name + ".v", q.Name + ".v.new") }).ToList();
        return (g.ToModel("seed_cnn_step_handwritten"), new StepSignature(["x", "y"], state, ["lr", "step"], ["loss"]), initial);
    }
}
