using Microsoft.OpenApi;
using NeuralService.Api.Endpoints;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>The list endpoints' <c>limit</c> and <c>page_token</c> query parameters: their bounds and meaning, which the
/// handler's <c>int?</c>/<c>string?</c> cannot say.</summary>
public sealed class PagingParametersFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        foreach (var p in operation.Parameters ?? [])
        {
            if (p is not OpenApiParameter { In: ParameterLocation.Query } parameter) continue;
            if (parameter.Name == "limit")
            {
                parameter.Description = $"Items per page, 1–{Paging.MaxLimit} (default {Paging.DefaultLimit}); anything else is a 400 naming it.";
                if (parameter.Schema is OpenApiSchema s)
                {
                    s.Minimum = "1";
                    s.Maximum = Paging.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            else if (parameter.Name == "page_token")
                parameter.Description = "The next_page_token of the previous page, unchanged (opaque; bound to this list). Leave out for the first page.";
        }
    }
}
