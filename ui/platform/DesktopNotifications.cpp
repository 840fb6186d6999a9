#include "DesktopNotifications.h"

#include <QtGlobal>

#if defined(TOLLGATE_HAVE_DBUS) && !defined(Q_OS_WIN) && !defined(Q_OS_MACOS)
#define TOLLGATE_USE_FREEDESKTOP_NOTIFICATIONS
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QStringList>
#include <QVariantMap>
#endif

namespace tollgate {

#ifdef TOLLGATE_USE_FREEDESKTOP_NOTIFICATIONS
namespace {
const QString kService = QStringLiteral("org.freedesktop.Notifications");
}

bool DesktopNotifications::isAvailable()
{
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (!bus.isConnected() || !bus.interface())
        return false;
    // Notification daemons are activatable: a registered or activatable name will answer.
    if (bus.interface()->isServiceRegistered(kService))
        return true;
    const QStringList activatable = bus.interface()->activatableServiceNames();
    return activatable.contains(kService);
}

bool DesktopNotifications::send(const QString &title, const QString &message, Urgency urgency)
{
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (!bus.isConnected())
        return false;
    QDBusMessage call =
        QDBusMessage::createMethodCall(kService, QStringLiteral("/org/freedesktop/Notifications"),
                                       kService, QStringLiteral("Notify"));
    QVariantMap hints;
    // The specification's urgency byte: 0 low, 1 normal, 2 critical.
    hints.insert(QStringLiteral("urgency"), QVariant::fromValue(uchar(urgency)));
    hints.insert(QStringLiteral("desktop-entry"), QStringLiteral("tollgate"));
    call << QStringLiteral("Tollgate") << uint(0) << QStringLiteral("tollgate") << title << message
         << QStringList() << hints << int(-1);
    return bus.send(call);
}
#else
bool DesktopNotifications::isAvailable()
{
    return false;
}

bool DesktopNotifications::send(const QString &, const QString &, Urgency)
{
    return false;
}
#endif

} // namespace tollgate
