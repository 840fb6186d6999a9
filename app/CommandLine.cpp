#include "CommandLine.h"

#include "config/ConfigFile.h"
#include "http/HostPolicy.h"
#include "keys/KeyStore.h"
#include "keys/UpstreamKeySources.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <algorithm>
#include <cmath>

namespace tollgate {

namespace {
// GatewayConfig::validate() refuses shorter virtual keys; the variable's check names the
// alias instead.
constexpr qsizetype kMinVirtualKeySize = 16;
// The settings file's ranges ("limits", "budget" of a virtual key), checked here first so
// the error names the option.
constexpr qint64 kMaxPerMinute = RateLimiter::kMaxPerMinute;
constexpr qint64 kMaxStreams = 100'000;
constexpr double kMaxUsd = 1e6;
constexpr double kPicoPerUsd = 1e12;

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

// A whole number from 0 to max: no minus, fraction or unit.
std::optional<qint64> parseCount(const QString &text, qint64 max)
{
    bool ok = false;
    const qint64 value = text.trimmed().toLongLong(&ok);
    if (!ok || value < 0 || value > max)
        return std::nullopt;
    return value;
}

// Dollars (and cents) from 0 to kMaxUsd, as pico-USD.
std::optional<qint64> parseUsd(const QString &text)
{
    bool ok = false;
    const double usd = text.trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(usd) || usd < 0 || usd > kMaxUsd)
        return std::nullopt;
    return qint64(std::llround(usd * kPicoPerUsd));
}

// The options of `vkeys add` and `vkeys set`: what a named virtual key may do.
struct VirtualKeyOptions
{
    QCommandLineOption tag {QStringLiteral("tag"),
                            QStringLiteral("vkeys add/set: billing tag of the key's requests "
                                           "(\"\" for none)."),
                            QStringLiteral("tag")};
    QCommandLineOption models {QStringLiteral("models"),
                               QStringLiteral("vkeys add/set: the models the key may use, "
                                              "comma-separated globs such as claude-haiku-* "
                                              "(\"\" for every model)."),
                               QStringLiteral("globs")};
    QCommandLineOption rpm {QStringLiteral("rpm"),
                            QStringLiteral("vkeys add/set: requests per minute (default %1; 0: "
                                           "no limit).")
                                .arg(RateLimiter::kDefaultRequestsPerMinute),
                            QStringLiteral("N")};
    QCommandLineOption itpm {QStringLiteral("itpm"),
                             QStringLiteral("vkeys add/set: input tokens per minute (default 0: "
                                            "no limit)."),
                             QStringLiteral("N")};
    QCommandLineOption otpm {QStringLiteral("otpm"),
                             QStringLiteral("vkeys add/set: output tokens per minute (default 0: "
                                            "no limit)."),
                             QStringLiteral("N")};
    QCommandLineOption streams {QStringLiteral("streams"),
                                QStringLiteral("vkeys add/set: requests in flight at once "
                                               "(default 0: no limit)."),
                                QStringLiteral("N")};
    QCommandLineOption dailyUsd {QStringLiteral("daily-usd"),
                                 QStringLiteral("vkeys add/set: spend cap per day in USD "
                                                "(default 0: no cap)."),
                                 QStringLiteral("USD")};
    QCommandLineOption monthlyUsd {QStringLiteral("monthly-usd"),
                                   QStringLiteral("vkeys add/set: spend cap per month in USD "
                                                  "(default 0: no cap)."),
                                   QStringLiteral("USD")};
    QCommandLineOption disabled {QStringLiteral("disabled"),
                                 QStringLiteral("vkeys add/set: refuse the key's requests (401) "
                                                "until it is enabled.")};
    QCommandLineOption enable {QStringLiteral("enable"),
                               QStringLiteral("vkeys set: accept the key's requests again.")};
    QCommandLineOption disable {QStringLiteral("disable"),
                                QStringLiteral("vkeys set: the same as --disabled.")};

    QList<QCommandLineOption> all() const
    {
        return {tag,      models,     rpm,      itpm,   otpm,   streams,
                dailyUsd, monthlyUsd, disabled, enable, disable};
    }

    bool isAnySet(const QCommandLineParser &parser) const
    {
        const QList<QCommandLineOption> options = all();
        return std::any_of(options.begin(), options.end(),
                           [&](const QCommandLineOption &o) { return parser.isSet(o); });
    }

    // Reads the options given into changes; returns what is wrong, or an empty string.
    QString read(const QCommandLineParser &parser, CommandLine::VirtualKeyChanges *changes) const
    {
        if (parser.isSet(tag)) {
            const QString value = parser.value(tag).trimmed();
            if (value.size() > 200)
                return QStringLiteral("--tag takes at most 200 characters");
            changes->billingTag = value;
        }
        if (parser.isSet(models)) {
            QStringList globs;
            const QString value = parser.value(models).trimmed();
            if (!value.isEmpty()) {
                for (const QString &glob : value.split(u',')) {
                    if (glob.trimmed().isEmpty())
                        return QStringLiteral("--models takes comma-separated model globs "
                                              "such as claude-haiku-*,claude-sonnet-* with "
                                              "none empty");
                    globs.append(glob.trimmed());
                }
            }
            changes->models = globs;
        }
        const struct
        {
            const QCommandLineOption &option;
            qint64 max;
            std::optional<qint64> *value;
        } counts[] = {{rpm, kMaxPerMinute, &changes->requestsPerMinute},
                      {itpm, kMaxPerMinute, &changes->inputTokensPerMinute},
                      {otpm, kMaxPerMinute, &changes->outputTokensPerMinute}};
        for (const auto &c : counts) {
            if (!parser.isSet(c.option))
                continue;
            *c.value = parseCount(parser.value(c.option), c.max);
            if (!*c.value)
                return QStringLiteral("--%1 must be a whole number from 0 (no limit) to %2")
                    .arg(c.option.names().first())
                    .arg(c.max);
        }
        if (parser.isSet(streams)) {
            const std::optional<qint64> value = parseCount(parser.value(streams), kMaxStreams);
            if (!value)
                return QStringLiteral("--streams must be a whole number from 0 (no limit) to %1")
                    .arg(kMaxStreams);
            changes->maxConcurrentStreams = int(*value);
        }
        const struct
        {
            const QCommandLineOption &option;
            std::optional<qint64> *value;
        } caps[] = {{dailyUsd, &changes->dailyPicoUsd}, {monthlyUsd, &changes->monthlyPicoUsd}};
        for (const auto &c : caps) {
            if (!parser.isSet(c.option))
                continue;
            *c.value = parseUsd(parser.value(c.option));
            if (!*c.value)
                return QStringLiteral("--%1 must be an amount in USD from 0 (no cap) to %2, "
                                      "e.g. 25 or 7.50")
                    .arg(c.option.names().first())
                    .arg(qint64(kMaxUsd));
        }
        const bool isDisabled = parser.isSet(disabled) || parser.isSet(disable);
        if (isDisabled && parser.isSet(enable))
            return QStringLiteral("--enable and --disable contradict each other");
        if (isDisabled || parser.isSet(enable))
            changes->isEnabled = !isDisabled;
        return QString();
    }
};

// TOLLGATE_VIRTUAL_KEYS: alias=secret pairs; errors name the entry and alias, never a secret.
QList<UpstreamKey> readEnvironmentVirtualKeys(const QProcessEnvironment &environment,
                                              QString *error)
{
    const QString variable(CommandLine::kVirtualKeysVariable);
    if (!environment.contains(variable))
        return {};
    QList<UpstreamKey> keys = UpstreamKeySources::parseList(
        environment.value(variable).toUtf8(), error, CommandLine::kVirtualKeysVariable);
    for (const UpstreamKey &key : keys) {
        if (key.secret.size() < kMinVirtualKeySize) {
            *error = QStringLiteral("%1: the secret of the virtual key %2 is shorter than %3 "
                                    "characters")
                         .arg(variable, KeyStore::quotedAlias(key.alias))
                         .arg(kMinVirtualKeySize);
            return {};
        }
    }
    return keys;
}

// `vkeys ACTION [ALIAS]`: the action and alias into result (enable and disable with their
// change), or an error; the number of positional arguments the action takes.
qsizetype parseVirtualKeysCommand(const QStringList &positional, CommandLine *result)
{
    result->keysAction = positional.value(1);
    static const QStringList withAlias = {QStringLiteral("add"),    QStringLiteral("remove"),
                                          QStringLiteral("rotate"), QStringLiteral("set"),
                                          QStringLiteral("enable"), QStringLiteral("disable")};
    if (result->keysAction == QLatin1String("list"))
        return 2;
    // enable and disable are set --enable and set --disable.
    if (result->keysAction == QLatin1String("enable"))
        result->virtualKeyChanges.isEnabled = true;
    else if (result->keysAction == QLatin1String("disable"))
        result->virtualKeyChanges.isEnabled = false;
    if (withAlias.contains(result->keysAction)) {
        result->keysAlias = positional.value(2);
        if (result->keysAlias.isEmpty())
            result->error = QStringLiteral("vkeys %1 needs an alias, e.g. vkeys %1 alice")
                                .arg(result->keysAction);
        return 3;
    }
    result->error = QStringLiteral("vkeys takes add ALIAS, list, remove ALIAS, rotate ALIAS, "
                                   "set ALIAS, enable ALIAS or disable ALIAS");
    return 2;
}

// The options of vkeys add and set, which belong to them alone; returns what is wrong.
QString readVirtualKeyOptions(const QCommandLineParser &parser, const VirtualKeyOptions &options,
                              const QCommandLineOption &billingTag, CommandLine *result)
{
    const bool isAdd = result->keysAction == QLatin1String("add");
    const bool isSet = result->keysAction == QLatin1String("set");
    if (result->command != CommandLine::Command::VirtualKeys || !(isAdd || isSet)) {
        if (options.isAnySet(parser))
            return QStringLiteral("--tag, --models, --rpm, --itpm, --otpm, --streams, "
                                  "--daily-usd, --monthly-usd, --disabled, --enable and "
                                  "--disable belong to the vkeys add and vkeys set commands");
        return QString();
    }
    if (parser.isSet(billingTag))
        return QStringLiteral("vkeys %1 takes --tag for the key's billing tag (--billing-tag "
                              "is the default key's)")
            .arg(result->keysAction);
    if (const QString problem = options.read(parser, &result->virtualKeyChanges);
        !problem.isEmpty())
        return problem;
    if (isSet && result->virtualKeyChanges.isEmpty())
        return QStringLiteral("vkeys set needs something to change: --tag, --models, --rpm, "
                              "--itpm, --otpm, --streams, --daily-usd, --monthly-usd, --enable "
                              "or --disable");
    return QString();
}
} // namespace

bool CommandLine::VirtualKeyChanges::isEmpty() const
{
    return !billingTag && !models && !requestsPerMinute && !inputTokensPerMinute
        && !outputTokensPerMinute && !maxConcurrentStreams && !dailyPicoUsd && !monthlyPicoUsd
        && !isEnabled;
}

CommandLine CommandLine::parse(const QStringList &arguments)
{
    CommandLine result;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Tollgate: a local gateway in front of the Anthropic API.\n\n"
                       "  tollgate [options]                    run the gateway\n"
                       "  tollgate report --since 7d --by day   print totals from the "
                       "request log\n"
                       "  tollgate export --since 7d --format csv|jsonl [--output FILE]\n"
                       "  tollgate keys add|list|remove|test [ALIAS]\n"
                       "                                        upstream API keys in the OS "
                       "keychain\n"
                       "  tollgate vkeys add|rotate ALIAS       make a virtual key for a "
                       "client; prints its secret once\n"
                       "  tollgate vkeys set ALIAS [--tag ...]  change its tag, models, "
                       "limits, budget\n"
                       "  tollgate vkeys list | remove|enable|disable ALIAS\n"
                       "  tollgate routes list | test MODEL     where requests for MODEL go\n\n"
                       "Environment:\n"
                       "  TOLLGATE_UPSTREAM_KEY=KEY             the upstream API key\n"
                       "  TOLLGATE_UPSTREAM_KEYS=alias=key,...  several upstream keys, pooled\n"
                       "  TOLLGATE_VIRTUAL_KEYS=alias=secret,...\n"
                       "                                        secrets of vkeys keys on a "
                       "server without a keychain"));
    parser.addPositionalArgument(
        QStringLiteral("command"),
        QStringLiteral("report, export, keys, vkeys or routes (default: run the gateway)."),
        QStringLiteral("[command]"));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("Run without a window (servers)."));
    const QCommandLineOption configOption(
        QStringLiteral("config"),
        QStringLiteral("Settings file (default %1).").arg(ConfigFile::defaultPath()),
        QStringLiteral("file"));
    const QCommandLineOption port(QStringLiteral("port"),
                                  QStringLiteral("Port to listen on (default 8787)."),
                                  QStringLiteral("port"));
    const QCommandLineOption listen(
        QStringLiteral("listen"),
        QStringLiteral("Address to listen on (default 127.0.0.1; an address "
                       "other machines reach needs --allow-remote)."),
        QStringLiteral("address"));
    const QCommandLineOption allowRemote(
        QStringLiteral("allow-remote"),
        QStringLiteral("Allow a --listen address other machines can reach (0.0.0.0, a LAN "
                       "address); every client then needs a virtual key."));
    const QCommandLineOption allowedHost(
        QStringLiteral("allowed-host"),
        QStringLiteral("A name clients reach a remote listener by, for the Host header check "
                       "(e.g. tollgate.example.com); may be repeated."),
        QStringLiteral("host"));
    const QCommandLineOption upstream(
        QStringLiteral("upstream"),
        QStringLiteral("Upstream base URL, may carry a path prefix (default "
                       "https://api.anthropic.com)."),
        QStringLiteral("url"));
    const QCommandLineOption database(
        QStringLiteral("database"),
        QStringLiteral("Request log: a SQLite file, a postgresql:// connection string, or "
                       "off (default %1).")
            .arg(ConfigFile::defaultDatabasePath()),
        QStringLiteral("location"));
    const QCommandLineOption retention(
        QStringLiteral("retention-days"),
        QStringLiteral("Remove request-log rows older than this (default 0: keep all)."),
        QStringLiteral("days"));
    const QCommandLineOption bodyLog(
        QStringLiteral("body-log-kib"),
        QStringLiteral("Also keep request and response bodies in the request log, keys "
                       "redacted, each up to this many KiB (default 0: no bodies)."),
        QStringLiteral("KiB"));
    const QCommandLineOption billingTag(
        QStringLiteral("billing-tag"),
        QStringLiteral("Billing tag of the virtual key (a request's x-tollgate-tag wins)."),
        QStringLiteral("tag"));
    const QCommandLineOption since(QStringLiteral("since"),
                                   QStringLiteral("report/export: from (7d, 24h, 2026-11-01; "
                                                  "default 7d)."),
                                   QStringLiteral("time"));
    const QCommandLineOption until(QStringLiteral("until"),
                                   QStringLiteral("report/export: up to (default now)."),
                                   QStringLiteral("time"));
    const QCommandLineOption by(QStringLiteral("by"),
                                QStringLiteral("report: day, model, tag, session, key, project "
                                               "or provider (default day)."),
                                QStringLiteral("grouping"));
    const QCommandLineOption format(QStringLiteral("format"),
                                    QStringLiteral("export: csv or jsonl (default csv)."),
                                    QStringLiteral("format"));
    const QCommandLineOption output(QStringLiteral("output"),
                                    QStringLiteral("export: file to write (default stdout)."),
                                    QStringLiteral("file"));
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
    const QCommandLineOption keyFile(
        QStringLiteral("key-file"),
        QStringLiteral("Upstream keys, one alias=key per line, in a file only you can read "
                       "(chmod 600); for servers without a keychain. TOLLGATE_UPSTREAM_KEYS "
                       "(alias=key,alias=key) and TOLLGATE_UPSTREAM_KEY do the same."),
        QStringLiteral("file"));
    const QCommandLineOption sessionAffinity(
        QStringLiteral("session-affinity"),
        QStringLiteral("Keep each Claude Code session on one upstream key while it is healthy "
                       "(the prompt cache is per organisation)."));
    const QCommandLineOption quiet(QStringLiteral("quiet"),
                                   QStringLiteral("Do not log a line per request."));
    parser.addOptions({headless,    configOption,    port,         listen,         allowRemote,
                       allowedHost, upstream,        upstreamCa,   virtualKey,     passthrough,
                       keyFile,     sessionAffinity, billingTag,   connectTimeout, firstByteTimeout,
                       idleTimeout, maxBody,         maxBatchBody, database,       retention,
                       bodyLog,     quiet,           since,        until,          by,
                       format,      output});
    const VirtualKeyOptions virtualKeyOptions;
    parser.addOptions(virtualKeyOptions.all());

    if (!parser.parse(arguments)) {
        result.error = parser.errorText();
        return result;
    }
    result.helpText = parser.helpText();
    result.wantsHelp = parser.isSet(helpOption);
    result.wantsVersion = parser.isSet(versionOption);
    if (result.wantsHelp || result.wantsVersion)
        return result; // even with a broken settings file
    const QStringList positional = parser.positionalArguments();
    if (!positional.isEmpty()) {
        qsizetype expected = 1;
        if (positional.first() == QLatin1String("report")) {
            result.command = Command::Report;
        } else if (positional.first() == QLatin1String("export")) {
            result.command = Command::Export;
        } else if (positional.first() == QLatin1String("keys")) {
            result.command = Command::Keys;
            result.keysAction = positional.value(1);
            static const QStringList withAlias = {QStringLiteral("add"), QStringLiteral("remove"),
                                                  QStringLiteral("test")};
            if (result.keysAction == QLatin1String("list")) {
                expected = 2;
            } else if (withAlias.contains(result.keysAction)) {
                expected = 3;
                result.keysAlias = positional.value(2);
                if (result.keysAlias.isEmpty())
                    result.error = QStringLiteral("keys %1 needs an alias, e.g. keys %1 work")
                                       .arg(result.keysAction);
            } else {
                result.error = QStringLiteral("keys takes add ALIAS, list, remove ALIAS or "
                                              "test ALIAS (the key itself is read from "
                                              "standard input, never from the command line)");
            }
        } else if (positional.first() == QLatin1String("vkeys")) {
            result.command = Command::VirtualKeys;
            expected = parseVirtualKeysCommand(positional, &result);
        } else if (positional.first() == QLatin1String("routes")) {
            result.command = Command::Routes;
            result.keysAction = positional.value(1);
            if (result.keysAction == QLatin1String("list")) {
                expected = 2;
            } else if (result.keysAction == QLatin1String("test")) {
                expected = 3;
                result.keysAlias = positional.value(2);
                if (result.keysAlias.isEmpty())
                    result.error = QStringLiteral("routes test needs a model, e.g. routes test "
                                                  "claude-sonnet-4-6");
            } else {
                result.error = QStringLiteral("routes takes list or test MODEL");
            }
        } else {
            result.error = QStringLiteral("unknown command: %1").arg(positional.first());
        }
        if (result.error.isEmpty() && positional.size() > expected) {
            // Never echo it: it may be a key pasted where it does not belong.
            if (result.command == Command::Keys)
                result.error = QStringLiteral("too many arguments: keys %1 reads the key from "
                                              "standard input, never from the command line")
                                   .arg(result.keysAction);
            else if (result.command == Command::VirtualKeys)
                result.error = QStringLiteral("too many arguments: vkeys %1 takes %2")
                                   .arg(result.keysAction,
                                        expected == 2 ? QStringLiteral("no alias")
                                                      : QStringLiteral("one alias (Tollgate "
                                                                       "makes the secret itself)"));
            else
                result.error =
                    QStringLiteral("unexpected argument: %1").arg(positional.at(expected));
        }
        if (!result.error.isEmpty())
            return result;
    }
    result.isHeadless = parser.isSet(headless);
    result.isQuiet = parser.isSet(quiet);

    // Defaults, then the settings file, then the command line.
    GatewayConfig &config = result.config;
    config.store = StoreConfig::sqlite(ConfigFile::defaultDatabasePath());
    result.configFile =
        parser.isSet(configOption) ? parser.value(configOption) : ConfigFile::defaultPath();
    if (!ConfigFile::load(result.configFile, parser.isSet(configOption), &config, &result.error))
        return result;

    bool ok = false;
    if (parser.isSet(port)) {
        const uint portValue = parser.value(port).toUInt(&ok);
        if (!ok || portValue > 65535) {
            result.error = QStringLiteral("--port must be a number from 0 to 65535");
            return result;
        }
        config.port = quint16(portValue);
    }
    if (parser.isSet(listen) && !config.listenAddress.setAddress(parser.value(listen))) {
        result.error = QStringLiteral("--listen must be an IP address, e.g. 127.0.0.1 or 0.0.0.0");
        return result;
    }
    if (parser.isSet(allowRemote))
        config.allowRemote = true;
    for (const QString &host : parser.values(allowedHost)) {
        if (const QString problem = HostPolicy::entryProblem(host); !problem.isEmpty()) {
            result.error = QStringLiteral("--allowed-host: %1").arg(problem);
            return result;
        }
        config.allowedHosts.append(host);
    }
    if (parser.isSet(upstream))
        config.upstream = QUrl(parser.value(upstream), QUrl::StrictMode);
    if (parser.isSet(database)) {
        QString problem;
        if (!ConfigFile::parseDatabase(parser.value(database), &config.store, &problem)) {
            result.error = QStringLiteral("--database: %1").arg(problem);
            return result;
        }
    }
    if (parser.isSet(retention)) {
        const int days = parser.value(retention).toInt(&ok);
        if (!ok || days < 0) {
            result.error =
                QStringLiteral("--retention-days must be a number of days (0: keep all)");
            return result;
        }
        config.retentionDays = days;
    }
    if (parser.isSet(bodyLog)) {
        const int kib = parser.value(bodyLog).toInt(&ok);
        if (!ok || kib < 0 || kib > 1024 * 1024) {
            result.error = QStringLiteral("--body-log-kib must be a number of KiB (0: no bodies)");
            return result;
        }
        config.bodyLogCapBytes = qint64(kib) * 1024;
    }
    if (parser.isSet(billingTag))
        config.billingTag = parser.value(billingTag);
    if (parser.isSet(upstreamCa))
        config.upstreamCaFile = parser.value(upstreamCa);
    if (parser.isSet(passthrough))
        config.passthroughAuth = true;
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
    // Upstream keys: a key file, else the environment; never on the command line, where
    // every user of the machine can read them.
    QString keyError;
    config.upstreamKey.clear();
    config.upstreamKeys = parser.isSet(keyFile)
        ? UpstreamKeySources::readFile(parser.value(keyFile), &keyError)
        : UpstreamKeySources::fromEnvironment(QProcessEnvironment::systemEnvironment(), &keyError);
    if (!keyError.isEmpty()) {
        result.error = keyError;
        return result;
    }
    result.environmentVirtualKeys =
        readEnvironmentVirtualKeys(QProcessEnvironment::systemEnvironment(), &keyError);
    if (!keyError.isEmpty()) {
        result.error = keyError;
        return result;
    }
    if (parser.isSet(sessionAffinity))
        config.sessionAffinity = true;

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    result.sinceMs =
        parseTime(parser.isSet(since) ? parser.value(since) : QStringLiteral("7d"), now);
    result.untilMs = parser.isSet(until) ? parseTime(parser.value(until), now) : now + 1;
    if (result.sinceMs < 0 || result.untilMs < 0) {
        result.error = QStringLiteral("--since and --until take 7d, 24h, 30m, 2w, a date such "
                                      "as 2026-11-01 or an ISO date-time");
        return result;
    }
    if (parser.isSet(by))
        result.groupBy = parser.value(by);
    static const QStringList groupings = {QStringLiteral("day"),     QStringLiteral("model"),
                                          QStringLiteral("tag"),     QStringLiteral("session"),
                                          QStringLiteral("key"),     QStringLiteral("project"),
                                          QStringLiteral("provider")};
    if (!groupings.contains(result.groupBy)) {
        result.error = QStringLiteral("--by must be one of: %1").arg(groupings.join(u", "));
        return result;
    }
    if (parser.isSet(format))
        result.format = parser.value(format);
    if (result.format != QLatin1String("csv") && result.format != QLatin1String("jsonl")) {
        result.error = QStringLiteral("--format must be csv or jsonl");
        return result;
    }
    result.outputFile = parser.value(output);
    if (result.command == Command::Serve
        && (parser.isSet(since) || parser.isSet(until) || parser.isSet(by) || parser.isSet(format)
            || parser.isSet(output))) {
        result.error = QStringLiteral("--since, --until, --by, --format and --output belong to "
                                      "the report and export commands");
        return result;
    }
    result.error = readVirtualKeyOptions(parser, virtualKeyOptions, billingTag, &result);
    // A server says so before it starts; the window shows the same refusal when the gateway
    // does not start.
    if (result.error.isEmpty() && result.command == Command::Serve && result.isHeadless)
        result.error = config.exposureProblem();
    return result;
}

qint64 CommandLine::parseTime(const QString &text, qint64 nowMs)
{
    static const QRegularExpression relative(QStringLiteral("^(\\d{1,6})([mhdw])$"));
    const QRegularExpressionMatch match = relative.match(text.trimmed());
    if (match.hasMatch()) {
        const qint64 count = match.captured(1).toLongLong();
        const QChar unit = match.captured(2).at(0);
        const qint64 unitMs = unit == u'm' ? 60'000
            : unit == u'h'                 ? 3'600'000
            : unit == u'd'                 ? 86'400'000
                                           : 7 * 86'400'000LL;
        return nowMs - count * unitMs;
    }
    const QDate date = QDate::fromString(text.trimmed(), Qt::ISODate);
    if (date.isValid())
        return date.startOfDay().toMSecsSinceEpoch(); // the user's local midnight
    const QDateTime time = QDateTime::fromString(text.trimmed(), Qt::ISODateWithMs);
    return time.isValid() ? time.toMSecsSinceEpoch() : -1;
}

} // namespace tollgate
