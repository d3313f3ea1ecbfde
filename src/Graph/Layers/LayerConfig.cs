using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>The arguments every Keras layer accepts. Each layer's config is an immutable record deriving from this,
/// with Keras's argument names in PascalCase (<c>KernelSize</c> ↔ <c>kernel_size</c>) and Keras's defaults.</summary>
public abstract record LayerConfig
{
    public string? Name { get; init; }
    public bool Trainable { get; init; } = true;
    /// <summary>"float32" (Keras 2) or a DTypePolicy object (Keras 3); kept as written.</summary>
    public JsonNode? Dtype { get; init; }
    /// <summary>Keras 2's way for a first layer to declare its input (batch dim first, null = any).</summary>
    public int?[]? BatchInputShape { get; init; }
    /// <summary>Keras 3's equivalent of <see cref="BatchInputShape"/>.</summary>
    public int?[]? BatchShape { get; init; }
    /// <summary>Keras 1/2 <c>input_shape</c> without the batch dim.</summary>
    public int?[]? InputShape { get; init; }

    /// <summary>The batch-first input shape this config declares, if any.</summary>
    [JsonIgnore]
    public int?[]? DeclaredInputShape =>
        BatchShape ?? BatchInputShape ?? (InputShape is { } s ? [null, .. s] : null);
}

/// <summary>Kernel/bias initializer, regularizer and constraint settings shared by layers with weights.</summary>
public static class Specs
{
    public static readonly ObjectSpec GlorotUniform = ObjectSpec.Of("GlorotUniform");
    public static readonly ObjectSpec Zeros = ObjectSpec.Of("Zeros");
    public static readonly ObjectSpec Ones = ObjectSpec.Of("Ones");
    public static readonly ObjectSpec Orthogonal = ObjectSpec.Of("Orthogonal");
    public static readonly ObjectSpec RandomUniform = ObjectSpec.Of("RandomUniform");
}
