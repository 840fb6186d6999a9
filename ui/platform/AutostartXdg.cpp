#include "Autostart.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <algorithm>

namespace tollgate {

namespace {
QString autostartDirectory()
{
    // The XDG Base Directory default when XDG_CONFIG_HOME is unset or not absolute.
    QString configHome = qEnvironmentVariable("XDG_CONFIG_HOME");
    if (configHome.isEmpty() || !QDir::isAbsolutePath(configHome))
        configHome = QDir::homePath() + QStringLiteral("/.config");
    return configHome + QStringLiteral("/autostart");
}

// One argument of an Exec key (Desktop Entry specification, "The Exec key"): quoted when
// it holds a reserved character, with ", `, $ and \ escaped inside the quotes, and % as
// %% since % starts a field code. The key's value is itself a string value, in which a
// backslash is written as \\ again.
QString execArgument(const QString &argument)
{
    static const QString reserved = QStringLiteral(" \t\n\"'\\><~|&;$*?#()`");
    QString text = argument;
    text.replace(QLatin1Char('%'), QStringLiteral("%%"));
    const bool needsQuotes = text.isEmpty()
        || std::any_of(text.cbegin(), text.cend(), [](QChar c) { return reserved.contains(c); });
    if (!needsQuotes)
        return text;
    QString quoted;
    for (const QChar c : text) {
        if (c == u'"' || c == u'`' || c == u'$' || c == u'\\')
            quoted += QLatin1Char('\\');
        quoted += c;
    }
    quoted.replace(QLatin1Char('\\'), QStringLiteral("\\\\"));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}
} // namespace

QString Autostart::location() const
{
    return autostartDirectory() + QStringLiteral("/tollgate.desktop");
}

bool Autostart::isEnabled() const
{
    QFile file(location());
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return false;
    // A user who turned the entry off in the desktop's settings keeps the file with
    // Hidden=true (or GNOME's X-GNOME-Autostart-enabled=false).
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        if (line == "Hidden=true" || line == "X-GNOME-Autostart-enabled=false")
            return false;
    }
    return true;
}

bool Autostart::setEnabled(bool enabled, QString *error)
{
    const QString path = location();
    if (!enabled) {
        if (!QFile::exists(path) || QFile::remove(path))
            return true;
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot remove %1")
                         .arg(QDir::toNativeSeparators(path));
        return false;
    }
    if (!QDir().mkpath(autostartDirectory())) {
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot create %1")
                         .arg(QDir::toNativeSeparators(autostartDirectory()));
        return false;
    }
    QStringList exec {execArgument(m_programPath)};
    for (const QString &argument : m_arguments)
        exec.append(execArgument(argument));
    const QString entry = QStringLiteral("[Desktop Entry]\n"
                                         "Type=Application\n"
                                         "Name=Tollgate\n"
                                         "Comment=Local gateway for the Anthropic API\n"
                                         "Exec=%1\n"
                                         "Icon=tollgate\n"
                                         "Terminal=false\n"
                                         "X-GNOME-Autostart-enabled=true\n")
                              .arg(exec.join(QLatin1Char(' ')));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text) || file.write(entry.toUtf8()) < 0
        || !file.commit()) {
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot write %1: %2")
                         .arg(QDir::toNativeSeparators(path), file.errorString());
        return false;
    }
    return true;
}

} // namespace tollgate
