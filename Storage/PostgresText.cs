namespace Analytics.Storage;

/// <summary>
/// Makes text storable in PostgreSQL. A <c>text</c> value cannot hold U+0000, and Npgsql refuses strings with unpaired
/// surrogates; JSON can carry both (<c>"\u0000"</c>, <c>"\ud800"</c>). One such value would fail its whole batch, and
/// Kafka would redeliver that batch forever, so they are replaced with U+FFFD instead.
/// </summary>
internal static class PostgresText
{
    private const char Replacement = '\uFFFD';

    public static string Clean(string value) => IsStorable(value) ? value : Replace(value);

    private static bool IsStorable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    private static string Replace(string value) => string.Create(value.Length, value, static (span, source) =>
    {
        source.AsSpan().CopyTo(span);
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == '\0')
            {
                span[i] = Replacement;
            }
            else if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(span[i]))
            {
                span[i] = Replacement;
            }
        }
    });
}
