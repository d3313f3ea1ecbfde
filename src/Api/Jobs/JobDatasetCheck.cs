using System.Globalization;
using NeuralService.Api.Datasets;
using NeuralService.Api.Errors;
using NeuralService.Graph.Training;
using NeuralService.Training;

namespace NeuralService.Api.Jobs;

/// <summary>Checks a dataset against a compiled model before a job is queued: labels present, arrays matched to the
/// inputs and outputs with fitting shapes (<see cref="Trainer.Validate"/> on the dataset's layout), and the label values
/// within what each output's loss can learn. Each refusal is a 400 that says what to change.</summary>
public static class JobDatasetCheck
{
    /// <param name="field">The request field that named the dataset (<c>dataset</c>, <c>validation_dataset</c>).</param>
    public static void Check(Trainer trainer, DatasetStore datasets, DatasetInfo info, string field)
    {
        var what = $"{field} '{info.Name}'";
        var ranges = datasets.LabelRanges(info);
        if (ranges is null)
            throw ApiException.BadRequest($"{what} has no labels, and training needs them: upload it again with a labels file " +
                                          "(npy or idx), a label_column (csv) or a y member (npz)");
        try { trainer.Validate(DatasetStore.Layout(info), what); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
        var named = info.Targets is { Count: > 0 } t && t.All(a => a.Name is not null) ? t.Select(a => a.Name!).ToList() : null;
        for (var i = 0; i < trainer.OutputNames.Count && i < trainer.Losses.Count; i++)
        {
            var output = trainer.OutputNames[i];
            var index = named is null ? i : named.IndexOf(output);
            if (index < 0 || index >= ranges.Count || ranges[index] is not { } range) continue;
            CheckRange(trainer, i, range, what);
        }
    }

    private static void CheckRange(Trainer trainer, int output, LabelRange range, string what)
    {
        var name = trainer.OutputNames[output];
        var loss = trainer.Losses[output];
        var units = trainer.Model.Outputs[output].Shape is { Rank: > 0 } s && s[-1].IsKnown ? s[-1].Known : (long?)null;
        var labels = $"{what} has labels {F(range.Min)}..{F(range.Max)}";
        if (loss.SparseLabels)
        {
            if (!range.Integers)
                throw ApiException.BadRequest($"{labels}, not all whole numbers, but {loss.Name} takes class indices 0, 1, 2…: relabel the classes, " +
                                              "or use a regression loss (mean_squared_error) with a linear output");
            if (range.Min < 0)
                throw ApiException.BadRequest($"{labels} but class indices start at 0: relabel the classes to 0..{F(range.Max - range.Min)}");
            if (units is { } u && range.Max >= u)
                throw ApiException.BadRequest($"{labels} but the model's output '{name}' has {u} units: use Dense({F(range.Max + 1)}) for the output " +
                                              $"or relabel the classes to 0..{u - 1}");
        }
        else if (loss.Name is "binary_crossentropy" or "binary_focal_crossentropy" or "categorical_crossentropy" or "categorical_focal_crossentropy")
        {
            if (range.Min < 0 || range.Max > 1)
            {
                var hint = loss.Name.StartsWith("binary", StringComparison.Ordinal) && range.Integers && range.Min >= 0
                    ? $"for {F(range.Max + 1)} classes use Dense({F(range.Max + 1)}, activation=\"softmax\") with sparse_categorical_crossentropy, or relabel to 0 and 1"
                    : loss.Name.StartsWith("categorical", StringComparison.Ordinal) && range.Integers && range.Min >= 0
                        ? "for class indices use sparse_categorical_crossentropy, or one-hot encode the labels"
                        : "scale the labels into [0, 1] or use a regression loss (mean_squared_error)";
                throw ApiException.BadRequest($"{labels} but {loss.Name} (output '{name}') takes labels in [0, 1]: {hint}");
            }
        }
    }

    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
