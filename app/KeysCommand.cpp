#include "KeysCommand.h"

#include "config/ConfigFile.h"
#include "keys/KeyStore.h"
#include "keys/SecretRedactor.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSslConfiguration>
#include <QTimer>
#include <cstdio>

#ifndef _WIN32
#include <termios.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
constexpr qint64 kMaxKeyBytes = 4096;
constexpr int kTestTimeoutMs = 30'000;

void printError(const QString &text)
{
    std::fprintf(stderr, "tollgate: %s\n", qPrintable(text));
}

void printOut(const QString &text)
{
    std::fprintf(stdout, "%s\n", qPrintable(text));
}

// One line from standard input, without echo when it is a terminal.
QByteArray readSecret(const QString &alias)
{
#ifndef _WIN32
    const bool isTerminal = isatty(STDIN_FILENO) != 0;
    termios saved = {};
    if (isTerminal) {
        std::fprintf(stderr,
                     "Paste the upstream key for \"%s\" and press Enter: ", qPrintable(alias));
        std::fflush(stderr);
        tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
#endif
    QFile input;
    QByteArray line;
    if (input.open(stdin, QIODevice::ReadOnly))
        line = input.readLine(kMaxKeyBytes);
#ifndef _WIN32
    if (isTerminal) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::fputc('\n', stderr);
    }
#endif
    return line.trimmed();
}

// The settings' keychain aliases with their secrets (empty for an alias the keychain
// lacks); nullopt, after saying why, when the keychain cannot be read. No alias, no
// keychain access: a server without entries never talks to one.
std::optional<QList<UpstreamKey>> keychainKeys(const GatewayConfig &config)
{
    QList<UpstreamKey> keys;
    if (config.keychainKeys.isEmpty())
        return keys;
    KeyStore store;
    for (const QString &alias : config.keychainKeys) {
        QString error;
        const std::optional<QByteArray> secret =
            store.load(KeyStore::Kind::Upstream, alias, &error);
        if (!error.isEmpty()) {
            printError(error);
            return std::nullopt;
        }
        keys.append({alias, secret.value_or(QByteArray())});
    }
    return keys;
}

// Every upstream key the settings and the environment give, by alias.
std::optional<QList<UpstreamKey>> knownKeys(const CommandLine &cli)
{
    std::optional<QList<UpstreamKey>> keys = keychainKeys(cli.config);
    if (keys)
        keys->append(cli.config.allUpstreamKeys());
    return keys;
}
} // namespace

int KeysCommand::run(const CommandLine &cli)
{
    if (cli.keysAction == QLatin1String("add"))
        return add(cli);
    if (cli.keysAction == QLatin1String("list"))
        return list(cli);
    if (cli.keysAction == QLatin1String("remove"))
        return remove(cli);
    return test(cli);
}

bool KeysCommand::loadKeychainKeys(GatewayConfig *config)
{
    const std::optional<QList<UpstreamKey>> stored = keychainKeys(*config);
    if (!stored)
        return false;
    QList<UpstreamKey> keys;
    for (const UpstreamKey &key : *stored) {
        if (key.secret.isEmpty()) {
            printError(QStringLiteral("the settings list the upstream key \"%1\" but the keychain "
                                      "has no such entry: add it with `tollgate keys add %1`")
                           .arg(key.alias));
            continue;
        }
        keys.append(key);
    }
    config->upstreamKeys = keys + config->upstreamKeys;
    return true;
}

bool KeysCommand::saveAliases(const CommandLine &cli, const QStringList &aliases)
{
    QString error;
    const QJsonObject changes = {
        {QStringLiteral("upstream_keys"),
         aliases.isEmpty() ? QJsonValue() : QJsonValue(QJsonArray::fromStringList(aliases))}};
    if (ConfigFile::save(cli.configFile, changes, &error))
        return true;
    printError(error);
    return false;
}

int KeysCommand::add(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    if (const QString problem = KeyStore::aliasProblem(alias); !problem.isEmpty()) {
        printError(problem);
        return 2;
    }
    const QByteArray secret = readSecret(alias);
    if (secret.isEmpty()) {
        printError(QStringLiteral("no key on standard input (try: printf %s \"$KEY\" | tollgate "
                                  "keys add %1)")
                       .arg(alias));
        return 2;
    }
    if (std::any_of(secret.begin(), secret.end(), [](char c) { return c <= ' ' || c > '~'; })) {
        printError(QStringLiteral("that is not an API key: it has spaces or characters outside "
                                  "printable ASCII"));
        return 2;
    }
    KeyStore store;
    QString error;
    if (!store.store(KeyStore::Kind::Upstream, alias, secret, &error)) {
        printError(error);
        return 1;
    }
    QStringList aliases = cli.config.keychainKeys;
    if (!aliases.contains(alias))
        aliases.append(alias);
    if (!saveAliases(cli, aliases))
        return 1;
    printOut(QStringLiteral("stored the upstream key \"%1\" (%2) in the keychain; Tollgate "
                            "uses it from its next start")
                 .arg(alias, QString::fromUtf8(SecretRedactor::mask(secret))));
    return 0;
}

int KeysCommand::list(const CommandLine &cli)
{
    const std::optional<QList<UpstreamKey>> known = knownKeys(cli);
    if (!known)
        return 1;
    const QList<UpstreamKey> &keys = *known;
    if (keys.isEmpty()) {
        printOut(QStringLiteral("no upstream keys: add one with `tollgate keys add ALIAS`"));
        return 0;
    }
    const qsizetype keychainCount = cli.config.keychainKeys.size();
    printOut(QStringLiteral("%1 %2 %3 %4")
                 .arg(QStringLiteral("alias"), -20)
                 .arg(QStringLiteral("provider"), -10)
                 .arg(QStringLiteral("key"), -24)
                 .arg(QStringLiteral("source")));
    for (qsizetype i = 0; i < keys.size(); ++i) {
        const UpstreamKey &key = keys.at(i);
        const QString masked = key.secret.isEmpty()
            ? QStringLiteral("(missing)")
            : QString::fromUtf8(SecretRedactor::mask(key.secret));
        const QString source = i < keychainCount
            ? (key.secret.isEmpty() ? QStringLiteral("keychain: no entry, add it again")
                                    : QStringLiteral("keychain"))
            : QStringLiteral("environment or key file");
        printOut(QStringLiteral("%1 %2 %3 %4")
                     .arg(key.alias, -20)
                     .arg(QStringLiteral("anthropic"), -10)
                     .arg(masked, -24)
                     .arg(source));
    }
    return 0;
}

int KeysCommand::remove(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    if (!cli.config.keychainKeys.contains(alias)) {
        printError(QStringLiteral("no upstream key %1 in the keychain (`tollgate keys list` "
                                  "shows them)")
                       .arg(KeyStore::quotedAlias(alias)));
        return 1;
    }
    KeyStore store;
    QString error;
    if (!store.remove(KeyStore::Kind::Upstream, alias, &error)) {
        printError(error);
        return 1;
    }
    QStringList aliases = cli.config.keychainKeys;
    aliases.removeAll(alias);
    if (!saveAliases(cli, aliases))
        return 1;
    printOut(QStringLiteral("removed the upstream key \"%1\"").arg(alias));
    return 0;
}

int KeysCommand::test(const CommandLine &cli)
{
    const std::optional<QList<UpstreamKey>> known = knownKeys(cli);
    if (!known)
        return 1;
    const QList<UpstreamKey> &keys = *known;
    const auto found = std::find_if(keys.begin(), keys.end(), [&](const UpstreamKey &key) {
        return key.alias == cli.keysAlias;
    });
    if (found == keys.end() || found->secret.isEmpty()) {
        printError(QStringLiteral("no upstream key %1 (`tollgate keys list` shows them)")
                       .arg(KeyStore::quotedAlias(cli.keysAlias)));
        return 1;
    }
    // The cheapest authenticated call: count_tokens is free and bills nothing.
    QUrl url = cli.config.upstream;
    QString path = url.path();
    if (path.endsWith(u'/'))
        path.chop(1);
    url.setPath(path + QStringLiteral("/v1/messages/count_tokens"));
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    request.setRawHeader("x-api-key", found->secret);
    request.setRawHeader("anthropic-version", "2023-06-01");
    request.setTransferTimeout(kTestTimeoutMs);
    if (!cli.config.upstreamCaFile.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.addCaCertificates(cli.config.upstreamCaFile);
        request.setSslConfiguration(tls);
    }
    QNetworkAccessManager network;
    QNetworkReply *reply =
        network.post(request,
                     QByteArrayLiteral(R"({"model":"claude-haiku-4-5","messages":[{"role":"user",)"
                                       R"("content":"ping"}]})"));
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray body = reply->readAll();
    const QString quoted = KeyStore::quotedAlias(found->alias);
    if (status == 0) {
        printError(QStringLiteral("cannot reach %1 to test %2: %3")
                       .arg(url.host(), quoted, reply->errorString()));
        delete reply;
        return 1;
    }
    delete reply;
    const QJsonObject errorObject =
        QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    const QString message = errorObject.value(QLatin1String("message")).toString();
    if (status == 200) {
        printOut(QStringLiteral("%1 works: %2 accepted it (count_tokens answered 200)")
                     .arg(quoted, url.host()));
        return 0;
    }
    if (status == 401 || status == 403) {
        printError(QStringLiteral("%1 was rejected by %2 (%3%4): replace it with `tollgate keys "
                                  "add %5`")
                       .arg(quoted, url.host())
                       .arg(status)
                       .arg(message.isEmpty() ? QString() : QStringLiteral(", ") + message)
                       .arg(found->alias));
        return 1;
    }
    printError(QStringLiteral("%1: %2 answered %3%4")
                   .arg(quoted, url.host())
                   .arg(status)
                   .arg(message.isEmpty() ? QString() : QStringLiteral(" (") + message + u')'));
    return 1;
}

} // namespace tollgate
