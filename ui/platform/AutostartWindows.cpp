#include "Autostart.h"

#include <QCoreApplication>
#include <QDir>
#include <QSettings>

namespace tollgate {

namespace {
const QString kRunKey =
    QStringLiteral("HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run");
const QString kValueName = QStringLiteral("Tollgate");

// A command line as Windows parses it (CommandLineToArgvW): quoted, with backslashes
// doubled only where they come before a quote.
QString quoteArgument(const QString &argument)
{
    QString quoted = QStringLiteral("\"");
    int backslashes = 0;
    for (const QChar c : argument) {
        if (c == u'\\') {
            ++backslashes;
            continue;
        }
        if (c == u'"') {
            quoted += QString(backslashes * 2 + 1, QLatin1Char('\\'));
        } else {
            quoted += QString(backslashes, QLatin1Char('\\'));
        }
        backslashes = 0;
        quoted += c;
    }
    quoted += QString(backslashes * 2, QLatin1Char('\\'));
    return quoted + QLatin1Char('"');
}
} // namespace

QString Autostart::location() const
{
    return kRunKey + QLatin1Char('\\') + kValueName;
}

bool Autostart::isEnabled() const
{
    QSettings run(kRunKey, QSettings::NativeFormat);
    return !run.value(kValueName).toString().isEmpty();
}

bool Autostart::setEnabled(bool enabled, QString *error)
{
    QSettings run(kRunKey, QSettings::NativeFormat);
    if (enabled) {
        QStringList command {quoteArgument(QDir::toNativeSeparators(m_programPath))};
        for (const QString &argument : m_arguments)
            command.append(quoteArgument(argument));
        run.setValue(kValueName, command.join(QLatin1Char(' ')));
    } else {
        run.remove(kValueName);
    }
    run.sync();
    if (run.status() != QSettings::NoError) {
        if (error)
            *error = QCoreApplication::translate("tollgate::Autostart", "Cannot write %1")
                         .arg(location());
        return false;
    }
    return true;
}

} // namespace tollgate
