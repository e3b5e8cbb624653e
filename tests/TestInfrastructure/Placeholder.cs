namespace Analytics.TestInfrastructure;
internal static class Placeholder;
