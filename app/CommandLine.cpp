#include "CommandLine.h"

#include <QCommandLineParser>
#include <QProcessEnvironment>

namespace tollgate {

namespace {
bool parseSeconds(const QString &text, int *ms)
{
    bool ok = false;
    const double seconds = text.toDouble(&ok);
    if (!ok || seconds <= 0 || seconds > 86400)
        return false;
    *ms = int(seconds * 1000);
    return *ms > 0;
}

bool parseMiB(const QString &text, qint64 *bytes)
{
    bool ok = false;
    const double mib = text.toDouble(&ok);
    if (!ok || mib <= 0 || mib > 4096)
        return false;
    *bytes = qint64(mib * 1024 * 1024);
    return true;
}
} // namespace

CommandLine CommandLine::parse(const QStringList &arguments)
{
    CommandLine result;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Tollgate: a local gateway in front of the Anthropic API.\n"
                       "Environment: TOLLGATE_UPSTREAM_KEY holds the upstream API key."));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("Run without a window (servers)."));
    const QCommandLineOption port(QStringLiteral("port"),
                                  QStringLiteral("Port to listen on (default 8787)."),
                                  QStringLiteral("port"), QStringLiteral("8787"));
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("Address to listen on (default 127.0.0.1)."),
                                    QStringLiteral("address"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption upstream(
        QStringLiteral("upstream"),
        QStringLiteral("Upstream base URL, may carry a path prefix (default "
                       "https://api.anthropic.com)."),
        QStringLiteral("url"), QStringLiteral("https://api.anthropic.com"));
    const QCommandLineOption upstreamCa(
        QStringLiteral("upstream-ca"),
        QStringLiteral("PEM file of CA certificates to trust for the upstream's TLS "
                       "certificate, besides the system's."),
        QStringLiteral("file"));
    const QCommandLineOption virtualKey(
        QStringLiteral("virtual-key"),
        QStringLiteral("Key clients must present (default: generated once and kept in "
                       "the config directory)."),
        QStringLiteral("key"));
    const QCommandLineOption passthrough(
        QStringLiteral("passthrough-auth"),
        QStringLiteral("Forward a credential that is not a virtual key untouched (Claude "
                       "subscription logins)."));
    const QCommandLineOption connectTimeout(
        QStringLiteral("connect-timeout"), QStringLiteral("Upstream connect timeout (default 10)."),
        QStringLiteral("seconds"));
    const QCommandLineOption firstByteTimeout(
        QStringLiteral("first-byte-timeout"),
        QStringLiteral("Upstream time to first response byte (default 600)."),
        QStringLiteral("seconds"));
    const QCommandLineOption idleTimeout(
        QStringLiteral("idle-timeout"),
        QStringLiteral("Upstream silence allowed mid-response (default 360; Claude Code "
                       "itself gives up after 300)."),
        QStringLiteral("seconds"));
    const QCommandLineOption maxBody(QStringLiteral("max-body-mib"),
                                     QStringLiteral("Request body limit (default 32)."),
                                     QStringLiteral("MiB"));
    const QCommandLineOption maxBatchBody(
        QStringLiteral("max-batch-body-mib"),
        QStringLiteral("Request body limit on the batch endpoints (default 256)."),
        QStringLiteral("MiB"));
    const QCommandLineOption quiet(QStringLiteral("quiet"),
                                   QStringLiteral("Do not log a line per request."));
    parser.addOptions({headless, port, listen, upstream, upstreamCa, virtualKey, passthrough,
                       connectTimeout, firstByteTimeout, idleTimeout, maxBody, maxBatchBody,
                       quiet});

    if (!parser.parse(arguments)) {
        result.error = parser.errorText();
        return result;
    }
    result.helpText = parser.helpText();
    result.wantsHelp = parser.isSet(helpOption);
    result.wantsVersion = parser.isSet(versionOption);
    if (!parser.positionalArguments().isEmpty()) {
        result.error =
            QStringLiteral("unexpected argument: %1").arg(parser.positionalArguments().first());
        return result;
    }
    result.isHeadless = parser.isSet(headless);
    result.isQuiet = parser.isSet(quiet);

    GatewayConfig &config = result.config;
    bool ok = false;
    const uint portValue = parser.value(port).toUInt(&ok);
    if (!ok || portValue > 65535) {
        result.error = QStringLiteral("--port must be a number from 0 to 65535");
        return result;
    }
    config.port = quint16(portValue);
    if (!config.listenAddress.setAddress(parser.value(listen))) {
        result.error = QStringLiteral("--listen must be an IP address, e.g. 127.0.0.1 or 0.0.0.0");
        return result;
    }
    config.upstream = QUrl(parser.value(upstream), QUrl::StrictMode);
    config.upstreamCaFile = parser.value(upstreamCa);
    config.passthroughAuth = parser.isSet(passthrough);
    if (parser.isSet(virtualKey)) {
        config.virtualKeys = {parser.value(virtualKey).toUtf8()};
        result.hasExplicitVirtualKey = true;
    }
    const struct
    {
        const QCommandLineOption &option;
        int *ms;
    } timeouts[] = {{connectTimeout, &config.connectTimeoutMs},
                    {firstByteTimeout, &config.firstByteTimeoutMs},
                    {idleTimeout, &config.idleTimeoutMs}};
    for (const auto &t : timeouts) {
        if (parser.isSet(t.option) && !parseSeconds(parser.value(t.option), t.ms)) {
            result.error = QStringLiteral("--%1 must be a positive number of seconds")
                               .arg(t.option.names().first());
            return result;
        }
    }
    if (parser.isSet(maxBody) && !parseMiB(parser.value(maxBody), &config.maxBodyBytes)) {
        result.error = QStringLiteral("--max-body-mib must be a positive number");
        return result;
    }
    if (parser.isSet(maxBatchBody)
        && !parseMiB(parser.value(maxBatchBody), &config.maxBatchBodyBytes)) {
        result.error = QStringLiteral("--max-batch-body-mib must be a positive number");
        return result;
    }
    config.upstreamKey = qEnvironmentVariable("TOLLGATE_UPSTREAM_KEY").trimmed().toUtf8();
    return result;
}

} // namespace tollgate
