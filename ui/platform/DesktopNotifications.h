#pragma once

#include <QString>

namespace tollgate {

// The desktop's own notification service where one exists apart from the tray: on Linux
// org.freedesktop.Notifications over the session bus, which shows notifications even
// where no tray icon can (GNOME without the AppIndicator extension). Elsewhere it does
// not exist and the tray's balloon messages carry notifications.
class DesktopNotifications
{
public:
    enum class Urgency { Low, Normal, Critical };

    // True when the service answers on the session bus.
    static bool isAvailable();
    // Sends without waiting for the reply; false when there is no service to send to.
    static bool send(const QString &title, const QString &message, Urgency urgency);
};

} // namespace tollgate
