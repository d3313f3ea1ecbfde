using System.Globalization;
using System.Text;
using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Models;

/// <summary>One row of a model summary: a layer (or, for a summary read off an ONNX graph, a group of nodes), its
/// output shape as Keras prints it, its parameter count, and for functional models the layers it takes input from.</summary>
public sealed record SummaryRow(string Name, string Type, string OutputShape, long Params, IReadOnlyList<string>? ConnectedTo = null);

/// <summary>The content of Keras's <c>model.summary()</c>: rows and parameter totals.</summary>
public sealed record SummaryTable(string Model, IReadOnlyList<SummaryRow> Rows, long TotalParams, long TrainableParams)
{
    public long NonTrainableParams => TotalParams - TrainableParams;
}

/// <summary>Keras's <c>model.summary()</c> table.</summary>
public static class ModelSummary
{
    public static SummaryTable Table(Model model)
    {
        var functional = model is Functional f && (f.Inputs.Count > 1 || f.Nodes.Any(n => n.Inputs.Count > 1));
        var rows = new List<SummaryRow>();
        foreach (var layer in model.Layers)
        {
            var nodes = layer.InboundNodes.Where(n => IsInModel(model, n)).ToList();
            var shapes = nodes.Count == 0 ? "?" : string.Join(", ", nodes[0].Outputs.Select(o => o.Shape.ToKerasString()));
            if (nodes.Count > 0 && nodes[0].Outputs.Count > 1) shapes = "[" + shapes + "]";
            IReadOnlyList<string>? connected = functional
                ? nodes.Count == 0 || nodes[0].Inputs.Count == 0 ? []
                    : nodes.SelectMany(n => n.Inputs).Select(i => $"{i.Layer.Name}[{i.Node.Index}][{i.Index}]").ToList()
                : null;
            rows.Add(new SummaryRow(layer.Name, layer.ClassName, shapes, layer.CountParams(), connected));
        }
        var weights = model.Weights;
        var trainable = weights.Where(w => w.Trainable && w.Owner.Trainable).Sum(w => w.Size);
        return new SummaryTable(model.Name, rows, weights.Sum(w => w.Size), trainable);
    }

    public static string Format(Model model) => Format(Table(model));

    public static string Format(SummaryTable table)
    {
        var functional = table.Rows.Any(r => r.ConnectedTo is not null);
        var rows = table.Rows.Select(r =>
        {
            string[] cells = [$"{r.Name} ({r.Type})", r.OutputShape, N(r.Params)];
            return functional ? [.. cells, r.ConnectedTo is { Count: > 0 } c ? string.Join(", ", c) : "-"] : cells;
        }).ToList();
        string[] header = functional ? ["Layer (type)", "Output Shape", "Param #", "Connected to"] : ["Layer (type)", "Output Shape", "Param #"];
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Select(r => r[c].Length).DefaultIfEmpty(0).Max()) + 2).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{table.Model}\"");
        var rule = string.Join("─", widths.Select(w => new string('─', w)));
        sb.AppendLine(rule.Replace('─', '━'));
        sb.AppendLine(Row(header, widths));
        sb.AppendLine(rule.Replace('─', '━'));
        for (var i = 0; i < rows.Count; i++)
        {
            sb.AppendLine(Row(rows[i], widths));
            sb.AppendLine(i == rows.Count - 1 ? rule.Replace('─', '━') : rule);
        }
        sb.AppendLine($"Trainable params: {table.TrainableParams} ({Bytes(table.TrainableParams)})");
        sb.AppendLine($"Non-trainable params: {table.NonTrainableParams} ({Bytes(table.NonTrainableParams)})");
        sb.Append($"Total params: {table.TotalParams}");
        return sb.ToString();
    }

    private static bool IsInModel(Model model, LayerNode node) =>
        model switch
        {
            Functional f => f.Nodes.Contains(node) || f.Inputs.Any(i => i.Node == node),
            _ => true,
        };

    private static string Row(IReadOnlyList<string> cells, int[] widths) =>
        string.Join(" ", cells.Select((c, i) => i == 2 ? c.PadLeft(widths[i] - 1) + " " : " " + c.PadRight(widths[i] - 1))).TrimEnd();

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Parameter memory as Keras prints it (float32).</summary>
    public static string Bytes(long parameters)
    {
        double b = parameters * 4;
        string[] units = ["B", "KB", "MB", "GB"];
        var u = 0;
        while (b >= 1024 && u < units.Length - 1) { b /= 1024; u++; }
        return b.ToString("0.00", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
