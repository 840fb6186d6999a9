#pragma once

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QSystemTrayIcon>
#include <functional>

namespace tollgate {

// The one way Tollgate tells the user about something that happened while they were not
// looking (the proxy stopped on an error, the upstream rejected the key, later budgets):
// the tray's balloon message where the tray can show one, else the desktop's notification
// service, else a log line. The same notification is not repeated within a minute.
class Notifier : public QObject
{
    Q_OBJECT

public:
    enum class Kind { Information, Warning, Error };
    enum class Channel { None, Tray, Desktop, Log };
    static constexpr qint64 kRepeatIntervalMs = 60'000;

    explicit Notifier(QObject *parent = nullptr);

    // The tray icon to show messages from; may be null, may disappear.
    void setTrayIcon(QSystemTrayIcon *icon, bool isTrayAvailable);
    // Milliseconds on a monotonic clock; tests pass their own.
    void setClock(std::function<qint64()> clock) { m_clock = std::move(clock); }

    // Returns the channel the notification went out on; None when it repeated one shown
    // less than kRepeatIntervalMs ago.
    Channel notify(Kind kind, const QString &title, const QString &message);

signals:
    void notified(tollgate::Notifier::Kind kind, const QString &title, const QString &message);

private:
    Channel deliver(Kind kind, const QString &title, const QString &message);

    QPointer<QSystemTrayIcon> m_trayIcon;
    bool m_isTrayAvailable = false;
    std::function<qint64()> m_clock;
    QHash<QString, qint64> m_lastShownMs; // by kind, title and message
};

} // namespace tollgate
