#pragma once

#include "TrayActivationPolicy.h"

namespace tollgate {

// The facts about this desktop's tray that the portable tray code must not guess with
// Q_OS_* itself: which host shows the icon and whether icons are macOS template images.
class PlatformTray
{
public:
    static TrayActivationPolicy::Host currentHost();
    // macOS menu bar icons are template images: black with alpha, tinted by the system
    // for light and dark menu bars and for the highlighted state.
    static bool usesTemplateIcons();
};

} // namespace tollgate
