#include "Notifier.h"

#include "platform/DesktopNotifications.h"

#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QSystemTrayIcon>

namespace tollgate {

namespace {
Q_LOGGING_CATEGORY(lcNotify, "tollgate.notify")

qint64 monotonicMs()
{
    static QElapsedTimer clock = [] {
        QElapsedTimer timer;
        timer.start();
        return timer;
    }();
    return clock.elapsed();
}
} // namespace

Notifier::Notifier(QObject *parent)
    : QObject(parent)
    , m_clock(monotonicMs)
{
}

void Notifier::setTrayIcon(QSystemTrayIcon *icon, bool isTrayAvailable)
{
    m_trayIcon = icon;
    m_isTrayAvailable = isTrayAvailable;
}

Notifier::Channel Notifier::notify(Kind kind, const QString &title, const QString &message)
{
    const QString key = QString::number(int(kind)) + QChar(0) + title + QChar(0) + message;
    const qint64 now = m_clock();
    const auto last = m_lastShownMs.constFind(key);
    if (last != m_lastShownMs.constEnd() && now - *last < kRepeatIntervalMs)
        return Channel::None;
    m_lastShownMs.insert(key, now);
    // Forget what can no longer suppress anything, so the table stays small.
    for (auto it = m_lastShownMs.begin(); it != m_lastShownMs.end();) {
        if (now - *it >= kRepeatIntervalMs)
            it = m_lastShownMs.erase(it);
        else
            ++it;
    }
    const Channel channel = deliver(kind, title, message);
    emit notified(kind, title, message);
    return channel;
}

Notifier::Channel Notifier::deliver(Kind kind, const QString &title, const QString &message)
{
    // A balloon from an icon that no tray shows would be lost, whatever supportsMessages()
    // says (it is true even offscreen).
    if (m_trayIcon && m_isTrayAvailable && QSystemTrayIcon::supportsMessages()) {
        const QSystemTrayIcon::MessageIcon icon = kind == Kind::Error ? QSystemTrayIcon::Critical
            : kind == Kind::Warning                                   ? QSystemTrayIcon::Warning
                                    : QSystemTrayIcon::Information;
        m_trayIcon->showMessage(title, message, icon);
        return Channel::Tray;
    }
    if (DesktopNotifications::isAvailable()) {
        const auto urgency = kind == Kind::Error ? DesktopNotifications::Urgency::Critical
                                                 : DesktopNotifications::Urgency::Normal;
        if (DesktopNotifications::send(title, message, urgency))
            return Channel::Desktop;
    }
    qCWarning(lcNotify).noquote() << title << "-" << message;
    return Channel::Log;
}

} // namespace tollgate
