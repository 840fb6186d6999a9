#pragma once

#include <QString>
#include <QStringList>

namespace tollgate {

// Starting Tollgate at login, the way each OS expects it:
// - Linux and other XDG desktops: $XDG_CONFIG_HOME/autostart/tollgate.desktop
//   (XDG Autostart specification; ~/.config when the variable is unset);
// - Windows: a value in HKCU\Software\Microsoft\Windows\CurrentVersion\Run;
// - macOS: a LaunchAgent ~/Library/LaunchAgents/<id>.plist with RunAtLoad.
// The entry runs programPath with arguments; enabling again rewrites it, so a moved
// program is found at its new place.
class Autostart
{
public:
    // The program started at login: this executable by default.
    explicit Autostart(QString programPath = {}, QStringList arguments = {});

    bool isEnabled() const;
    bool setEnabled(bool enabled, QString *error = nullptr);
    // Where the entry lives: a file path, or the registry key and value name.
    QString location() const;

    QString programPath() const { return m_programPath; }
    QStringList arguments() const { return m_arguments; }

private:
    QString m_programPath;
    QStringList m_arguments;
};

} // namespace tollgate
