using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

/// <summary>The explicit table of Keras layer classes we read and write: class name → config record → layer.
/// Each layer family registers its entries in its own part (<c>LayerRegistry.Convolution.cs</c>…).</summary>
public static partial class LayerRegistry
{
    public sealed record Entry(string ClassName, Type ConfigType, Func<LayerConfig, Layer> Create);

    private static readonly Lazy<Dictionary<string, Entry>> Table = new(() =>
    {
        var entries = new List<Entry>
        {
            Of<InputLayerConfig>("InputLayer", c => new InputLayer(c)),
            Of<DenseConfig>("Dense", c => new Dense(c)),
        };
        AddCore(entries);
        AddConvolution(entries);
        AddRecurrent(entries);
        AddAttention(entries);
        return entries.ToDictionary(e => e.ClassName, StringComparer.Ordinal);
    });

    public static IEnumerable<Entry> All => Table.Value.Values;

    public static Entry? Find(string className) => Table.Value.GetValueOrDefault(className);

    /// <summary>An entry for a layer class: <c>Of&lt;DenseConfig&gt;("Dense", c => new Dense(c))</c>.</summary>
    public static Entry Of<TConfig>(string className, Func<TConfig, Layer> create) where TConfig : LayerConfig =>
        new(className, typeof(TConfig), c => create((TConfig)c));

    static partial void AddCore(List<Entry> entries);
    static partial void AddConvolution(List<Entry> entries);
    static partial void AddRecurrent(List<Entry> entries);
    static partial void AddAttention(List<Entry> entries);
}
