using Prometheus;

namespace NeuralService.Api.Hosting;

/// <summary>Service-level Prometheus series beyond prometheus-net's HTTP ones.</summary>
public static class InferenceMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter("neural_inference_requests_total", "Inference requests served, by model", "model");
    public static readonly Gauge Jobs = Metrics.CreateGauge("neural_training_jobs", "Training jobs by state", "state");
}
