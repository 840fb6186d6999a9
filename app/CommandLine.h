#pragma once

#include "config/GatewayConfig.h"

#include <QString>
#include <QStringList>
#include <optional>

namespace tollgate {

// The command line of the tollgate executable, turned into a GatewayConfig plus the
// app's own switches. Errors are reported, never guessed around.
struct CommandLine
{
    enum class Command { Serve, Report, Export, Keys, VirtualKeys, Routes };
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

    // keys add|list|remove|test [ALIAS], vkeys add|list|remove|rotate|set [ALIAS] and
    // routes list|test [MODEL] (the model in keysAlias)
    QString keysAction;
    QString keysAlias;

    // What vkeys add and vkeys set give a virtual key; an unset field leaves it as it is.
    struct VirtualKeyChanges
    {
        std::optional<QString> billingTag; // empty: no tag
        std::optional<QStringList> models; // empty: every model
        std::optional<qint64> requestsPerMinute; // 0: no limit, as for the others
        std::optional<qint64> inputTokensPerMinute;
        std::optional<qint64> outputTokensPerMinute;
        std::optional<int> maxConcurrentStreams;
        std::optional<qint64> dailyPicoUsd; // 0: no cap
        std::optional<qint64> monthlyPicoUsd;
        std::optional<bool> isEnabled;

        bool isEmpty() const;
    };
    VirtualKeyChanges virtualKeyChanges;

    // Secrets of named virtual keys from TOLLGATE_VIRTUAL_KEYS (alias=secret pairs), for a
    // server without a keychain; they come before the keychain's.
    QList<UpstreamKey> environmentVirtualKeys;
    static constexpr QLatin1StringView kVirtualKeysVariable {"TOLLGATE_VIRTUAL_KEYS"};

    // "7d", "24h", "30m", "2w", a date (local midnight) or an ISO date-time; relative
    // to nowMs. Returns -1 when the text is none of these.
    static qint64 parseTime(const QString &text, qint64 nowMs);

    static CommandLine parse(const QStringList &arguments);
};

} // namespace tollgate
