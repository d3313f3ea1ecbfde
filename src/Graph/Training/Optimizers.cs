using NeuralService.Graph.Core;

namespace NeuralService.Graph.Training;

/// <summary>SGD: with momentum μ, m ← μ·m − lr·g, then p ← p + m (or p ← p + μ·m − lr·g with Nesterov);
/// without, p ← p − lr·g.</summary>
public sealed record Sgd : OptimizerSpec
{
    public Sgd() => LearningRate = 0.01;

    private readonly double _momentum;
    public double Momentum { get => _momentum; init => _momentum = Check(value, 0, 1, "SGD momentum"); }
    public bool Nesterov { get; init; }

    public override string Name => "SGD";
    public override IReadOnlyList<StateSlot> Slots => Momentum != 0 ? [new("momentum")] : [];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var step = g.Mul(grad, s.LearningRate);
        if (Momentum == 0) return (g.Sub(p, step), []);
        var m = g.Sub(g.Mul(slots[0], s.C(Momentum)), step);
        var delta = Nesterov ? g.Sub(g.Mul(m, s.C(Momentum)), step) : m;
        return (g.Add(p, delta), [m]);
    }
}

/// <summary>Adam: m ← m + (g − m)(1−β1); v ← v + (g² − v)(1−β2); with AMSGrad v̂ ← max(v̂, v);
/// p ← p − α·m/(√v + ε), α = lr·√(1−β2^t)/(1−β1^t), t = iterations + 1.</summary>
public record Adam : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;
    public bool Amsgrad { get; init; }

    public override string Name => "Adam";
    public override IReadOnlyList<StateSlot> Slots => Amsgrad ? [new("momentum"), new("velocity"), new("velocity_hat")] : [new("momentum"), new("velocity")];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var one = s.C(1);
        var alpha = s.Shared("adam_alpha", () => g.Div(g.Mul(s.LearningRate, g.Sqrt(g.Sub(one, s.PowerOf(Beta2)))), g.Sub(one, s.PowerOf(Beta1))));
        var m = g.Add(slots[0], g.Mul(g.Sub(grad, slots[0]), s.C(1 - Beta1)));
        var v = g.Add(slots[1], g.Mul(g.Sub(g.Square(grad), slots[1]), s.C(1 - Beta2)));
        IReadOnlyList<Value> state = [m, v];
        if (Amsgrad)
        {
            var vHat = g.Max(slots[2], v);
            state = [m, v, vHat];
            v = vHat;
        }
        var newP = g.Sub(p, g.Div(g.Mul(m, alpha), g.Add(g.Sqrt(v), s.C(Epsilon))));
        return (newP, state);
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (default 0.004): p ← p − p·wd·lr, then the Adam update.</summary>
public sealed record AdamW : Adam
{
    public AdamW() => WeightDecay = 0.004;
    public override string Name => "AdamW";
}

/// <summary>RMSprop: v ← ρv + (1−ρ)g²; centered: a ← ρa + (1−ρ)g, d = v − a² + ε, else d = v + ε; Δ = lr·g/√d;
/// with momentum μ: m ← μm + Δ, p ← p − m; else p ← p − Δ.</summary>
public sealed record RmsProp : OptimizerSpec
{
    public double Rho { get; init; } = 0.9;
    public double Momentum { get; init; }
    public double Epsilon { get; init; } = 1e-7;
    public bool Centered { get; init; }

    public override string Name => "RMSprop";
    public override IReadOnlyList<StateSlot> Slots =>
        [new("velocity"), .. Momentum > 0 ? [new StateSlot("momentum")] : Array.Empty<StateSlot>(), .. Centered ? [new StateSlot("average_gradient")] : Array.Empty<StateSlot>()];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var v = g.Add(g.Mul(s.C(Rho), slots[0]), g.Mul(s.C(1 - Rho), g.Square(grad)));
        var state = new List<Value> { v };
        var k = 1;
        var momentumSlot = Momentum > 0 ? slots[k++] : null;
        Value denominator;
        Value? average = null;
        if (Centered)
        {
            average = g.Add(g.Mul(s.C(Rho), slots[k]), g.Mul(s.C(1 - Rho), grad));
            denominator = g.Add(g.Sub(v, g.Square(average)), s.C(Epsilon));
        }
        else denominator = g.Add(v, s.C(Epsilon));
        var increment = g.Div(g.Mul(s.LearningRate, grad), g.Sqrt(denominator));
        Value newP;
        if (momentumSlot is not null)
        {
            var m = g.Add(g.Mul(s.C(Momentum), momentumSlot), increment);
            state.Add(m);
            newP = g.Sub(p, m);
        }
        else newP = g.Sub(p, increment);
        if (average is not null) state.Add(average);
        return (newP, state);
    }
}

/// <summary>Adagrad: a ← a + g²; p ← p − lr·g/√(a + ε); a starts at <see cref="InitialAccumulatorValue"/>.</summary>
public sealed record Adagrad : OptimizerSpec
{
    public double InitialAccumulatorValue { get; init; } = 0.1;
    public double Epsilon { get; init; } = 1e-7;

    public override string Name => "Adagrad";
    public override IReadOnlyList<StateSlot> Slots => [new("accumulator", InitialAccumulatorValue)];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var a = g.Add(slots[0], g.Square(grad));
        return (g.Sub(p, g.Div(g.Mul(s.LearningRate, grad), g.Sqrt(g.Add(a, s.C(Epsilon))))), [a]);
    }
}

/// <summary>Adadelta: G ← ρG + (1−ρ)g²; Δ = −√(D + ε)·g/√(G + ε); D ← ρD + (1−ρ)Δ²; p ← p + lr·Δ.</summary>
public sealed record Adadelta : OptimizerSpec
{
    public double Rho { get; init; } = 0.95;
    public double Epsilon { get; init; } = 1e-7;

    public override string Name => "Adadelta";
    public override IReadOnlyList<StateSlot> Slots => [new("accumulated_grad"), new("accumulated_delta_var")];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        Value Rms(Value x) => g.Sqrt(g.Add(x, s.C(Epsilon)));
        var accGrad = g.Add(g.Mul(s.C(Rho), slots[0]), g.Mul(s.C(1 - Rho), g.Square(grad)));
        var delta = g.Neg(g.Div(g.Mul(Rms(slots[1]), grad), Rms(accGrad)));
        var accDelta = g.Add(g.Mul(s.C(Rho), slots[1]), g.Mul(s.C(1 - Rho), g.Square(delta)));
        return (g.Add(p, g.Mul(s.LearningRate, delta)), [accGrad, accDelta]);
    }
}

/// <summary>Adamax: m ← m + (g − m)(1−β1); u ← max(β2·u, |g|); p ← p − lr·m/((1−β1^t)(u + ε)).</summary>
public sealed record Adamax : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;

    public override string Name => "Adamax";
    public override IReadOnlyList<StateSlot> Slots => [new("m"), new("u")];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var m = g.Add(slots[0], g.Mul(g.Sub(grad, slots[0]), s.C(1 - Beta1)));
        var u = g.Max(g.Mul(s.C(Beta2), slots[1]), g.Abs(grad));
        var correction = s.Shared("adamax_correction", () => g.Sub(s.C(1), s.PowerOf(Beta1)));
        var denominator = g.Mul(correction, g.Add(u, s.C(Epsilon)));
        return (g.Sub(p, g.Div(g.Mul(s.LearningRate, m), denominator)), [m, u]);
    }
}

/// <summary>Nadam: μ_t = β1(1 − ½·0.96^t); the shared product Π ← Π·μ_t each step; m, v as Adam;
/// m̂ = μ_{t+1}·m/(1 − Π·μ_{t+1}) + (1 − μ_t)·g/(1 − Π); v̂ = v/(1 − β2^t); p ← p − lr·m̂/(√v̂ + ε).</summary>
public sealed record Nadam : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-7;

    public override string Name => "Nadam";
    public override IReadOnlyList<StateSlot> Slots => [new("momentum"), new("velocity")];
    public override IReadOnlyList<GlobalSlot> GlobalSlots => [new("u_product", 1.0)];

    private Value Mu(UpdateContext s, Value step) =>
        s.G.Mul(s.C(Beta1), s.G.Sub(s.C(1), s.G.Mul(s.C(0.5), s.G.Pow(s.C(0.96), step))));

    protected internal override IReadOnlyList<Value> UpdateGlobals(UpdateContext s, IReadOnlyList<Value> globals) =>
        [s.G.Mul(globals[0], s.Shared("nadam_u_t", () => Mu(s, s.LocalStep)))];

    protected internal override (Value, IReadOnlyList<Value>) Update(UpdateContext s, Value p, Value grad, IReadOnlyList<Value> slots)
    {
        var g = s.G;
        var one = s.C(1);
        var uT = s.Shared("nadam_u_t", () => Mu(s, s.LocalStep));
        var uT1 = s.Shared("nadam_u_t1", () => Mu(s, g.Add(s.LocalStep, one)));
        var productT = s.Globals[0];
        var productT1 = s.Shared("nadam_product_t1", () => g.Mul(productT, uT1));
        var m = g.Add(slots[0], g.Mul(g.Sub(grad, slots[0]), s.C(1 - Beta1)));
        var v = g.Add(slots[1], g.Mul(g.Sub(g.Square(grad), slots[1]), s.C(1 - Beta2)));
        var mHat = g.Add(g.Div(g.Mul(uT1, m), g.Sub(one, productT1)), g.Div(g.Mul(g.Sub(one, uT), grad), g.Sub(one, productT)));
        var vHat = g.Div(v, g.Sub(one, s.PowerOf(Beta2)));
        return (g.Sub(p, g.Div(g.Mul(mHat, s.LearningRate), g.Add(g.Sqrt(vHat), s.C(Epsilon)))), [m, v]);
    }
}
