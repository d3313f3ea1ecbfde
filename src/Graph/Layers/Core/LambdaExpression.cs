using System.Globalization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>The small, side-effect-free expression language of <see cref="Lambda"/> layers, parsed by recursive
/// descent into a tree and compiled to ONNX nodes. Nothing is ever evaluated as code.
/// <code>
/// expr    := term (('+' | '-') term)*
/// term    := unary (('*' | '/') unary)*
/// unary   := ('-' | '+') unary | power
/// power   := primary ('**' unary)?
/// primary := number | 'x' | 'x' '[' int ']' | name '(' expr (',' expr)* ')' | '(' expr ')'
/// </code></summary>
public sealed class LambdaExpression
{
    public const int MaxLength = 2000;
    private const int MaxDepth = 64;

    /// <summary>Elementwise functions of one argument besides the activation names (<see cref="Activations.Names"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> UnaryOps = new Dictionary<string, string>
    {
        ["exp"] = "Exp", ["log"] = "Log", ["sqrt"] = "Sqrt", ["abs"] = "Abs", ["neg"] = "Neg", ["sin"] = "Sin", ["cos"] = "Cos",
        ["floor"] = "Floor", ["ceil"] = "Ceil", ["round"] = "Round", ["sign"] = "Sign", ["reciprocal"] = "Reciprocal",
        ["erf"] = "Erf",
    };

    /// <summary>Reductions: f(x) over all axes, f(x, axis) dropping it, f(x, axis, 1) keeping it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Reductions = new Dictionary<string, string>
    {
        ["mean"] = "ReduceMean", ["sum"] = "ReduceSum", ["max"] = "ReduceMax", ["min"] = "ReduceMin", ["prod"] = "ReduceProd",
    };

    private static readonly IReadOnlySet<string> Others = new HashSet<string> { "square", "maximum", "minimum", "pow", "clip", "transpose" };

    public static string FunctionList =>
        string.Join(", ", UnaryOps.Keys.Concat(Others).Concat(Reductions.Keys.Select(r => r + "(x, axis)")).Concat(Activations.Names.Order()));

    private abstract record Node;
    private sealed record Num(double Value) : Node;
    private sealed record Var(int? Index) : Node;
    private sealed record Neg(Node Operand) : Node;
    private sealed record Bin(string Op, Node Left, Node Right) : Node;
    private sealed record Call(string Name, IReadOnlyList<Node> Args) : Node;

    private readonly Node _root;

    public string Text { get; }

    private LambdaExpression(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    /// <summary>Parses and checks names and argument counts; errors quote the expression and position.</summary>
    public static LambdaExpression Parse(string text)
    {
        if (text.Length > MaxLength) throw new ArgumentException($"Lambda expression is {text.Length} characters long; at most {MaxLength} are allowed");
        var p = new Parser(text);
        var root = p.ParseAll();
        return new LambdaExpression(text, root);
    }

    /// <summary>The largest input index used (x counts as 0), to check the input count.</summary>
    public int MaxInputIndex => MaxIndex(_root);
    public bool UsesPlainX => UsesPlain(_root);

    private static int MaxIndex(Node n) => n switch
    {
        Var v => v.Index ?? 0,
        Neg u => MaxIndex(u.Operand),
        Bin b => Math.Max(MaxIndex(b.Left), MaxIndex(b.Right)),
        Call c => c.Args.Select(MaxIndex).DefaultIfEmpty(-1).Max(),
        _ => -1,
    };

    private static bool UsesPlain(Node n) => n switch
    {
        Var v => v.Index is null,
        Neg u => UsesPlain(u.Operand),
        Bin b => UsesPlain(b.Left) || UsesPlain(b.Right),
        Call c => c.Args.Any(UsesPlain),
        _ => false,
    };

    /// <summary>Emits the expression over <paramref name="inputs"/> (x = the single input, x[i] = input i).</summary>
    public Value Emit(GraphBuilder g, IReadOnlyList<Value> inputs)
    {
        if (inputs.Count == 0) throw new ShapeException("Lambda needs at least one input");
        var dt = inputs[0].DType;
        Value Scalar(double v) => g.Scalar(v, dt);

        Value E(Node n)
        {
            switch (n)
            {
                case Num num: return Scalar(num.Value);
                case Var { Index: null }:
                    if (inputs.Count != 1) throw new ShapeException($"Lambda expression '{Text}' uses x but the layer has {inputs.Count} inputs; write x[0], x[1]…");
                    return inputs[0];
                case Var { Index: { } i }:
                    if (i >= inputs.Count) throw new ShapeException($"Lambda expression '{Text}' uses x[{i}] but the layer has {inputs.Count} input(s)");
                    return inputs[i];
                case Neg u: return g.Node1("Neg", [E(u.Operand)]);
                case Bin b:
                    var (l, r) = (E(b.Left), E(b.Right));
                    return g.Node1(b.Op switch { "+" => "Add", "-" => "Sub", "*" => "Mul", "/" => "Div", _ => "Pow" }, [l, r]);
                case Call c: return EmitCall(c);
                default: throw new InvalidOperationException(n.ToString());
            }
        }

        Value EmitCall(Call c)
        {
            if (UnaryOps.TryGetValue(c.Name, out var op)) return g.Node1(op, [E(c.Args[0])]);
            if (Reductions.TryGetValue(c.Name, out var reduce))
            {
                var x = E(c.Args[0]);
                var keep = c.Args.Count > 2 && IntArg(c, 2) != 0 ? 1 : 0;
                if (c.Args.Count == 1) return g.Node1(reduce, [x], [Attr.Int("keepdims", 0)]);
                var axis = (long)x.Shape.NormalizeAxis(IntArg(c, 1));
                return c.Name == "sum"
                    ? g.Node1(reduce, [x, g.Ints("axes", axis)], [Attr.Int("keepdims", keep)])
                    : g.Node1(reduce, [x], [Attr.Ints("axes", [axis]), Attr.Int("keepdims", keep)]);
            }
            switch (c.Name)
            {
                case "square":
                    var s = E(c.Args[0]);
                    return g.Node1("Mul", [s, s]);
                case "maximum": return g.Node1("Max", [E(c.Args[0]), E(c.Args[1])]);
                case "minimum": return g.Node1("Min", [E(c.Args[0]), E(c.Args[1])]);
                case "pow": return g.Node1("Pow", [E(c.Args[0]), E(c.Args[1])]);
                case "clip": return g.Node1("Clip", [E(c.Args[0]), Scalar(NumArg(c, 1)), Scalar(NumArg(c, 2))]);
                case "transpose":
                    var t = E(c.Args[0]);
                    var perm = Enumerable.Range(0, t.Rank).Select(i => (long)i).ToArray();
                    var (a, b) = (t.Shape.NormalizeAxis(IntArg(c, 1)), t.Shape.NormalizeAxis(IntArg(c, 2)));
                    (perm[a], perm[b]) = (perm[b], perm[a]);
                    return g.Node1("Transpose", [t], [Attr.Ints("perm", perm)]);
                default: return Activations.Apply(g, E(c.Args[0]), c.Name);
            }
        }

        return E(_root);
    }

    private double NumArg(Call c, int i) => c.Args[i] switch
    {
        Num n => n.Value,
        Neg { Operand: Num n } => -n.Value,
        _ => throw new ShapeException($"Lambda expression '{Text}': argument {i + 1} of {c.Name} must be a number"),
    };

    private int IntArg(Call c, int i)
    {
        var v = NumArg(c, i);
        return v == Math.Floor(v) && Math.Abs(v) < 1000 ? (int)v : throw new ShapeException($"Lambda expression '{Text}': argument {i + 1} of {c.Name} must be an integer, got {v}");
    }

    private static (int Min, int Max) Arity(string name) => name switch
    {
        _ when UnaryOps.ContainsKey(name) || Activations.Names.Contains(name) || name == "square" => (1, 1),
        _ when Reductions.ContainsKey(name) => (1, 3),
        "maximum" or "minimum" or "pow" => (2, 2),
        "clip" or "transpose" => (3, 3),
        _ => (-1, -1),
    };

    private sealed class Parser(string text)
    {
        private int _pos;
        private int _depth;

        public Node ParseAll()
        {
            var n = Expr();
            Skip();
            if (_pos < text.Length) throw Error($"unexpected '{text[_pos]}'");
            return n;
        }

        private ArgumentException Error(string what) =>
            new($"Lambda expression '{text}': {what} at position {_pos}");

        private void Skip()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private bool Eat(string token)
        {
            Skip();
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) != 0) return false;
            // '*' must not swallow the first half of '**'.
            if (token == "*" && _pos + 1 < text.Length && text[_pos + 1] == '*') return false;
            _pos += token.Length;
            return true;
        }

        private void Expect(string token)
        {
            if (!Eat(token)) throw Error(_pos < text.Length ? $"expected '{token}', found '{text[_pos]}'" : $"expected '{token}' at the end");
        }

        private Node Expr()
        {
            if (++_depth > MaxDepth) throw Error($"nesting deeper than {MaxDepth}");
            var n = Term();
            while (true)
            {
                if (Eat("+")) n = new Bin("+", n, Term());
                else if (Eat("-")) n = new Bin("-", n, Term());
                else break;
            }
            _depth--;
            return n;
        }

        private Node Term()
        {
            var n = Unary();
            while (true)
            {
                if (Eat("*")) n = new Bin("*", n, Unary());
                else if (Eat("/")) n = new Bin("/", n, Unary());
                else break;
            }
            return n;
        }

        private Node Unary()
        {
            if (++_depth > MaxDepth) throw Error($"nesting deeper than {MaxDepth}");
            Node n;
            if (Eat("-"))
            {
                var operand = Unary();
                n = operand is Num num ? new Num(-num.Value) : new Neg(operand);
            }
            else if (Eat("+")) n = Unary();
            else n = Power();
            _depth--;
            return n;
        }

        private Node Power()
        {
            var b = Primary();
            return Eat("**") ? new Bin("**", b, Unary()) : b;
        }

        private Node Primary()
        {
            Skip();
            if (_pos >= text.Length) throw Error("unexpected end of expression");
            var ch = text[_pos];
            if (char.IsDigit(ch) || ch == '.') return Number();
            if (Eat("("))
            {
                var inner = Expr();
                Expect(")");
                return inner;
            }
            if (char.IsLetter(ch) || ch == '_')
            {
                var start = _pos;
                while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                var name = text[start.._pos];
                if (name == "x")
                {
                    if (!Eat("[")) return new Var(null);
                    Skip();
                    var at = _pos;
                    if (_pos >= text.Length || !char.IsDigit(text[_pos]) || Number() is not Num { Value: var v } || v != Math.Floor(v) || v > 1000)
                    {
                        _pos = at;
                        throw Error("x[...] needs a non-negative integer index");
                    }
                    Expect("]");
                    return new Var((int)v);
                }
                var (min, max) = Arity(name);
                if (min < 0)
                {
                    _pos = start;
                    throw Error($"unknown name '{name}' (inputs are x or x[i]; functions: {FunctionList})");
                }
                Expect("(");
                var args = new List<Node> { Expr() };
                while (Eat(",")) args.Add(Expr());
                Expect(")");
                if (args.Count < min || args.Count > max)
                    throw Error($"{name} takes {(min == max ? min.ToString(CultureInfo.InvariantCulture) : $"{min} to {max}")} argument(s), got {args.Count}");
                return new Call(name, args);
            }
            throw Error($"unexpected '{ch}'");
        }

        private Node Number()
        {
            var start = _pos;
            while (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] == '.')) _pos++;
            if (_pos < text.Length && text[_pos] is 'e' or 'E')
            {
                var save = _pos;
                _pos++;
                if (_pos < text.Length && text[_pos] is '+' or '-') _pos++;
                if (_pos < text.Length && char.IsDigit(text[_pos])) while (_pos < text.Length && char.IsDigit(text[_pos])) _pos++;
                else _pos = save;
            }
            var s = text[start.._pos];
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            {
                _pos = start;
                throw Error($"bad number '{s}'");
            }
            return new Num(v);
        }
    }
}
