namespace Analytics.Producer.Simulation;

/// <summary>Devices a session can come from (index = <see cref="Persona.Devices"/> position).</summary>
public enum Device : byte
{
    Mobile = 0,
    Desktop = 1,
    Tablet = 2,
}

/// <summary>
/// A kind of shopper. Rates are per session and per event; categories modulate the funnel probabilities
/// (<see cref="Category.CartFactor"/>, <see cref="Category.PurchaseFactor"/>).
/// </summary>
/// <param name="Name">Wire-friendly name written to the truth file.</param>
/// <param name="Share">Share of users with this persona.</param>
/// <param name="RelativeSessionRate">Sessions per day relative to the population mean (the mix averages to 1).</param>
/// <param name="MeanViews">Mean product views per session.</param>
/// <param name="ViewToCart">Probability that a view is followed by an add-to-cart (before the category factor).</param>
/// <param name="CartToPurchase">Probability that a carted product is bought at the end of the session.</param>
/// <param name="ChurnProbability">Probability of churning within the churn horizon.</param>
/// <param name="FavouriteBias">Probability that a view goes to one of the user's two favourite categories.</param>
/// <param name="PreferredDevice">Device of most (75 %) of the user's sessions.</param>
/// <param name="ChannelWeights">Weights of organic, ads, email, social, direct.</param>
/// <param name="MeanViewGapSeconds">Mean gap between two views in a session.</param>
public sealed record Persona(
    string Name,
    double Share,
    double RelativeSessionRate,
    double MeanViews,
    double ViewToCart,
    double CartToPurchase,
    double ChurnProbability,
    double FavouriteBias,
    Device PreferredDevice,
    double[] ChannelWeights,
    double MeanViewGapSeconds)
{
    /// <summary>Wire names of <see cref="Device"/> values.</summary>
    public static IReadOnlyList<string> Devices { get; } = ["mobile", "desktop", "tablet"];

    /// <summary>Wire names of acquisition channels, in <see cref="ChannelWeights"/> order.</summary>
    public static IReadOnlyList<string> Channels { get; } = ["organic", "ads", "email", "social", "direct"];

    /// <summary>The population mix.</summary>
    public static IReadOnlyList<Persona> All { get; } =
    [
        // name, share, relative session rate, mean views, view→cart, cart→purchase, churn, favourite bias, device, channels, view gap
        new("window_shopper", 0.30, 1.25, 9.0, 0.045, 0.18, 0.40, 0.45, Device.Mobile, [3, 3, 1, 4, 1], 45),
        new("deal_hunter", 0.20, 0.90, 7.0, 0.12, 0.35, 0.30, 0.35, Device.Mobile, [2, 4, 4, 2, 1], 35),
        new("loyal_buyer", 0.20, 1.00, 5.0, 0.22, 0.60, 0.08, 0.65, Device.Desktop, [2, 1, 3, 1, 5], 30),
        new("impulse_buyer", 0.15, 0.85, 3.0, 0.28, 0.55, 0.30, 0.40, Device.Mobile, [1, 4, 1, 5, 1], 20),
        new("researcher", 0.15, 0.80, 14.0, 0.06, 0.45, 0.20, 0.70, Device.Desktop, [5, 1, 1, 1, 2], 70),
    ];

    /// <summary>Share-weighted mean of <see cref="RelativeSessionRate"/>, used to normalise rates to the requested mean.</summary>
    public static double MeanRelativeSessionRate { get; } = All.Sum(p => p.Share * p.RelativeSessionRate);

    /// <summary>Expected share of users that churn within the horizon.</summary>
    public static double ExpectedChurnFraction { get; } = All.Sum(p => p.Share * p.ChurnProbability);
}
