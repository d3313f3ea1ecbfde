namespace NeuralService.Graph.Ops;

/// <summary>The table of ops the project knows (domain "", opset 17). Adding an op: one class, one line here.</summary>
public static class OpRegistry
{
    private static readonly Dictionary<string, Op> ByType = new Op[]
    {
        // elementwise
        new AddOp(), new SubOp(), new MulOp(), new DivOp(), new PowOp(), new SumOp(), new MeanOp(), new MaxOp(), new MinOp(),
        new PReluOp(), new EqualOp(), new GreaterOp(), new GreaterOrEqualOp(), new LessOp(), new LessOrEqualOp(),
        new AndOp(), new OrOp(), new XorOp(), new NotOp(), new IsNaNOp(),
        new NegOp(), new AbsOp(), new ExpOp(), new LogOp(), new SqrtOp(), new ReciprocalOp(), new TanhOp(), new SigmoidOp(),
        new HardSigmoidOp(), new HardSwishOp(), new ReluOp(), new LeakyReluOp(), new EluOp(), new SeluOp(), new SoftplusOp(),
        new SoftsignOp(), new ErfOp(), new IdentityOp(), new FloorOp(), new CeilOp(), new RoundOp(), new SignOp(),
        new SinOp(), new CosOp(), new SoftmaxOp(), new LogSoftmaxOp(), new ClipOp(), new CumSumOp(), new TriluOp(),
        new DropoutOp(), new CastOp(), new CastLikeOp(), new WhereOp(),
        new ScatterElementsOp(), new ScatterNDOp(),
        // linear algebra
        new MatMulOp(), new GemmOp(), new EinsumOp(),
        // convolution and pooling
        new ConvOp(), new ConvTransposeOp(), new MaxPoolOp(), new AveragePoolOp(), new GlobalAveragePoolOp(), new GlobalMaxPoolOp(),
        // normalization
        new BatchNormalizationOp(), new LayerNormalizationOp(), new InstanceNormalizationOp(), new LpNormalizationOp(),
        new MeanVarianceNormalizationOp(),
        // shape and data movement
        new ReshapeOp(), new FlattenOp(), new TransposeOp(), new SqueezeOp(), new UnsqueezeOp(), new ConcatOp(), new SplitOp(),
        new SliceOp(), new GatherOp(), new GatherElementsOp(), new ExpandOp(), new TileOp(), new PadOp(), new ShapeOp(),
        new SizeOp(), new ConstantOp(), new ConstantOfShapeOp(), new RangeOp(), new OneHotOp(), new DepthToSpaceOp(), new SpaceToDepthOp(), new ResizeOp(),
        // reductions
        new ReduceSumOp(), new ReduceMeanOp(), new ReduceMaxOp(), new ReduceMinOp(), new ReduceProdOp(), new ReduceL1Op(),
        new ReduceL2Op(), new ReduceSumSquareOp(), new ReduceLogSumExpOp(), new ArgMaxOp(), new ArgMinOp(), new TopKOp(),
        // recurrent (inference form)
        new LstmOp(), new GruOp(), new RnnOp(),
        // control flow
        new ScanOp(),
        new RandomUniformLikeOp(), new RandomNormalLikeOp(), new RandomUniformOp(), new RandomNormalOp(), new BernoulliOp(),
    }.ToDictionary(op => op.Type);

    public static IEnumerable<Op> All => ByType.Values;

    public static Op? Find(string opType) => ByType.GetValueOrDefault(opType);

    public static Op Get(string opType, string nodeName) =>
        Find(opType) ?? throw new Core.GraphException($"op '{opType}' (node '{nodeName}') is not supported: no shape inference is registered for it");
}
