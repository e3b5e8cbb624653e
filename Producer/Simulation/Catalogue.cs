using System.Globalization;

namespace Analytics.Producer.Simulation;

/// <summary>A product category and how shoppers treat it.</summary>
/// <param name="Name">Wire name (<c>category</c> field).</param>
/// <param name="Share">Relative share of the catalogue's products.</param>
/// <param name="MinPrice">Cheapest price in the category.</param>
/// <param name="MaxPrice">Dearest price in the category (prices are log-uniform in between).</param>
/// <param name="CartFactor">Multiplies a persona's view→cart probability.</param>
/// <param name="PurchaseFactor">Multiplies a persona's cart→purchase probability.</param>
public sealed record Category(string Name, double Share, double MinPrice, double MaxPrice, double CartFactor, double PurchaseFactor)
{
    /// <summary>The shop's categories: cheap, frequent buys convert better than expensive, researched ones.</summary>
    public static IReadOnlyList<Category> All { get; } =
    [
        new("electronics", 0.15, 15, 1500, 0.70, 0.80),
        new("fashion", 0.18, 8, 250, 1.10, 0.90),
        new("home", 0.14, 6, 600, 0.90, 1.00),
        new("beauty", 0.12, 4, 120, 1.20, 1.10),
        new("sports", 0.11, 8, 400, 0.90, 0.95),
        new("books", 0.10, 4, 60, 1.20, 1.15),
        new("toys", 0.10, 5, 150, 1.00, 1.00),
        new("grocery", 0.10, 1, 40, 1.50, 1.30),
    ];
}

/// <summary>One product: stable id, category and price for the whole run.</summary>
/// <param name="Index">Position in <see cref="Catalogue.Products"/>.</param>
/// <param name="Id">Wire id, <c>p_0001</c>….</param>
/// <param name="CategoryIndex">Index into <see cref="Category.All"/>.</param>
/// <param name="Price">Price with two decimals.</param>
/// <param name="PopularityRank">0 = most viewed; the Zipf weight is 1/(rank+1)^s.</param>
public sealed record Product(int Index, string Id, int CategoryIndex, decimal Price, int PopularityRank)
{
    public Category Category => Category.All[CategoryIndex];
}

/// <summary>
/// The shop's products with Zipf-skewed popularity (a few products get most views). Drawn once from a seed.
/// </summary>
public sealed class Catalogue
{
    /// <summary>Zipf exponent of product popularity.</summary>
    public const double ZipfExponent = 1.1;

    private readonly AliasTable _all;
    private readonly AliasTable[] _byCategory;
    private readonly int[][] _categoryProducts;

    private Catalogue(Product[] products)
    {
        Products = products;
        var weights = products.Select(p => Weight(p.PopularityRank)).ToArray();
        _all = new AliasTable(weights);
        _categoryProducts = new int[Category.All.Count][];
        _byCategory = new AliasTable[Category.All.Count];
        for (var c = 0; c < Category.All.Count; c++)
        {
            _categoryProducts[c] = products.Where(p => p.CategoryIndex == c).Select(p => p.Index).ToArray();
            _byCategory[c] = new AliasTable(_categoryProducts[c].Select(i => weights[i]).ToArray());
        }
    }

    public IReadOnlyList<Product> Products { get; }

    /// <summary>Makes a catalogue of <paramref name="productCount"/> products (at least one per category).</summary>
    public static Catalogue Create(int productCount, RandomSource random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(productCount, Category.All.Count);
        var shares = Category.All.Select(c => c.Share).ToArray();
        var ranks = Enumerable.Range(0, productCount).ToArray();
        // Fisher–Yates: popularity is independent of id and category.
        for (var i = ranks.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (ranks[i], ranks[j]) = (ranks[j], ranks[i]);
        }

        var width = Math.Max(4, productCount.ToString(CultureInfo.InvariantCulture).Length);
        var products = new Product[productCount];
        for (var i = 0; i < productCount; i++)
        {
            var category = i < Category.All.Count ? i : random.Pick(shares);
            var id = "p_" + (i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
            products[i] = new Product(i, id, category, DrawPrice(Category.All[category], random), ranks[i]);
        }

        return new Catalogue(products);
    }

    /// <summary>A product drawn by popularity over the whole catalogue.</summary>
    public int PickProduct(RandomSource random) => _all.Sample(random);

    /// <summary>A product drawn by popularity within one category.</summary>
    public int PickProduct(int categoryIndex, RandomSource random)
        => _categoryProducts[categoryIndex][_byCategory[categoryIndex].Sample(random)];

    private static double Weight(int rank) => Math.Pow(rank + 1, -ZipfExponent);

    private static decimal DrawPrice(Category category, RandomSource random)
    {
        var raw = Math.Exp(random.Uniform(Math.Log(category.MinPrice), Math.Log(category.MaxPrice)));
        // Most shop prices end in .99; the rest are rounded to the cent.
        var cents = random.Chance(0.6)
            ? (Math.Max(1, (long)Math.Floor(raw)) * 100) - 1
            : Math.Max(1, (long)Math.Round(raw * 100));
        return new decimal((int)cents, 0, 0, false, 2);
    }
}
