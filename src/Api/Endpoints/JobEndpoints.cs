using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using NeuralService.Api.Errors;
using NeuralService.Api.Jobs;

namespace NeuralService.Api.Endpoints;

/// <summary>Training jobs: submit (202), list, inspect, follow as Server-Sent Events, read their log, cancel.</summary>
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
            .WithSummary("Submit a training job").WithDescription("Trains a Keras JSON model (or a registered model's architecture) on a dataset and registers the result; 202 with the queued job. " +
                "A 400 about one member of the body names it in the problem's errors, keyed by its JSON path ({\"errors\": {\"fit.epochs\": [\"…\"]}}).")
            .WithName("SubmitJob").Produces<Job>(202).ProducesProblem(404).ProducesProblem(422);

        g.MapGet("", (int? limit, [FromQuery(Name = "page_token")] string? pageToken, JobService jobs) =>
            {
                var q = Paging.Read(limit, pageToken, "jobs");
                var (page, last, more) = jobs.Store.Page(q.After, q.Limit);
                return new JobList(page, more && last is not null ? Paging.Token("jobs", last) : null);
            })
            .WithName("ListJobs").WithSummary("List training jobs").WithDescription("Jobs in submission order. " + Paging.Description);
        g.MapGet("/{id}", (string id, JobService jobs) => jobs.Describe(id)).WithName("GetJob").WithSummary("Get a training job")
            .WithDescription("The job with its history, the id of its latest event (last_event_id) and, while it runs, its live progress (epoch, batch of batches, samples/s, ETA, running metrics).")
            .ProducesProblem(404);
        g.MapPost("/{id}/cancel", (string id, JobService jobs) => Results.Accepted($"/v1/jobs/{id}", jobs.Cancel(id)))
            .WithSummary("Cancel a training job").WithDescription("Stops a queued or running job; 409 when it already ended.")
            .WithName("CancelJob").Produces<Job>(202).ProducesProblem(404).ProducesProblem(409);

        g.MapGet("/{id}/files/{**path}", (string id, string path, JobService jobs, TrainingRun run) =>
            {
                jobs.Get(id);
                // Only a file the listing holds is served, so no path reaches outside the job's files directory.
                if (!run.Files(id).Contains(path, StringComparer.Ordinal))
                    throw Errors.ApiException.NotFound($"job '{id}' has no file '{path}' (its callbacks' files are listed in the job's 'files')");
                return Results.File(Path.Combine(run.FilesDirectory(id), path), "application/octet-stream", Path.GetFileName(path));
            })
            .WithName("GetJobFile").WithSummary("Download a file a job's callbacks wrote")
            .WithDescription("TensorBoard event files, ModelCheckpoint files and CSV logs, by the paths listed in the job's 'files'.")
            .Produces<byte[]>(200, "application/octet-stream").ProducesProblem(404);

        g.MapGet("/{id}/logs", (string id, long? after, int? limit, JobService jobs) => jobs.Logs(id, after, limit, Paging.DefaultLimit, Paging.MaxLimit))
            .WithName("GetJobLogs").WithSummary("Read a training job's log")
            .WithDescription("The log lines the service and the job's worker process wrote about the job (started, each epoch's metrics, warnings, errors, how it ended), "
                + "oldest first, each with an id increasing by one per job. ?after= (a line id, default 0) returns the lines after it; next_after is the after of the next call "
                + "and more says whether lines beyond this page are already there, so following a running job is calling again with next_after. "
                + "The log stays when the job ends and goes with DELETE.")
            .Produces<JobLogPage>(200).ProducesProblem(404);
        g.MapGet("/{id}/events", Stream).WithName("JobEvents")
            .WithSummary("Follow a training job")
            .WithDescription("Server-Sent Events, each with an id (increasing per job): state changes (state), every epoch's logs (epoch) and batch progress (batch, at most 4 a second), " +
                             "from the first or after the id in Last-Event-ID (or ?after=), until the job ends. Events are kept in the job store, so a stream resumes without gaps " +
                             "or repeats from any replica; only older batch events of an ended epoch are thinned (20 kept per epoch).")
            .Produces<string>(200, "text/event-stream").ProducesProblem(404);

        g.MapDelete("/{id}", (string id, JobService jobs, TrainingRun run, ILogger<JobService> log) =>
            {
                jobs.Delete(id);
                try
                {
                    foreach (var dir in new[] { run.CheckpointDirectory(id), run.FilesDirectory(id) })
                        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                }
                // The job is gone either way; a checkpoint left behind is removed at the next start.
                catch (IOException e) { log.LogWarning("could not remove the checkpoint or files of deleted job {JobId}: {Error}", id, e.Message); }
                return Results.NoContent();
            })
            .WithName("DeleteJob").WithSummary("Delete a training job")
            .WithDescription("Removes a job that has ended, with its events, log, checkpoint and callback files; 409 while it is queued or running (cancel it first). "
                + "The model it registered stays.")
            .Produces(204).ProducesProblem(404).ProducesProblem(409);
    }

    /// <summary>How often a stream looks in the store for events of a job run by another process (a job run here wakes
    /// its streams at once).</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private const int PageSize = 500;

    /// <summary>The job's stored events after the one the client saw last (<c>Last-Event-ID</c>, sent by browsers when they
    /// reconnect, wins over <c>?after=</c>; neither: from the first), then new ones as they are appended, until the job
    /// ends. The stream also ends when the service stops, so it never holds up draining.</summary>
    private static IResult Stream(string id, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, [FromQuery] long? after,
        JobService jobs, IHostApplicationLifetime lifetime, HttpContext http)
    {
        var job = jobs.Get(id);
        long from;
        if (!string.IsNullOrEmpty(lastEventId))
        {
            if (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out from))
                throw ApiException.BadRequest($"Last-Event-ID must be the id of an event of this stream (a non-negative integer), got '{lastEventId}'");
        }
        else if (after is < 0) throw ApiException.BadRequest($"after must be a non-negative event id, got {after}");
        else from = after ?? 0;
        // An id this job never had (another job's, or a store restored from an older backup) would wait for events that
        // are not coming.
        if (from > 0 && jobs.Store.LastEventId(id) is { } last && from > last)
            throw ApiException.BadRequest($"job '{id}' has events up to {last}; cannot resume after {from}");
        var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        return TypedResults.ServerSentEvents(EventsAsync(job, from, jobs, stop));
    }

    private static async IAsyncEnumerable<SseItem<string>> EventsAsync(Job job, long after, JobService jobs, CancellationTokenSource stop)
    {
        var id = job.Id;
        var ct = stop.Token;
        Task? signal = null;
        try
        {
            if (after == 0 && jobs.Store.LastEventId(id) == 0)
            {
                // A job stored before events were: its state now, without an id (there is nothing to resume after).
                yield return new SseItem<string>(JsonSerializer.Serialize(JobStateEvent.Of(job), JobJson.Options), JobEventTypes.State);
                if (job.IsTerminal) yield break;
            }
            var ending = false;
            var idle = 0;
            while (!ct.IsCancellationRequested)
            {
                signal = jobs.Events.Signal(id); // taken before reading, so an event appended meanwhile wakes the wait below
                var page = jobs.Store.Events(id, after, PageSize);
                foreach (var e in page)
                {
                    after = e.Id;
                    yield return new SseItem<string>(e.Data, e.Type) { EventId = e.Id.ToString(CultureInfo.InvariantCulture) };
                    if (e.Type == JobEventTypes.State && IsTerminal(e.Data)) yield break;
                }
                if (page.Count == PageSize) continue;
                if (ending) yield break;
                // No more events: a job that ended before this stream began (resumed after its last event) or was deleted
                // ends it, after one more read for a final event committed since.
                if (page.Count > 0) idle = 0;
                else if (idle++ % 4 == 0 && jobs.Store.Get(id) is not { IsTerminal: false })
                {
                    ending = true;
                    continue;
                }
                await Task.WhenAny(signal, Task.Delay(PollInterval, ct));
            }
        }
        finally
        {
            if (signal is not null) jobs.Events.Forget(id, signal);
            stop.Dispose();
        }
    }

    private static bool IsTerminal(string stateEvent)
    {
        using var doc = JsonDocument.Parse(stateEvent);
        return doc.RootElement.TryGetProperty("state", out var s) && s.GetString() is "succeeded" or "failed" or "canceled" or "interrupted";
    }
}
