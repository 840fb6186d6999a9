#pragma once

#include "config/GatewayConfig.h"

#include <QString>
#include <QStringList>

namespace tollgate {

// The command line of the tollgate executable, turned into a GatewayConfig plus the
// app's own switches. Errors are reported, never guessed around.
struct CommandLine
{
    enum class Command { Serve, Report, Export, Keys };
    Command command = Command::Serve;

    GatewayConfig config;
    QString configFile; // the settings file that was read (may not exist)
    bool isHeadless = false;
    bool isQuiet = false; // no line per request
    bool hasExplicitVirtualKey = false;
    QString virtualKeyFile;
    QString error; // non-empty when the arguments are wrong
    bool wantsHelp = false;
    bool wantsVersion = false;
    QString helpText;

    // report and export
    qint64 sinceMs = 0;
    qint64 untilMs = 0;
    QString groupBy = QStringLiteral("day"); // report --by
    QString format = QStringLiteral("csv"); // export --format
    QString outputFile; // export --output; empty: standard output

    // keys add|list|remove|test [ALIAS]
    QString keysAction;
    QString keysAlias;

    // "7d", "24h", "30m", "2w", a date (local midnight) or an ISO date-time; relative
    // to nowMs. Returns -1 when the text is none of these.
    static qint64 parseTime(const QString &text, qint64 nowMs);

    static CommandLine parse(const QStringList &arguments);
};

} // namespace tollgate
