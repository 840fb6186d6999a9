#pragma once

#include "config/GatewayConfig.h"

#include <QString>
#include <QStringList>

namespace tollgate {

// The command line of the tollgate executable, turned into a GatewayConfig plus the
// app's own switches. Errors are reported, never guessed around.
struct CommandLine
{
    GatewayConfig config;
    bool isHeadless = false;
    bool isQuiet = false; // no line per request
    bool hasExplicitVirtualKey = false;
    QString virtualKeyFile;
    QString error; // non-empty when the arguments are wrong
    bool wantsHelp = false;
    bool wantsVersion = false;
    QString helpText;

    static CommandLine parse(const QStringList &arguments);
};

} // namespace tollgate
