#include "ClientSetup.h"

#include <algorithm>

namespace tollgate {

namespace {

// A POSIX shell word: bare when it has nothing the shell would expand or split, else in
// single quotes (inside which only the quote itself needs care).
QString posixWord(const QString &value)
{
    const bool isPlain = !value.isEmpty() && std::all_of(value.begin(), value.end(), [](QChar c) {
        return c.isLetterOrNumber() || QStringLiteral("-_./:@%+=,").contains(c);
    });
    if (isPlain)
        return value;
    QString quoted = value;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

QString assignment(ClientSetup::Shell shell, const char *name, const QString &value)
{
    const QString variable = QLatin1String(name);
    switch (shell) {
    case ClientSetup::Shell::PowerShell: {
        // Single quotes are literal in PowerShell: no $ or ` is expanded; ' is doubled.
        QString quoted = value;
        quoted.replace(QLatin1Char('\''), QLatin1String("''"));
        return QStringLiteral("$env:%1 = '%2'").arg(variable, quoted);
    }
    case ClientSetup::Shell::Cmd:
        // Quoting the whole assignment keeps & | < > literal and trailing spaces out.
        return QStringLiteral("set \"%1=%2\"").arg(variable, value);
    case ClientSetup::Shell::Posix:
        break;
    }
    return QStringLiteral("export %1=%2").arg(variable, posixWord(value));
}

} // namespace

ClientSetup::Shell ClientSetup::platformShell()
{
#ifdef Q_OS_WIN
    return Shell::PowerShell;
#else
    return Shell::Posix;
#endif
}

QString ClientSetup::shellName(Shell shell)
{
    switch (shell) {
    case Shell::PowerShell:
        return QStringLiteral("PowerShell");
    case Shell::Cmd:
        return QStringLiteral("Command Prompt");
    case Shell::Posix:
        break;
    }
    return QStringLiteral("bash, zsh, fish");
}

QString ClientSetup::lines(Shell shell, const QString &baseUrl, const QString &key)
{
    QString text = assignment(shell, "ANTHROPIC_BASE_URL", baseUrl);
    if (!key.isEmpty())
        text += QLatin1Char('\n') + assignment(shell, "ANTHROPIC_API_KEY", key);
    return text;
}

} // namespace tollgate
