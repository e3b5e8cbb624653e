using Microsoft.Extensions.Options;

namespace Analytics.Silo.Hosting;

/// <summary>
/// Reads <c>Orleans:Membership</c> while the host is being built (the Orleans builder needs the mode before any options
/// exist), refusing a value that is not a mode with a message that names the setting.
/// </summary>
internal static class MembershipConfiguration
{
    public static MembershipMode Read(IConfiguration configuration, string section)
    {
        var text = configuration[$"{section}:{nameof(SiloOptions.Membership)}"];
        if (string.IsNullOrWhiteSpace(text)) return MembershipMode.Localhost;
        if (Enum.TryParse<MembershipMode>(text, ignoreCase: true, out var mode) && Enum.IsDefined(mode) && !int.TryParse(text, out _)) return mode;
        throw new OptionsValidationException(section, typeof(SiloOptions),
            [$"{section}:{nameof(SiloOptions.Membership)} must be Localhost or AdoNet (was '{text}')."]);
    }
}
