#include "PlatformTray.h"

#include <QString>
#include <QStringList>

namespace tollgate {

TrayActivationPolicy::Host PlatformTray::currentHost()
{
#if defined(Q_OS_WIN)
    return TrayActivationPolicy::Host::Windows;
#elif defined(Q_OS_MACOS)
    return TrayActivationPolicy::Host::MacOs;
#else
    // XDG_CURRENT_DESKTOP is a colon-separated list such as "ubuntu:GNOME" or "KDE".
    const QString desktop = qEnvironmentVariable("XDG_CURRENT_DESKTOP").toUpper();
    const QStringList names = desktop.split(QLatin1Char(':'), Qt::SkipEmptyParts);
    if (names.contains(QLatin1String("KDE")))
        return TrayActivationPolicy::Host::KdePlasma;
    // GNOME Shell shows tray icons only through the AppIndicator extension (Ubuntu's
    // default), which opens the menu on a click; Unity and Pantheon behave the same.
    for (const char *name : {"GNOME", "UNITY", "PANTHEON"}) {
        if (names.contains(QLatin1String(name)))
            return TrayActivationPolicy::Host::AppIndicator;
    }
    return TrayActivationPolicy::Host::X11Tray;
#endif
}

bool PlatformTray::usesTemplateIcons()
{
#if defined(Q_OS_MACOS)
    return true;
#else
    return false;
#endif
}

} // namespace tollgate
