#include "VirtualKeysCommand.h"

#include "ConsoleText.h"
#include "config/ClientSetup.h"
#include "config/ConfigFile.h"
#include "keys/KeyStore.h"
#include "keys/SecretRedactor.h"
#include "keys/SpendTracker.h"
#include "keys/VirtualKeyFile.h"
#include "store/LedgerStore.h"

#include <QDateTime>
#include <QFileInfo>
#include <QHash>
#include <algorithm>
#include <cstdio>
#include <limits>

namespace tollgate {

namespace {
constexpr double kPicoPerUsd = 1e12;

QString quoted(const QString &alias)
{
    return KeyStore::quotedAlias(alias);
}

qsizetype indexOf(const QList<VirtualKey> &keys, const QString &alias)
{
    const auto found = std::find_if(keys.begin(), keys.end(),
                                    [&](const VirtualKey &key) { return key.alias == alias; });
    return found == keys.end() ? -1 : qsizetype(found - keys.begin());
}

bool isGivenBy(const QList<UpstreamKey> &fromEnvironment, const QString &alias)
{
    return std::any_of(fromEnvironment.begin(), fromEnvironment.end(),
                       [&](const UpstreamKey &key) { return key.alias == alias; });
}

void applyChanges(const CommandLine::VirtualKeyChanges &changes, VirtualKey *key)
{
    key->billingTag = changes.billingTag.value_or(key->billingTag);
    key->models = changes.models.value_or(key->models);
    key->limits.requestsPerMinute =
        changes.requestsPerMinute.value_or(key->limits.requestsPerMinute);
    key->limits.inputTokensPerMinute =
        changes.inputTokensPerMinute.value_or(key->limits.inputTokensPerMinute);
    key->limits.outputTokensPerMinute =
        changes.outputTokensPerMinute.value_or(key->limits.outputTokensPerMinute);
    key->limits.maxConcurrentStreams =
        changes.maxConcurrentStreams.value_or(key->limits.maxConcurrentStreams);
    key->budget.dailyPicoUsd = changes.dailyPicoUsd.value_or(key->budget.dailyPicoUsd);
    key->budget.monthlyPicoUsd = changes.monthlyPicoUsd.value_or(key->budget.monthlyPicoUsd);
    key->isEnabled = changes.isEnabled.value_or(key->isEnabled);
}

QString usd(qint64 picoUsd, int decimals)
{
    return u'$' + QString::number(double(picoUsd) / kPicoPerUsd, 'f', decimals);
}

QString limitsText(const RateLimiter::Limits &limits)
{
    QStringList parts;
    if (limits.requestsPerMinute > 0)
        parts.append(QStringLiteral("%1 rpm").arg(limits.requestsPerMinute));
    if (limits.inputTokensPerMinute > 0)
        parts.append(QStringLiteral("%1 itpm").arg(limits.inputTokensPerMinute));
    if (limits.outputTokensPerMinute > 0)
        parts.append(QStringLiteral("%1 otpm").arg(limits.outputTokensPerMinute));
    if (limits.maxConcurrentStreams > 0)
        parts.append(QStringLiteral("%1 streams").arg(limits.maxConcurrentStreams));
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral(", "));
}

QString budgetText(const BudgetGuard::Caps &caps)
{
    QStringList parts;
    if (caps.dailyPicoUsd > 0)
        parts.append(usd(caps.dailyPicoUsd, 2) + QStringLiteral("/day"));
    if (caps.monthlyPicoUsd > 0)
        parts.append(usd(caps.monthlyPicoUsd, 2) + QStringLiteral("/month"));
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral(", "));
}

QString modelsText(const VirtualKey &key)
{
    return key.models.isEmpty() ? QStringLiteral("all") : key.models.join(u',');
}

// One line of what a key may do, for add and set.
QString describe(const VirtualKey &key)
{
    return QStringLiteral("tag %1, models %2, limits %3, budget %4%5")
        .arg(key.billingTag.isEmpty() ? QStringLiteral("none") : key.billingTag, modelsText(key),
             limitsText(key.limits), budgetText(key.budget),
             key.isEnabled ? QString() : QStringLiteral(", disabled"));
}

// The one time a secret is shown: alone on standard output, so that a script can take it
// (SECRET=$(tollgate vkeys add ci)); what to do with it on standard error.
void printSecretOnce(const CommandLine &cli, const QByteArray &secret, const QString &what)
{
    std::fprintf(stdout, "%s\n", secret.constData());
    std::fflush(stdout);
    std::fprintf(stderr,
                 "tollgate: %s\n"
                 "Its secret (%s) is the line printed on standard output. Copy it now: it is "
                 "not shown again. A client uses it with:\n"
                 "%s\n",
                 qPrintable(what), SecretRedactor::mask(secret).constData(),
                 qPrintable(QStringLiteral("    ")
                            + ClientSetup::lines(ClientSetup::platformShell(),
                                                 cli.config.clientBaseUrl(cli.config.port),
                                                 QStringLiteral("<that secret>"))
                                  .replace(u'\n', QStringLiteral("\n    "))));
}

// Where a key's secret came from, in the order of the start.
enum class Source { Environment, Keychain, Missing, Unreadable };
struct Secret
{
    QByteArray secret;
    Source source = Source::Missing;
};

// Each key's secret: the environment's, else the keychain's (an empty secret counts as
// none). The keychain is opened only for a key the environment does not give. When it
// cannot be read, *error says why and the keys from there on are Unreadable.
QList<Secret> findSecrets(const QList<VirtualKey> &keys, const QList<UpstreamKey> &fromEnvironment,
                          QString *error)
{
    QList<Secret> found;
    std::optional<KeyStore> store;
    for (const VirtualKey &key : keys) {
        const auto given =
            std::find_if(fromEnvironment.begin(), fromEnvironment.end(),
                         [&](const UpstreamKey &pair) { return pair.alias == key.alias; });
        if (given != fromEnvironment.end()) {
            found.append({given->secret, Source::Environment});
            continue;
        }
        if (!error->isEmpty()) {
            found.append({QByteArray(), Source::Unreadable});
            continue;
        }
        if (!store)
            store.emplace();
        const std::optional<QByteArray> secret =
            store->load(KeyStore::Kind::Virtual, key.alias, error);
        if (!error->isEmpty())
            found.append({QByteArray(), Source::Unreadable});
        else if (!secret || secret->isEmpty())
            found.append({QByteArray(), Source::Missing});
        else
            found.append({*secret, Source::Keychain});
    }
    return found;
}

QString serverHint()
{
    return QStringLiteral(" (on a server without a keychain, give the secrets of virtual keys "
                          "in %1=alias=secret,alias=secret)")
        .arg(CommandLine::kVirtualKeysVariable);
}

// Spend by virtual key alias in the current local day and month, from the request log.
struct Spend
{
    QHash<QString, qint64> dayPicoUsd;
    QHash<QString, qint64> monthPicoUsd;
    QString problem; // why there are no figures
};

Spend readSpend(const CommandLine &cli)
{
    Spend spend;
    if (!cli.config.store) {
        spend.problem = QStringLiteral("the request log is off (database: off)");
        return spend;
    }
    const StoreConfig &config = *cli.config.store;
    // A log that does not exist yet holds no spend; listing keys does not create one.
    if (config.backend == StoreConfig::Backend::Sqlite && !QFileInfo::exists(config.sqlitePath))
        return spend;
    LedgerStore store(config);
    QString error;
    if (!store.open(&error)) {
        spend.problem =
            QStringLiteral("cannot open the request log %1: %2").arg(config.displayName(), error);
        return spend;
    }
    const SpendTracker periods; // the user's time zone, as the budgets count
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const struct
    {
        qint64 fromMs;
        QHash<QString, qint64> *sums;
    } queries[] = {{periods.dayStartMs(now), &spend.dayPicoUsd},
                   {periods.monthStartMs(now), &spend.monthPicoUsd}};
    for (const auto &q : queries) {
        const QList<LedgerStore::Totals> rows =
            store.totals(q.fromMs, std::numeric_limits<qint64>::max(), LedgerStore::Grouping::Key,
                         0, -1, &error);
        if (!error.isEmpty()) {
            spend.problem = QStringLiteral("cannot read the request log %1: %2")
                                .arg(config.displayName(), error);
            return spend;
        }
        for (const LedgerStore::Totals &row : rows)
            q.sums->insert(row.key, row.costPicoUsd);
    }
    return spend;
}

QString secretText(const Secret &secret)
{
    switch (secret.source) {
    case Source::Environment:
        return QStringLiteral("%1 (%2)").arg(QString::fromUtf8(SecretRedactor::mask(secret.secret)),
                                             CommandLine::kVirtualKeysVariable);
    case Source::Keychain:
        return QString::fromUtf8(SecretRedactor::mask(secret.secret));
    case Source::Missing:
        return QStringLiteral("(missing)");
    case Source::Unreadable:
        break;
    }
    return QStringLiteral("(keychain unreadable)");
}

void printTable(const QList<QStringList> &rows)
{
    QList<qsizetype> widths(rows.first().size(), 0);
    for (const QStringList &row : rows) {
        for (qsizetype i = 0; i < row.size(); ++i)
            widths[i] = qMax(widths[i], row[i].size());
    }
    for (const QStringList &row : rows) {
        QString line;
        for (qsizetype i = 0; i < row.size(); ++i)
            line += row[i].leftJustified(widths[i]) + QStringLiteral("  ");
        printOut(line.trimmed());
    }
}
} // namespace

int VirtualKeysCommand::run(const CommandLine &cli)
{
    if (cli.keysAction == QLatin1String("list"))
        return list(cli);
    if (const int code = checkAlias(cli); code != 0)
        return code;
    if (cli.keysAction == QLatin1String("add"))
        return add(cli);
    if (cli.keysAction == QLatin1String("remove"))
        return remove(cli);
    if (cli.keysAction == QLatin1String("rotate"))
        return rotate(cli);
    return set(cli); // set, enable, disable
}

int VirtualKeysCommand::checkAlias(const CommandLine &cli)
{
    // An alias that can never name a key is a typo, or a secret pasted in its place: the
    // text does not quote it.
    if (const QString problem = VirtualKey::aliasProblem(cli.keysAlias); !problem.isEmpty()) {
        printError(problem);
        return 2;
    }
    if (cli.keysAction != QLatin1String("add")
        && indexOf(cli.config.namedVirtualKeys, cli.keysAlias) < 0) {
        printError(QStringLiteral("no virtual key \"%1\" (`tollgate vkeys list` shows them; "
                                  "`tollgate vkeys add %1` makes one)")
                       .arg(cli.keysAlias));
        return 1;
    }
    return 0;
}

bool VirtualKeysCommand::loadSecrets(GatewayConfig *config,
                                     const QList<UpstreamKey> &fromEnvironment)
{
    for (const UpstreamKey &given : fromEnvironment) {
        if (indexOf(config->namedVirtualKeys, given.alias) < 0) {
            printError(QStringLiteral("%1 gives a secret for the virtual key %2, which the "
                                      "settings file does not have: add it to \"virtual_keys\" "
                                      "there, or take it out of %1")
                           .arg(CommandLine::kVirtualKeysVariable, quoted(given.alias)));
            return false;
        }
    }
    QString error;
    const QList<Secret> found = findSecrets(config->namedVirtualKeys, fromEnvironment, &error);
    if (!error.isEmpty()) {
        printError(error + serverHint());
        return false;
    }
    QList<VirtualKey> keys;
    for (qsizetype i = 0; i < found.size(); ++i) {
        VirtualKey key = config->namedVirtualKeys.at(i);
        if (found.at(i).source == Source::Missing) {
            printError(QStringLiteral("the settings list the virtual key %1 but neither %2 nor "
                                      "the keychain has its secret, so it is left out: give it "
                                      "a new one with `tollgate vkeys rotate %3`")
                           .arg(quoted(key.alias), CommandLine::kVirtualKeysVariable, key.alias));
            continue;
        }
        key.secret = found.at(i).secret;
        keys.append(key);
    }
    config->namedVirtualKeys = keys;
    return true;
}

bool VirtualKeysCommand::saveKeys(const CommandLine &cli, const QList<VirtualKey> &keys)
{
    QString error;
    const QJsonObject changes = {
        {QStringLiteral("virtual_keys"),
         keys.isEmpty() ? QJsonValue() : QJsonValue(ConfigFile::virtualKeysJson(keys))}};
    if (ConfigFile::save(cli.configFile, changes, &error))
        return true;
    printError(error);
    return false;
}

int VirtualKeysCommand::add(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    if (indexOf(cli.config.namedVirtualKeys, alias) >= 0) {
        printError(QStringLiteral("there is a virtual key %1 already: `tollgate vkeys rotate %2` "
                                  "gives it a new secret, `tollgate vkeys set %2` changes what "
                                  "it may do")
                       .arg(quoted(alias), alias));
        return 1;
    }
    VirtualKey key;
    key.alias = alias;
    applyChanges(cli.virtualKeyChanges, &key);
    const QByteArray secret = VirtualKey::generateSecret();
    KeyStore store;
    QString error;
    if (!store.store(KeyStore::Kind::Virtual, alias, secret, &error)) {
        printError(error
                   + QStringLiteral(" (on a server without a keychain, write the key's entry "
                                    "into \"virtual_keys\" of the settings file and give its "
                                    "secret in %1)")
                         .arg(CommandLine::kVirtualKeysVariable));
        return 1;
    }
    if (!saveKeys(cli, cli.config.namedVirtualKeys + QList<VirtualKey> {key})) {
        // The keychain keeps no secret the settings do not name.
        QString ignored;
        store.remove(KeyStore::Kind::Virtual, alias, &ignored);
        return 1;
    }
    printSecretOnce(cli, secret,
                    QStringLiteral("made the virtual key %1 (%2); Tollgate accepts it from its "
                                   "next start")
                        .arg(quoted(alias), describe(key)));
    return 0;
}

int VirtualKeysCommand::list(const CommandLine &cli)
{
    const QList<VirtualKey> &keys = cli.config.namedVirtualKeys;
    if (keys.isEmpty()) {
        printOut(QStringLiteral("no virtual keys: make one with `tollgate vkeys add ALIAS` (the "
                                "default key in %1 is not one of them)")
                     .arg(VirtualKeyFile::defaultPath()));
        return 0;
    }
    QString keychainError;
    const QList<Secret> secrets = findSecrets(keys, cli.environmentVirtualKeys, &keychainError);
    if (!keychainError.isEmpty())
        printError(keychainError);
    const Spend spend = readSpend(cli);
    if (!spend.problem.isEmpty())
        printError(spend.problem + QStringLiteral("; spend not shown"));
    QList<QStringList> rows = {
        {QStringLiteral("alias"), QStringLiteral("tag"), QStringLiteral("models"),
         QStringLiteral("limits"), QStringLiteral("budget"), QStringLiteral("enabled"),
         QStringLiteral("key"), QStringLiteral("today"), QStringLiteral("this month")}};
    for (qsizetype i = 0; i < keys.size(); ++i) {
        const VirtualKey &key = keys.at(i);
        const auto spent = [&](const QHash<QString, qint64> &sums) {
            return spend.problem.isEmpty() ? usd(sums.value(key.alias), 4) : QStringLiteral("-");
        };
        rows.append({key.alias, key.billingTag.isEmpty() ? QStringLiteral("-") : key.billingTag,
                     modelsText(key), limitsText(key.limits), budgetText(key.budget),
                     key.isEnabled ? QStringLiteral("yes") : QStringLiteral("no"),
                     secretText(secrets.at(i)), spent(spend.dayPicoUsd),
                     spent(spend.monthPicoUsd)});
    }
    printTable(rows);
    return keychainError.isEmpty() ? 0 : 1;
}

int VirtualKeysCommand::remove(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    QList<VirtualKey> keys = cli.config.namedVirtualKeys;
    const qsizetype index = indexOf(keys, alias);
    KeyStore store;
    QString error;
    if (!store.remove(KeyStore::Kind::Virtual, alias, &error)) {
        printError(error);
        return 1;
    }
    keys.removeAt(index);
    if (!saveKeys(cli, keys))
        return 1;
    printOut(QStringLiteral("removed the virtual key %1: Tollgate refuses it from its next start")
                 .arg(quoted(alias)));
    if (isGivenBy(cli.environmentVirtualKeys, alias))
        printError(QStringLiteral("%1 still gives a secret for %2: take it out, or Tollgate "
                                  "will not start")
                       .arg(CommandLine::kVirtualKeysVariable, quoted(alias)));
    return 0;
}

int VirtualKeysCommand::rotate(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    const QByteArray secret = VirtualKey::generateSecret();
    KeyStore store;
    QString error;
    if (!store.store(KeyStore::Kind::Virtual, alias, secret, &error)) {
        printError(error);
        return 1;
    }
    printSecretOnce(cli, secret,
                    QStringLiteral("gave the virtual key %1 a new secret; the old one stops "
                                   "working when Tollgate next starts, and the new one works "
                                   "from then on")
                        .arg(quoted(alias)));
    if (isGivenBy(cli.environmentVirtualKeys, alias))
        printError(QStringLiteral("%1 gives %2 a secret of its own, which Tollgate uses before "
                                  "the keychain's: put the new secret there")
                       .arg(CommandLine::kVirtualKeysVariable, quoted(alias)));
    return 0;
}

int VirtualKeysCommand::set(const CommandLine &cli)
{
    const QString &alias = cli.keysAlias;
    QList<VirtualKey> keys = cli.config.namedVirtualKeys;
    const qsizetype index = indexOf(keys, alias);
    applyChanges(cli.virtualKeyChanges, &keys[index]);
    if (!saveKeys(cli, keys))
        return 1;
    printOut(QStringLiteral("changed the virtual key %1: %2; Tollgate applies it from its next "
                            "start")
                 .arg(quoted(alias), describe(keys.at(index))));
    return 0;
}

} // namespace tollgate
