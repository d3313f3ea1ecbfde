using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using Prometheus;

namespace NeuralService.Api.Hosting;

/// <summary>Service-level Prometheus series beyond prometheus-net's HTTP ones.</summary>
public static class InferenceMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter("neural_inference_requests_total", "Inference requests served, by model", "model");
    public static readonly Histogram RequestRows = Metrics.CreateHistogram("neural_inference_request_rows", "Leading-dim rows per inference request",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 12) });
    public static readonly Gauge BatcherRuns = Metrics.CreateGauge("neural_batcher_runs", "Model runs of a loaded version's dynamic batcher", "version");
    public static readonly Gauge BatcherRequests = Metrics.CreateGauge("neural_batcher_requests", "Requests served by a loaded version's dynamic batcher", "version");
    public static readonly Gauge BatcherLargest = Metrics.CreateGauge("neural_batcher_largest_batch", "Largest batch (rows) a loaded version's batcher ran", "version");
    public static readonly Gauge BatcherQueueDepth = Metrics.CreateGauge("neural_batcher_queue_depth", "Requests waiting in a loaded version's dynamic batcher", "version");
    public static readonly Gauge Jobs = Metrics.CreateGauge("neural_training_jobs", "Training jobs by state", "state");
    public static readonly Histogram JobDuration = Metrics.CreateHistogram("neural_training_job_duration_seconds",
        "Wall time of one run of a training job in this process, by how it ended", new HistogramConfiguration
        { LabelNames = ["outcome"], Buckets = Histogram.ExponentialBuckets(1, 4, 10) });

    /// <summary>Records one served request and the batcher's counters (requests ÷ runs is the mean batch).</summary>
    public static async Task RecordAsync(InferenceEngine engine, ModelVersion version, IReadOnlyList<NamedTensor> inputs)
    {
        Requests.WithLabels(version.Model).Inc();
        if (inputs.Count > 0 && inputs[0].Dims.Length > 0) RequestRows.Observe(inputs[0].Dims[0]);
        var batcher = (await engine.GetRunnerAsync(version)).Batcher;
        var label = version.ToString();
        BatcherRuns.WithLabels(label).Set(batcher.Runs);
        BatcherRequests.WithLabels(label).Set(batcher.RequestsServed);
        BatcherLargest.WithLabels(label).Set(batcher.LargestBatch);
        BatcherQueueDepth.WithLabels(label).Set(batcher.QueueDepth);
    }
}
