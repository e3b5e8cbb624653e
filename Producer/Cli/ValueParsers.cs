using System.Globalization;

namespace Analytics.Producer.Cli;

/// <summary>Parsers for the option values that are not plain numbers.</summary>
public static class ValueParsers
{
    /// <summary>
    /// A duration: one or more number+unit parts (<c>500ms</c>, <c>30s</c>, <c>10m</c>, <c>1h30m</c>, <c>1.5h</c>,
    /// <c>7d</c>, <c>2w</c>) or a .NET time span (<c>00:10:00</c>). A bare number has no unit and is refused.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var s = text.Trim();
        if (s.Length == 0) return false;
        if (s.Contains(':', StringComparison.Ordinal))
            return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;

        var total = 0.0;
        var i = 0;
        while (i < s.Length)
        {
            var numberStart = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == numberStart) return false;
            if (!double.TryParse(s.AsSpan(numberStart, i - numberStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                return false;
            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            double? unitMs = s[unitStart..i].ToLowerInvariant() switch
            {
                "ms" => 1,
                "s" or "sec" => 1_000,
                "m" or "min" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000.0,
                _ => null,
            };
            if (unitMs is null) return false;
            total += number * unitMs.Value;
        }

        if (total > TimeSpan.MaxValue.TotalMilliseconds / 2) return false;
        duration = TimeSpan.FromMilliseconds(Math.Round(total));
        return true;
    }

    /// <summary>
    /// A point in time: <c>now</c>; relative to now (<c>-30d</c>, <c>-2h30m</c>, <c>+1h</c>); or ISO-8601
    /// (<c>2025-01-01</c>, <c>2025-01-01T08:00:00Z</c>, <c>2025-01-01T09:00:00+01:00</c>; without an offset it is UTC).
    /// The result is UTC, truncated to whole milliseconds (event times have millisecond precision).
    /// </summary>
    public static bool TryParseTime(string text, DateTimeOffset now, out DateTimeOffset time)
    {
        time = default;
        var s = text.Trim();
        if (s.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            time = Truncate(now);
            return true;
        }

        if (s.Length > 1 && s[0] is '-' or '+' && char.IsAsciiDigit(s[1]) && !LooksLikeDate(s[1..]))
        {
            if (!TryParseDuration(s[1..], out var offset)) return false;
            try
            {
                time = Truncate(s[0] == '-' ? now - offset : now + offset);
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                return false;
            }
        }

        if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            return false;
        time = Truncate(parsed);
        return true;
    }

    private static bool LooksLikeDate(string s) => s.Length >= 10 && s[4] == '-' && s[7] == '-';

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
}
