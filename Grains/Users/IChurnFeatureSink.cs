using Analytics.Grains.Interfaces.Users;

namespace Analytics.Grains.Users;

/// <summary>
/// Takes the latest features of users whose state was just persisted, for <c>churn_features</c>. The silo's writer
/// batches them (latest per user wins) into one upsert per interval, so no grain waits for it.
/// </summary>
public interface IChurnFeatureSink
{
    void Publish(ChurnFeatures features);
}
