#include "Autostart.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QSaveFile>

namespace tollgate {

namespace {
const QString kLabel = QStringLiteral("org.tollgate.Tollgate");

QString agentsDirectory()
{
    return QDir::homePath() + QStringLiteral("/Library/LaunchAgents");
}

QString xmlEscaped(const QString &text)
{
    return text.toHtmlEscaped();
}
} // namespace

QString Autostart::location() const
{
    return agentsDirectory() + QLatin1Char('/') + kLabel + QStringLiteral(".plist");
}

bool Autostart::isEnabled() const
{
    return QFile::exists(location());
}

bool Autostart::setEnabled(bool enabled, QString *error)
{
    const QString path = location();
    if (!enabled) {
        if (!QFile::exists(path) || QFile::remove(path))
            return true;
        if (error)
            *error =
                QCoreApplication::translate("tollgate::Autostart", "Cannot remove %1").arg(path);
        return false;
    }
    if (!QDir().mkpath(agentsDirectory())) {
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot create %1")
                         .arg(agentsDirectory());
        return false;
    }
    QString arguments = QStringLiteral("    <string>%1</string>\n").arg(xmlEscaped(m_programPath));
    for (const QString &argument : m_arguments)
        arguments += QStringLiteral("    <string>%1</string>\n").arg(xmlEscaped(argument));
    // launchd starts the agent at login (RunAtLoad) and only then: no KeepAlive, so quitting
    // Tollgate from its menu is respected.
    const QString plist =
        QStringLiteral("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                       "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                       "<plist version=\"1.0\">\n<dict>\n"
                       "  <key>Label</key>\n  <string>%1</string>\n"
                       "  <key>ProgramArguments</key>\n  <array>\n%2  </array>\n"
                       "  <key>RunAtLoad</key>\n  <true/>\n"
                       "  <key>ProcessType</key>\n  <string>Interactive</string>\n"
                       "</dict>\n</plist>\n")
            .arg(kLabel, arguments);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(plist.toUtf8()) < 0 || !file.commit()) {
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot write %1: %2")
                         .arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace tollgate
