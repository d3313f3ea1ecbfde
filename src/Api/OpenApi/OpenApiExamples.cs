using NeuralService.Api.Datasets;
using NeuralService.Api.Endpoints;
using NeuralService.Api.Jobs;

namespace NeuralService.Api.OpenApi;

/// <summary>Example bodies for the OpenAPI document, by the CLR type the endpoint reads or writes. They are written as
/// wire JSON for readability, but <see cref="ExamplesFilter"/> reads each into its type and writes it back with the
/// app's serializer options, so an example always has the exact shape the service produces.</summary>
public static class OpenApiExamples
{
    private const string Tensors = """
        "inputs": [{"name": "input_layer", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "dense_1", "datatype": "FP32", "shape": [-1, 3]}]
        """;

    private const string Version = """
        {"model": "mlp", "version": 1, "sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
         "size_bytes": 1342, "opset": 17, __TENSORS__,
         "metadata": {"producer": "neural-service"},
         "lineage": {"training_job_id": "job-5f0c2a9e41d7b3a8", "dataset": "blobs", "hyperparameters": {"epochs": 5, "batch_size": 32},
                     "final_metrics": {"loss": 0.093, "accuracy": 0.98}},
         "tags": {"stage": "production"}, "created_at": "2026-11-27T18:00:00+00:00"}
        """;

    private const string Request = """
        {"model": {"module": "keras", "class_name": "Sequential", "config": {"name": "mlp", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 8, "activation": "relu"}},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "softmax"}}]}},
         "dataset": "blobs",
         "compile": {"optimizer": "adam", "learning_rate": 0.01, "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
         "fit": {"epochs": 5, "batch_size": 32, "validation_split": 0.1, "shuffle": true},
         "device": "cpu", "register_as": "mlp", "seed": 7,
         "callbacks": [{"class_name": "EarlyStopping", "config": {"monitor": "val_loss", "patience": 2, "restore_best_weights": true}},
                       {"class_name": "TensorBoard", "config": {}}]}
        """;

    private const string Job = """
        {"id": "job-5f0c2a9e41d7b3a8", "state": "__STATE__", "request": __REQUEST__, "created_at": "2026-11-27T18:00:00+00:00",
         "started_at": "2026-11-27T18:00:01+00:00", "finished_at": "2026-11-27T18:00:09+00:00", "epoch": 5,
         "history": [{"epoch": 1, "metrics": {"loss": 0.91, "accuracy": 0.62}}, {"epoch": 5, "metrics": {"loss": 0.093, "accuracy": 0.98}}],
         "registered_model": "mlp", "registered_version": 2, "device": "cpu",
         "files": ["tensorboard/train/events.out.tfevents.1795888809.host.41.v2", "tensorboard/validation/events.out.tfevents.1795888809.host.41.v2"]}
        """;

    private const string Dataset = """
        {"id": "blobs-7c1e", "name": "blobs", "format": "csv", "builtin": false, "samples": 150, "feature_shape": [4],
         "feature_type": "float32", "label_shape": [], "size_bytes": 4350, "created_at": "2026-11-27T17:55:00+00:00",
         "options": {"label_column": "label", "label_type": "int64", "has_header": true}, "features_file": "data.csv",
         "inputs": [{"name": null, "shape": [4], "type": "float32"}], "targets": [{"name": null, "shape": [], "type": "int64"}]}
        """;

    /// <summary>The example for one value of <paramref name="type"/> answered with <paramref name="status"/>
    /// (0 for a request body), or null when there is none.</summary>
    public static string? For(Type type, int status) => type.Assembly != typeof(OpenApiExamples).Assembly ? null : type.Name switch
    {
        nameof(HealthEndpoints.ServerMetadata) => """{"name": "neural-service", "version": "1.0.0", "extensions": ["binary_tensor_data"]}""",
        nameof(HealthEndpoints.Readiness) => status == 503
            ? """{"ready": false, "reason": "storage unreachable: connection refused"}"""
            : """{"ready": true}""",
        nameof(InferenceEndpoints.ModelMetadata) => """{"name": "mlp", "versions": ["1"], "platform": "onnxruntime_onnx", __TENSORS__}""",
        nameof(InferenceEndpoints.ModelReady) => """{"name": "mlp", "version": "1", "ready": true}""",
        nameof(InferenceRequest) => """
            {"id": "42", "inputs": [{"name": "input_layer", "shape": [2, 4], "datatype": "FP32",
              "data": [[0.1, 0.2, 0.3, 0.4], [1.0, 0.5, -0.3, 2.0]]}],
             "outputs": [{"name": "dense_1"}]}
            """,
        nameof(InferenceResponse) => """
            {"model_name": "mlp", "model_version": "1", "id": "42",
             "outputs": [{"name": "dense_1", "datatype": "FP32", "shape": [2, 3], "data": [0.21, 0.52, 0.27, 0.08, 0.13, 0.79]}]}
            """,
        nameof(PredictRequest) => """{"instances": [[0.1, 0.2, 0.3, 0.4], [1.0, 0.5, -0.3, 2.0]]}""",
        nameof(PredictResponse) => """{"predictions": [[0.21, 0.52, 0.27], [0.08, 0.13, 0.79]], "top_k": [[{"class": 1, "name": "dog", "probability": 0.52}], [{"class": 2, "name": "bird", "probability": 0.79}]], "class_names": ["cat", "dog", "bird"]}""",
        nameof(VersionDto) => Version,
        nameof(ModelDto) => """
            {"name": "mlp", "description": "4 features to 3 classes", "created_at": "2026-11-27T18:00:00+00:00",
             "aliases": {"production": 1}, "latest_version": 1, "versions": [__VERSION__]}
            """,
        nameof(AliasRequest) => """{"version": 1}""",
        nameof(HealthEndpoints.AuthInfo) => """{"api_keys": true}""",
        nameof(Registry.ArchitectureSummaryDto) => """
            {"model": "mlp", "version": 1, "source": "keras_config", "name": "mlp",
             "layers": [{"name": "input_layer", "type": "InputLayer", "output_shape": "(None, 4)", "params": 0, "connected_to": null},
                        {"name": "dense", "type": "Dense", "output_shape": "(None, 8)", "params": 40, "connected_to": null},
                        {"name": "dense_1", "type": "Dense", "output_shape": "(None, 3)", "params": 27, "connected_to": null}],
             "total_params": 67, "trainable_params": 67, "non_trainable_params": 0, "total_size": "268.00 B",
             "text": "Model: \"mlp\"\n…\nTotal params: 67"}
            """,
        nameof(DatasetSample) => """
            {"dataset": "ds-3f9a1c2b7d4e", "index": 17, "samples": 90, "shape": [4], "datatype": "float32",
             "values": [0.31, 3.12, 0.05, 0.44], "label": 1, "label_name": null, "class_names": null}
            """,
        nameof(AliasDto) => """{"model": "mlp", "alias": "production", "version": 1}""",
        nameof(ModelList) => """
            {"models": [{"name": "mlp", "description": "4 features to 3 classes", "created_at": "2026-11-27T18:00:00+00:00",
                         "aliases": {"production": 1}, "latest_version": 2, "versions": null}],
             "next_page_token": "cDEKbW9kZWxzCm1scA"}
            """,
        nameof(VersionList) => """{"versions": [__VERSION__], "next_page_token": null}""",
        nameof(JobList) => """{"jobs": [__JOB__], "next_page_token": "cDEKam9icwoyMDI2LTExLTI3VDE4OjAwOjAwLjAwMDAwMDBafGpvYi01ZjBjMmE5ZTQxZDdiM2E4"}""",
        nameof(JobLogPage) => """
            {"job_id": "job-5f0c2a9e41d7b3a8", "lines": [
              {"id": 3, "time": "2026-11-27T18:00:02.120+00:00", "level": "information", "message": "job job-5f0c2a9e41d7b3a8 epoch 1/2: loss 0.61234, accuracy 0.81111 (0.42 s)"},
              {"id": 4, "time": "2026-11-27T18:00:02.310+00:00", "level": "information", "message": "job job-5f0c2a9e41d7b3a8 epoch 2/2: loss 0.30871, accuracy 0.93333 (0.19 s)"}],
             "next_after": 4, "more": false}
            """,
        nameof(DatasetList) => """{"datasets": [__DATASET__], "next_page_token": null}""",
        nameof(DatasetInfo) => Dataset,
        nameof(JobRequest) => Request,
        nameof(Specs.SpecList) => $$"""{"specs": [{{Spec}}]}""",
        nameof(Specs.ModelSpec) => """
            {"name": "mlp", "description": "Sequential, 3 layers (Dense ×3), 52,650 parameters; input [784] → output [10]",
             "model": {"module": "keras", "class_name": "Sequential", "config": {"name": "mlp", "layers": [
               {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 784], "dtype": "float32", "name": "pixels"}},
               {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu"}},
               {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 32, "activation": "relu"}},
               {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_2", "units": 10, "activation": "softmax"}}]}}}
            """,
        nameof(Jobs.Job) => Job.Replace("__STATE__", status == 202 ? "queued" : "succeeded", StringComparison.Ordinal),
        _ => null,
    } is { } json
        ? json.Replace("__JOB__", Job.Replace("__STATE__", "succeeded", StringComparison.Ordinal), StringComparison.Ordinal)
            .Replace("__DATASET__", Dataset, StringComparison.Ordinal)
            .Replace("__VERSION__", Version, StringComparison.Ordinal).Replace("__REQUEST__", Request, StringComparison.Ordinal)
            .Replace("__TENSORS__", Tensors, StringComparison.Ordinal)
        : null;

    private const string Spec = """
        {"name": "mlp", "description": "Sequential, 3 layers (Dense ×3), 52,650 parameters; input [784] → output [10]", "class_name": "Sequential",
         "parameters": 52650, "inputs": [{"name": "pixels", "shape": [784]}], "outputs": [{"name": "dense_2", "shape": [10]}]}
        """;

    /// <summary>Form fields of the multipart uploads, by operation id; a file part's example is a file name.</summary>
    public static string? Form(string operationId) => operationId switch
    {
        "UploadVersion" => """{"file": "mlp.onnx"}""",
        "UploadDataset" => """{"file": "blobs.csv", "name": "blobs", "format": "csv", "label_column": "label", "label_type": "int64", "header": true}""",
        _ => null,
    };

    /// <summary>A job's Server-Sent Events stream.</summary>
    public const string JobEvents = """
        event: state
        data: {"job_id":"job-5f0c2a9e41d7b3a8","state":"running","epoch":0,"attempts":1,"worker":"web-1:7:3be1c0d2","error":null,"created_at":"2026-12-02T10:00:00+00:00","started_at":"2026-12-02T10:00:01+00:00","finished_at":null,"registered_model":null,"registered_version":null,"time":"2026-12-02T10:00:01+00:00"}
        id: 2

        event: batch
        data: {"job_id":"job-5f0c2a9e41d7b3a8","epoch":1,"epochs":5,"batch":3,"batches":5,"step":3,"samples":96,"samples_per_second":2450.5,"eta_seconds":0.9,"metrics":{"loss":1.08,"accuracy":0.41},"attempt":1,"time":"2026-12-02T10:00:01.3+00:00"}
        id: 3

        event: epoch
        data: {"job_id":"job-5f0c2a9e41d7b3a8","epoch":1,"epochs":5,"metrics":{"loss":0.91,"accuracy":0.62,"val_loss":0.88,"val_accuracy":0.64},"step":5,"learning_rate":0.001,"seconds":0.21,"samples_per_second":2380.2,"time":"2026-12-02T10:00:01.4+00:00"}
        id: 4

        event: state
        data: {"job_id":"job-5f0c2a9e41d7b3a8","state":"succeeded","epoch":5,"attempts":1,"worker":"web-1:7:3be1c0d2","error":null,"created_at":"2026-12-02T10:00:00+00:00","started_at":"2026-12-02T10:00:01+00:00","finished_at":"2026-12-02T10:00:02+00:00","registered_model":"mlp","registered_version":2,"time":"2026-12-02T10:00:02+00:00"}
        id: 12


        """;
}
