using System.Globalization;
using Microsoft.Extensions.Options;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace NeuralService.Api.Jobs;

/// <summary>Keeps the service's own log lines about a job (those with a <c>JobId</c> property, from NeuralService code,
/// Information and above) as that job's log in the job store: what the worker process logged (started, each epoch,
/// warnings, errors, the end) and what its launcher and supervisor logged about it. Both the service and
/// <c>worker --job</c> processes write through it, so the log is complete whichever process ran the job.</summary>
public sealed class JobLogSink(IServiceProvider services) : ILogEventSink
{
    private static readonly MessageTemplateTextFormatter Text = new("{Message:l}", CultureInfo.InvariantCulture);

    // A store that logged while appending would come back here; such lines are left to the other sinks.
    [ThreadStatic] private static bool _appending;

    public void Emit(LogEvent logEvent)
    {
        if (_appending || logEvent.Level < LogEventLevel.Information) return;
        if (!logEvent.Properties.TryGetValue("JobId", out var id) || id is not ScalarValue { Value: string jobId }) return;
        // The host's and the framework's lines in a worker process carry its JobId too; they say nothing about the job.
        if (!logEvent.Properties.TryGetValue("SourceContext", out var source) || source is not ScalarValue { Value: string context }
            || !context.StartsWith("NeuralService.", StringComparison.Ordinal)) return;
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        Text.Format(logEvent, text);
        var message = text.ToString();
        if (logEvent.Exception is { } e) message += $" ({e.GetType().Name}: {e.Message})";
        _appending = true;
        try
        {
            // Resolved at the first line, not when logging is set up: the store must not be opened before startup cleanup.
            var dataDirectory = services.GetRequiredService<IOptions<NeuralOptions>>().Value.DataDirectory();
            services.GetService<JobStore>()?.AppendLog(jobId, logEvent.Timestamp, logEvent.Level.ToString().ToLowerInvariant(),
                ProblemMapping.Redact(message, dataDirectory));
        }
#pragma warning disable CA1031 // a log line that cannot be kept must never fail (or stop) what was being logged
        catch (Exception failure)
#pragma warning restore CA1031
        {
            SelfLog.WriteLine("job {0}: a log line could not be stored: {1}", jobId, failure.Message);
        }
        finally { _appending = false; }
    }
}
