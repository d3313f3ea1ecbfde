using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

public static partial class LayerRegistry
{
    static partial void AddRecurrent(List<Entry> entries)
    {
        entries.Add(Of<SimpleRNNConfig>("SimpleRNN", c => new SimpleRNN(c)));
        entries.Add(Of<LSTMConfig>("LSTM", c => new LSTM(c)));
        entries.Add(Of<GRUConfig>("GRU", c => new GRU(c)));
        entries.Add(Of<BidirectionalConfig>("Bidirectional", c => new Bidirectional(c)));
        entries.Add(Of<TimeDistributedConfig>("TimeDistributed", c => new TimeDistributed(c)));
    }
}
