namespace NeuralService.Api.Errors;

/// <summary>An error the API itself raises (bad request shape, missing job, payload too large…), carrying its status.</summary>
public sealed class ApiException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    public static ApiException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, "Bad request", detail);
    public static ApiException NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found", detail);
    public static ApiException Conflict(string detail) => new(StatusCodes.Status409Conflict, "Conflict", detail);
    public static ApiException TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, "Payload too large", detail);
    public static ApiException Unprocessable(string detail) => new(StatusCodes.Status422UnprocessableEntity, "Unprocessable entity", detail);
    public static ApiException Overloaded(string detail) => new(StatusCodes.Status429TooManyRequests, "Too many requests", detail);
}
