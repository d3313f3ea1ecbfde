using NeuralService.Api.Specs;

namespace NeuralService.Api.Endpoints;

/// <summary>The example Keras JSON architectures shipped with the service (onnx-models/specs), to start a job from.</summary>
public static class SpecEndpoints
{
    public static void MapSpecEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/specs").WithTags("Model specs").ProducesProblem(429).ProducesProblem(500);

        g.MapGet("", (SpecLibrary specs) => new SpecList(specs.List()))
            .WithName("ListSpecs").WithSummary("List the example model specs")
            .WithDescription("The Keras JSON architectures shipped with the service (onnx-models/specs), each with its inputs, outputs and a one-line description.");
        g.MapGet("/{name}", (string name, SpecLibrary specs) => specs.Get(name))
            .WithName("GetSpec").WithSummary("Get an example model spec")
            .WithDescription("The spec's Keras JSON as 'model', ready to send as a training job's model. 404 for a name not listed by GET /v1/specs.")
            .ProducesProblem(404);
    }
}
