using System.Globalization;
using System.Text;
using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Models;

/// <summary>Keras's <c>model.summary()</c> table.</summary>
public static class ModelSummary
{
    public static string Format(Model model)
    {
        var functional = model is Functional f && (f.Inputs.Count > 1 || f.Nodes.Any(n => n.Inputs.Count > 1));
        var rows = new List<string[]>();
        foreach (var layer in model.Layers)
        {
            var nodes = layer.InboundNodes.Where(n => IsInModel(model, n)).ToList();
            var shapes = nodes.Count == 0 ? "?" : string.Join(", ", nodes[0].Outputs.Select(o => o.Shape.ToKerasString()));
            if (nodes.Count > 0 && nodes[0].Outputs.Count > 1) shapes = "[" + shapes + "]";
            var row = new List<string> { $"{layer.Name} ({layer.ClassName})", shapes, N(layer.CountParams()) };
            if (functional)
                row.Add(nodes.Count == 0 || nodes[0].Inputs.Count == 0 ? "-"
                    : string.Join(", ", nodes.SelectMany(n => n.Inputs).Select(i => $"{i.Layer.Name}[{i.Node.Index}][{i.Index}]")));
            rows.Add(row.ToArray());
        }
        string[] header = functional ? ["Layer (type)", "Output Shape", "Param #", "Connected to"] : ["Layer (type)", "Output Shape", "Param #"];
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Select(r => r[c].Length).DefaultIfEmpty(0).Max()) + 2).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{model.Name}\"");
        var rule = string.Join("─", widths.Select(w => new string('─', w)));
        sb.AppendLine(rule.Replace('─', '━'));
        sb.AppendLine(Row(header, widths));
        sb.AppendLine(rule.Replace('─', '━'));
        for (var i = 0; i < rows.Count; i++)
        {
            sb.AppendLine(Row(rows[i], widths));
            sb.AppendLine(i == rows.Count - 1 ? rule.Replace('─', '━') : rule);
        }
        var weights = model.Weights;
        var trainable = weights.Where(w => w.Trainable && w.Owner.Trainable).Sum(w => w.Size);
        var total = weights.Sum(w => w.Size);
        sb.AppendLine($"Trainable params: {trainable} ({Bytes(trainable)})");
        sb.AppendLine($"Non-trainable params: {total - trainable} ({Bytes(total - trainable)})");
        sb.Append($"Total params: {total}");
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

    private static string Bytes(long parameters)
    {
        double b = parameters * 4;
        string[] units = ["B", "KB", "MB", "GB"];
        var u = 0;
        while (b >= 1024 && u < units.Length - 1) { b /= 1024; u++; }
        return b.ToString("0.00", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
