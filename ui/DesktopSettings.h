#pragma once

#include "platform/Autostart.h"

#include <QByteArray>
#include <QObject>
#include <QSettings>
#include <QString>
#include <optional>

namespace tollgate {

// The desktop app's own preferences and remembered window state, typed, in an INI file
// next to the gateway's settings file (which holds the gateway's config, never UI state).
// Start at login is the OS's autostart entry itself: reading it asks the OS, so turning
// it off in the desktop's own settings shows here too.
class DesktopSettings : public QObject
{
    Q_OBJECT

public:
    // ~/.config/Tollgate/tollgate/desktop.ini on Linux (the platform's app config folder).
    static QString defaultPath();

    // autostart: the login entry to manage (this executable's by default); none: start at
    // login stays off.
    explicit DesktopSettings(const QString &path = defaultPath(),
                             std::optional<Autostart> autostart = Autostart(),
                             QObject *parent = nullptr);
    ~DesktopSettings() override;

    QString path() const;

    // Start hidden in the tray (when there is a tray) rather than with the window open.
    bool startMinimised() const;
    void setStartMinimised(bool startMinimised);

    bool startAtLogin() const;
    // Adds or removes the login entry; false with *error when the OS refused. Enabling an
    // enabled entry rewrites it, so it points at this program if the program moved.
    bool setStartAtLogin(bool startAtLogin, QString *error = nullptr);

    // Start the proxy when the app starts (on by default: the gateway is the product).
    bool startProxyAtLaunch() const;
    void setStartProxyAtLaunch(bool start);

    // Whether the first start already offered to import ANTHROPIC_API_KEY into the keychain
    // (KeyImportOffer): the question is asked once, whatever the answer.
    bool hasOfferedKeyImport() const;
    void setOfferedKeyImport(bool offered);

    // Remembered window state (MainWindow).
    QByteArray windowGeometry() const;
    QByteArray windowState() const;
    QString currentPage() const;
    void setWindowGeometry(const QByteArray &geometry);
    void setWindowState(const QByteArray &state);
    void setCurrentPage(const QString &pageId);

    // Writes pending changes to disk now (they are written on destruction anyway).
    void sync();

signals:
    // A preference changed (start minimised, start at login, start proxy); window state
    // changes are not announced.
    void changed();

private:
    mutable QSettings m_settings;
    std::optional<Autostart> m_autostart;
};

} // namespace tollgate
