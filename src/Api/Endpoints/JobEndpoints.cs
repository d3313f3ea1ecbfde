using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using NeuralService.Api.Jobs;

namespace NeuralService.Api.Endpoints;

/// <summary>Training jobs: submit (202), list, inspect, follow as Server-Sent Events, cancel.</summary>
public static class JobEndpoints
{
    public static void MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/jobs").WithTags("Training jobs").ProducesProblem(400).ProducesProblem(429).ProducesProblem(500);

        g.MapPost("", async (JobRequest request, JobService jobs, CancellationToken ct) =>
            {
                var job = await jobs.SubmitAsync(request, ct);
                return Results.Accepted($"/v1/jobs/{job.Id}", job);
            })
            .WithSummary("Submit a training job").WithDescription("Trains a Keras JSON model (or a registered model's architecture) on a dataset and registers the result; 202 with the queued job.")
            .WithName("SubmitJob").Produces<Job>(202).ProducesProblem(404).ProducesProblem(422);

        g.MapGet("", (int? limit, [FromQuery(Name = "page_token")] string? pageToken, JobService jobs) =>
            {
                var q = Paging.Read(limit, pageToken, "jobs");
                var (page, last, more) = jobs.Store.Page(q.After, q.Limit);
                return new JobList(page, more && last is not null ? Paging.Token("jobs", last) : null);
            })
            .WithName("ListJobs").WithSummary("List training jobs").WithDescription("Jobs in submission order. " + Paging.Description);
        g.MapGet("/{id}", (string id, JobService jobs) => jobs.Get(id)).WithName("GetJob").WithSummary("Get a training job").ProducesProblem(404);
        g.MapPost("/{id}/cancel", (string id, JobService jobs) => Results.Accepted($"/v1/jobs/{id}", jobs.Cancel(id)))
            .WithSummary("Cancel a training job").WithDescription("Stops a queued or running job; 409 when it already ended.")
            .WithName("CancelJob").Produces<Job>(202).ProducesProblem(404).ProducesProblem(409);

        g.MapDelete("/{id}", (string id, JobService jobs, TrainingRun run, ILogger<JobService> log) =>
            {
                jobs.Delete(id);
                try
                {
                    if (Directory.Exists(run.CheckpointDirectory(id))) Directory.Delete(run.CheckpointDirectory(id), recursive: true);
                }
                // The job is gone either way; a checkpoint left behind is removed at the next start.
                catch (IOException e) { log.LogWarning("could not remove the checkpoint of deleted job {JobId}: {Error}", id, e.Message); }
                return Results.NoContent();
            })
            .WithName("DeleteJob").WithSummary("Delete a training job")
            .WithDescription("Removes a job that has ended, with its checkpoint; 409 while it is queued or running (cancel it first). "
                + "The model it registered stays.")
            .Produces(204).ProducesProblem(404).ProducesProblem(409);

        g.MapGet("/{id}/events", StreamAsync).WithName("JobEvents")
            .WithSummary("Follow a training job").WithDescription("Server-Sent Events: the job's state, then batch and epoch progress and state changes until it ends.").Produces<string>(200, "text/event-stream").ProducesProblem(404);
    }

    /// <summary>The job's state first, then epoch/batch progress and state changes until it ends. A job another replica
    /// runs is followed through the shared store (state and epoch changes, once a second). The stream ends when the
    /// service stops, so it never holds up draining.</summary>
    private static async Task StreamAsync(string id, JobService jobs, HttpContext http, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        using var subscription = jobs.Events.Subscribe(id, out var reader);
        var job = jobs.Get(id);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        var last = Key(job);
        await WriteAsync(http, new JobEvent("state", job), stop.Token);
        if (job.IsTerminal) return;
        try
        {
            while (true)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                JobEvent? e = null;
                try { e = await reader.ReadAsync(wait.Token); }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested) { }
                if (e is null && !jobs.IsLocal(id) && jobs.Store.Get(id) is { } stored && Key(stored) != last)
                    e = new JobEvent("state", stored);
                if (e is null) continue;
                if (e.Data is Job j)
                {
                    if (Key(j) == last) continue;
                    last = Key(j);
                }
                await WriteAsync(http, e, stop.Token);
                if (e.Data is Job { IsTerminal: true }) return;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }

    private static (JobState, int, int, int) Key(Job j) => (j.State, j.Epoch, j.History?.Count ?? 0, j.Attempts);

    private static async Task WriteAsync(HttpContext http, JobEvent e, CancellationToken ct)
    {
        var data = JsonSerializer.Serialize(e.Data, e.Data.GetType(), JobJson.Options);
        await http.Response.WriteAsync($"event: {e.Type}\ndata: {data}\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
    }
}
