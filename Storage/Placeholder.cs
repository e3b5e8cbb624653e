namespace Analytics.Storage;
internal static class Placeholder;
