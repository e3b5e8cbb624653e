using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Analytics.Benchmarking;

/// <summary>How the reports are written as JSON: the source-generated contexts' settings, with text kept readable.</summary>
public static class ReportJson
{
    /// <summary>
    /// The type info of <typeparamref name="T"/> from <paramref name="context"/>, with an encoder that leaves quotes and
    /// non-ASCII letters as they are (the default escapes them as \u0022, unreadable in an answer quoted in the report;
    /// the file is never embedded in HTML).
    /// </summary>
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerContext context)
    {
        var options = new JsonSerializerOptions(context.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }
}
