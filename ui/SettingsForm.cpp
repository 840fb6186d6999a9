#include "SettingsForm.h"

#include "config/GatewayConfig.h"
#include "usage/PriceTable.h"

#include <QDir>
#include <QFileInfo>
#include <QHostAddress>
#include <QUrl>

namespace tollgate {

namespace {
const QString kListen = QStringLiteral("listen");
const QString kPort = QStringLiteral("port");
const QString kUpstream = QStringLiteral("upstream");
const QString kDatabase = QStringLiteral("database");
const QString kRetentionDays = QStringLiteral("retention_days");
const QString kPricesFile = QStringLiteral("prices_file");
const QString kBillingTag = QStringLiteral("billing_tag");
const QString kPromptCache = QStringLiteral("prompt_cache");
const QString kInject = QStringLiteral("inject");
const QString kTtl = QStringLiteral("ttl");
const QString kTtlOneHour = QStringLiteral("1h");
const QString kTtlFiveMinutes = QStringLiteral("5m");
const QString kOff = QStringLiteral("off");
constexpr int kMaxPort = 65535;
constexpr int kMaxRetentionDays = 100'000; // ConfigFile's limit

QString textOf(const QJsonObject &settings, const QString &key, const QString &fallback)
{
    const QJsonValue value = settings.value(key);
    if (value.isUndefined() || value.isNull())
        return fallback;
    if (value.isDouble()) {
        const double number = value.toDouble();
        return number == double(qint64(number)) ? QString::number(qint64(number))
                                                : QString::number(number);
    }
    return value.toVariant().toString();
}

std::optional<int> wholeNumber(const QString &text, int min, int max)
{
    bool ok = false;
    const int number = text.trimmed().toInt(&ok);
    if (!ok || number < min || number > max)
        return std::nullopt;
    return number;
}

QString encoded(const QString &part)
{
    return QString::fromLatin1(QUrl::toPercentEncoding(part));
}

// The connection the fields describe, with the password field's value; nullopt and
// *error (which never holds the password) when the connection cannot be read.
std::optional<StoreConfig> postgresqlStore(const SettingsForm::Values &values, QString *error)
{
    std::optional<StoreConfig> store =
        StoreConfig::postgresql(values.postgresqlConnection.trimmed(), error);
    // A password typed into the connection itself counts when the password field is empty.
    if (store && !values.postgresqlPassword.isEmpty())
        store->password = values.postgresqlPassword;
    return store;
}

// The "database" setting for valid values.
QString databaseText(const SettingsForm::Values &values)
{
    switch (values.storage) {
    case SettingsForm::Storage::Off:
        return kOff;
    case SettingsForm::Storage::Sqlite:
        return values.sqlitePath.trimmed();
    case SettingsForm::Storage::Postgresql:
        break;
    }
    QString ignored;
    const std::optional<StoreConfig> store = postgresqlStore(values, &ignored);
    return store ? SettingsForm::postgresqlUrl(*store, true) : QString();
}

bool isDatabaseChanged(const SettingsForm::Values &loaded, const SettingsForm::Values &edited)
{
    if (loaded.storage != edited.storage)
        return true;
    switch (edited.storage) {
    case SettingsForm::Storage::Off:
        return false;
    case SettingsForm::Storage::Sqlite:
        return loaded.sqlitePath.trimmed() != edited.sqlitePath.trimmed();
    case SettingsForm::Storage::Postgresql:
        break;
    }
    return loaded.postgresqlConnection.trimmed() != edited.postgresqlConnection.trimmed()
        || loaded.postgresqlPassword != edited.postgresqlPassword;
}

// The "prompt_cache" object as ConfigFile reads it: both keys, so the file says what the
// gateway does without anyone knowing the defaults.
QJsonObject promptCacheJson(const SettingsForm::Values &values)
{
    return {{kInject, values.injectsCache},
            {kTtl, values.cacheTtl == CacheInjector::Ttl::OneHour ? kTtlOneHour : kTtlFiveMinutes}};
}

// An empty optional text removes its key, so the default applies again.
QJsonValue optionalText(const QString &text)
{
    const QString trimmed = text.trimmed();
    return trimmed.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(trimmed);
}
} // namespace

SettingsForm::SettingsForm(const QString &configPath, const QString &defaultDatabasePath)
    : m_configPath(configPath)
    , m_defaultDatabasePath(defaultDatabasePath)
    , m_loaded(fromSettings(QJsonObject(), defaultDatabasePath))
{
}

bool SettingsForm::load(QString *error)
{
    QJsonObject settings;
    if (!ConfigFile::read(m_configPath, &settings, error))
        return false;
    m_loaded = fromSettings(settings, m_defaultDatabasePath);
    return true;
}

SettingsForm::SaveResult SettingsForm::save(const Values &edited, Errors *errors, QString *error)
{
    m_lastChanges = {};
    *errors = validate(edited);
    if (!errors->isEmpty())
        return SaveResult::Invalid;
    const QJsonObject changed = changes(m_loaded, edited);
    if (changed.isEmpty())
        return SaveResult::Unchanged;
    if (!ConfigFile::save(m_configPath, changed, error))
        return SaveResult::Failed;
    m_lastChanges = changed;
    QString reloadError;
    if (!load(&reloadError))
        m_loaded = edited;
    return SaveResult::Written;
}

SettingsForm::Values SettingsForm::fromSettings(const QJsonObject &settings,
                                                const QString &defaultDatabasePath)
{
    const GatewayConfig defaults;
    Values values;
    values.listen = textOf(settings, kListen, defaults.listenAddress.toString());
    values.port = textOf(settings, kPort, QString::number(defaults.port));
    values.upstream = textOf(settings, kUpstream, defaults.upstream.toString());
    values.retentionDays =
        textOf(settings, kRetentionDays, QString::number(defaults.retentionDays));
    values.pricesFile = textOf(settings, kPricesFile, QString());
    values.billingTag = textOf(settings, kBillingTag, QString());
    values.sqlitePath = defaultDatabasePath;
    // ConfigFile refuses any other value, so a file that loads holds one of these.
    const QJsonObject promptCache = settings.value(kPromptCache).toObject();
    values.injectsCache = promptCache.value(kInject).toBool(defaults.cacheInjection.isEnabled);
    const QString ttl = promptCache.value(kTtl).toString();
    values.cacheTtl = ttl == kTtlOneHour ? CacheInjector::Ttl::OneHour
        : ttl == kTtlFiveMinutes         ? CacheInjector::Ttl::FiveMinutes
                                         : defaults.cacheInjection.ttl;

    const QString database = textOf(settings, kDatabase, QString()).trimmed();
    if (database == kOff) {
        values.storage = Storage::Off;
    } else if (StoreConfig::isPostgresqlString(database)) {
        values.storage = Storage::Postgresql;
        // A connection that cannot be read is not shown at all: its password could not be
        // told apart from the rest.
        if (const std::optional<StoreConfig> store = StoreConfig::postgresql(database)) {
            values.postgresqlConnection = postgresqlUrl(*store, false);
            values.postgresqlPassword = store->password;
        }
    } else if (!database.isEmpty()) {
        values.sqlitePath = database;
    }
    return values;
}

SettingsForm::Errors SettingsForm::validate(const Values &values)
{
    Errors errors;
    for (Field field : {Field::Listen, Field::Port, Field::Upstream, Field::SqlitePath,
                        Field::PostgresqlConnection, Field::RetentionDays, Field::PricesFile,
                        Field::BillingTag}) {
        const QString error = validateField(field, values);
        if (!error.isEmpty())
            errors.insert(field, error);
    }
    return errors;
}

QString SettingsForm::validateField(Field field, const Values &values)
{
    switch (field) {
    case Field::Listen: {
        QHostAddress address;
        if (!address.setAddress(values.listen.trimmed()))
            return tr("Enter an IP address, such as 127.0.0.1.");
        return {};
    }
    case Field::Port:
        if (!wholeNumber(values.port, 0, kMaxPort))
            return tr("Port must be 0–65535.");
        return {};
    case Field::Upstream: {
        const QUrl url(values.upstream.trimmed(), QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty()
            || (url.scheme() != QLatin1String("https") && url.scheme() != QLatin1String("http")))
            return tr("Enter an http:// or https:// address, such as https://api.anthropic.com.");
        return {};
    }
    case Field::SqlitePath: {
        if (values.storage != Storage::Sqlite)
            return {};
        const QString path = values.sqlitePath.trimmed();
        if (path.contains(QLatin1String("://")) || StoreConfig::isPostgresqlString(path))
            return tr("Enter a file path here; for a database server choose PostgreSQL.");
        if (path.isEmpty() || !QDir::isAbsolutePath(path))
            return tr("Enter the full path of the database file.");
        if (QFileInfo(path).isDir())
            return tr("%1 is a folder; enter the path of a file.").arg(path);
        return {};
    }
    case Field::PostgresqlConnection: {
        if (values.storage != Storage::Postgresql)
            return {};
        if (values.postgresqlConnection.trimmed().isEmpty())
            return tr("Enter a connection, such as postgresql://user@host:5432/tollgate.");
        QString error;
        if (!postgresqlStore(values, &error))
            return error;
        return {};
    }
    case Field::RetentionDays:
        if (!wholeNumber(values.retentionDays, 0, kMaxRetentionDays))
            return tr("Enter a number of days from 0 to %1 (0 keeps every request).")
                .arg(kMaxRetentionDays);
        return {};
    case Field::PricesFile: {
        const QString path = values.pricesFile.trimmed();
        if (path.isEmpty())
            return {};
        QJsonObject models;
        QString error;
        PriceTable prices = PriceTable::builtIn();
        if (!ConfigFile::readPricesFile(path, &models, &error)
            || !prices.applyOverrides(models, &error))
            return error;
        return {};
    }
    case Field::BillingTag:
        for (const QChar c : values.billingTag) {
            if (c.category() == QChar::Other_Control)
                return tr("The billing tag cannot contain control characters.");
        }
        return {};
    }
    return {};
}

QJsonObject SettingsForm::changes(const Values &loaded, const Values &edited)
{
    QJsonObject changed;
    const auto isChanged = [](const QString &before, const QString &after) {
        return before.trimmed() != after.trimmed();
    };
    if (isChanged(loaded.listen, edited.listen))
        changed.insert(kListen, edited.listen.trimmed());
    if (isChanged(loaded.port, edited.port))
        changed.insert(kPort, wholeNumber(edited.port, 0, kMaxPort).value_or(0));
    if (isChanged(loaded.upstream, edited.upstream))
        changed.insert(kUpstream, edited.upstream.trimmed());
    if (isDatabaseChanged(loaded, edited))
        changed.insert(kDatabase, databaseText(edited));
    if (isChanged(loaded.retentionDays, edited.retentionDays))
        changed.insert(kRetentionDays,
                       wholeNumber(edited.retentionDays, 0, kMaxRetentionDays).value_or(0));
    if (isChanged(loaded.pricesFile, edited.pricesFile))
        changed.insert(kPricesFile, optionalText(edited.pricesFile));
    if (isChanged(loaded.billingTag, edited.billingTag))
        changed.insert(kBillingTag, optionalText(edited.billingTag));
    if (loaded.injectsCache != edited.injectsCache || loaded.cacheTtl != edited.cacheTtl)
        changed.insert(kPromptCache, promptCacheJson(edited));
    return changed;
}

bool SettingsForm::needsRestart(const QJsonObject &changes)
{
    return changes.size() > (changesPromptCache(changes) ? 1 : 0);
}

bool SettingsForm::changesPromptCache(const QJsonObject &changes)
{
    return changes.contains(kPromptCache);
}

CacheInjector::Policy SettingsForm::promptCachePolicy(const Values &values)
{
    CacheInjector::Policy policy;
    policy.isEnabled = values.injectsCache;
    policy.ttl = values.cacheTtl;
    return policy;
}

QString SettingsForm::postgresqlUrl(const StoreConfig &store, bool withPassword)
{
    QString url = QStringLiteral("postgresql://");
    const bool hasPassword = withPassword && !store.password.isEmpty();
    if (!store.userName.isEmpty() || hasPassword) {
        url += encoded(store.userName);
        if (hasPassword)
            url += QLatin1Char(':') + encoded(store.password);
        url += QLatin1Char('@');
    }
    // An IPv6 address goes in brackets; anything else (a name, a socket directory) encoded.
    url += store.host.contains(QLatin1Char(':')) ? QLatin1Char('[') + store.host + QLatin1Char(']')
                                                 : encoded(store.host);
    if (store.port > 0)
        url += QLatin1Char(':') + QString::number(store.port);
    url += QLatin1Char('/') + encoded(store.databaseName);
    QStringList query;
    for (const auto &[keyword, value] : store.options)
        query.append(encoded(keyword) + QLatin1Char('=') + encoded(value));
    if (!query.isEmpty())
        url += QLatin1Char('?') + query.join(QLatin1Char('&'));
    return url;
}

} // namespace tollgate
