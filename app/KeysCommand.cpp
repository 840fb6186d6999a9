#include "KeysCommand.h"

#include "ConsoleText.h"
#include "config/ConfigFile.h"
#include "keys/KeyStore.h"
#include "keys/KeyTester.h"
#include "keys/SecretRedactor.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <algorithm>
#include <cstdio>
#include <optional>

#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <termios.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
constexpr qint64 kMaxKeyBytes = 4096;

// While it lives, a terminal on standard input does not echo what is typed (a key being
// pasted); nothing changes when standard input is a pipe or a file.
class HiddenInput
{
public:
    HiddenInput()
    {
#ifdef _WIN32
        m_console = GetStdHandle(STD_INPUT_HANDLE);
        m_isTerminal = _isatty(_fileno(stdin)) != 0 && GetConsoleMode(m_console, &m_saved);
        if (m_isTerminal)
            SetConsoleMode(m_console, m_saved & ~DWORD(ENABLE_ECHO_INPUT));
#else
        m_isTerminal = isatty(STDIN_FILENO) != 0 && tcgetattr(STDIN_FILENO, &m_saved) == 0;
        if (m_isTerminal) {
            termios quiet = m_saved;
            quiet.c_lflag &= ~tcflag_t(ECHO);
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
#endif
    }
    ~HiddenInput()
    {
        if (!m_isTerminal)
            return;
#ifdef _WIN32
        SetConsoleMode(m_console, m_saved);
#else
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &m_saved);
#endif
        std::fputc('\n', stderr); // the Enter that was not echoed
    }
    HiddenInput(const HiddenInput &) = delete;
    HiddenInput &operator=(const HiddenInput &) = delete;

    bool isTerminal() const
    {
        return m_isTerminal;
    }

private:
    bool m_isTerminal = false;
#ifdef _WIN32
    HANDLE m_console = nullptr;
    DWORD m_saved = 0;
#else
    termios m_saved = {};
#endif
};

// One line from standard input, without echo when it is a terminal.
QByteArray readSecret(const QString &alias)
{
    const HiddenInput hidden;
    if (hidden.isTerminal()) {
        std::fprintf(stderr,
                     "Paste the upstream key for \"%s\" and press Enter: ", qPrintable(alias));
        std::fflush(stderr);
    }
    QFile input;
    QByteArray line;
    if (input.open(stdin, QIODevice::ReadOnly))
        line = input.readLine(kMaxKeyBytes);
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

bool KeysCommand::assignProviderKeys(GatewayConfig *config, const QProcessEnvironment &environment)
{
    std::optional<KeyStore> store;
    for (Provider &provider : config->providers) {
        provider.keys.clear();
        for (const QString &alias : std::as_const(provider.keyAliases)) {
            const auto known =
                std::find_if(config->upstreamKeys.begin(), config->upstreamKeys.end(),
                             [&alias](const UpstreamKey &key) { return key.alias == alias; });
            if (known != config->upstreamKeys.end()) {
                provider.keys.append(*known);
                continue;
            }
            if (!store)
                store.emplace();
            QString error;
            const std::optional<QByteArray> secret =
                store->load(KeyStore::Kind::Upstream, alias, &error);
            if (!error.isEmpty()) {
                printError(error);
                return false;
            }
            if (!secret || secret->isEmpty()) {
                printError(QStringLiteral("the provider \"%1\" names the key \"%2\", which is "
                                          "neither in the keychain nor in the environment: add it "
                                          "with `tollgate keys add %2`")
                               .arg(provider.name, alias));
                continue;
            }
            provider.keys.append({alias, *secret});
        }
        if (!provider.keyVariable.isEmpty()) {
            const QByteArray secret = environment.value(provider.keyVariable).toUtf8().trimmed();
            if (secret.isEmpty())
                printError(QStringLiteral("the provider \"%1\" reads its key from $%2, which is "
                                          "not set")
                               .arg(provider.name, provider.keyVariable));
            else
                provider.keys.append({provider.keyVariable, secret});
        }
    }
    // An alias a provider names is that provider's alone.
    for (const Provider &provider : std::as_const(config->providers)) {
        config->upstreamKeys.removeIf([&provider](const UpstreamKey &key) {
            return provider.keyAliases.contains(key.alias);
        });
    }
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
    KeyTester tester;
    tester.setUpstream(cli.config.upstream, cli.config.upstreamCaFile);
    KeyTester::Result result;
    QEventLoop loop;
    QObject::connect(&tester, &KeyTester::finished, &loop, [&](const KeyTester::Result &answer) {
        result = answer;
        loop.quit();
    });
    tester.test(found->alias, found->secret);
    loop.exec();
    if (result.works()) {
        printOut(result.text());
        return 0;
    }
    if (result.verdict == KeyTester::Result::Verdict::Rejected) {
        printError(QStringLiteral("%1: replace it with `tollgate keys add %2`")
                       .arg(result.text(), found->alias));
        return 1;
    }
    printError(result.text());
    return 1;
}

} // namespace tollgate
