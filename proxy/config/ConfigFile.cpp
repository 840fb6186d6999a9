#include "ConfigFile.h"

#include "PrivatePaths.h"
#include "http/HostPolicy.h"
#include "keys/KeyStore.h"
#include "routing/RouteTable.h"
#include "usage/PriceTable.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QSet>
#include <QStandardPaths>
#include <cmath>

namespace tollgate {

namespace {
constexpr double kPicoPerUsd = 1e12;

const QSet<QString> &knownKeys()
{
    static const QSet<QString> keys = {
        QStringLiteral("listen"),
        QStringLiteral("port"),
        QStringLiteral("allow_remote"),
        QStringLiteral("allowed_hosts"),
        QStringLiteral("upstream"),
        QStringLiteral("upstream_ca"),
        QStringLiteral("passthrough_auth"),
        QStringLiteral("billing_tag"),
        QStringLiteral("timeouts"),
        QStringLiteral("max_body_mib"),
        QStringLiteral("max_batch_body_mib"),
        QStringLiteral("database"),
        QStringLiteral("retention_days"),
        QStringLiteral("body_log_kib"),
        QStringLiteral("prices_file"),
        QStringLiteral("prices"),
        QStringLiteral("upstream_keys"),
        QStringLiteral("key_strategy"),
        QStringLiteral("session_affinity"),
        QStringLiteral("limits"),
        QStringLiteral("budget"),
        QStringLiteral("tag_budgets"),
        QStringLiteral("virtual_keys"),
        QStringLiteral("prompt_cache"),
        QStringLiteral("providers"),
        QStringLiteral("routes"),
        QStringLiteral("cors_origins"),
    };
    return keys;
}

// Reads a whole JSON object; source names it in errors.
bool parseObject(const QByteArray &json, const QString &source, QJsonObject *object, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = QStringLiteral("%1 is not valid JSON (at byte %2: %3)")
                     .arg(source)
                     .arg(parseError.offset)
                     .arg(parseError.errorString());
        return false;
    }
    if (!document.isObject()) {
        *error = QStringLiteral("%1 must hold a JSON object").arg(source);
        return false;
    }
    *object = document.object();
    return true;
}

// Reads typed values out of one JSON object, naming the key in every error.
class Reader
{
public:
    Reader(const QJsonObject &object, QString prefix, QString *error)
        : m_object(object)
        , m_prefix(std::move(prefix))
        , m_error(error)
    {
    }

    bool checkKeys(const QSet<QString> &known)
    {
        for (auto it = m_object.begin(); it != m_object.end(); ++it) {
            if (!known.contains(it.key()))
                return fail(it.key(), QStringLiteral("is not a known setting"));
        }
        return true;
    }

    bool string(const QString &key, QString *out)
    {
        const QJsonValue value = m_object.value(key);
        if (value.isUndefined())
            return true;
        if (!value.isString())
            return fail(key, QStringLiteral("must be a string"));
        *out = value.toString();
        return true;
    }

    bool boolean(const QString &key, bool *out)
    {
        const QJsonValue value = m_object.value(key);
        if (value.isUndefined())
            return true;
        if (!value.isBool())
            return fail(key, QStringLiteral("must be true or false"));
        *out = value.toBool();
        return true;
    }

    bool number(const QString &key, double min, double max, double *out)
    {
        const QJsonValue value = m_object.value(key);
        if (value.isUndefined())
            return true;
        if (!value.isDouble() || value.toDouble() < min || value.toDouble() > max)
            return fail(key, QStringLiteral("must be a number from %1 to %2").arg(min).arg(max));
        *out = value.toDouble();
        return true;
    }

    bool object(const QString &key, QJsonObject *out)
    {
        const QJsonValue value = m_object.value(key);
        if (value.isUndefined())
            return true;
        if (!value.isObject())
            return fail(key, QStringLiteral("must be an object"));
        *out = value.toObject();
        return true;
    }

    bool fail(const QString &key, const QString &what)
    {
        *m_error = QStringLiteral("\"%1%2\" %3").arg(m_prefix, key, what);
        return false;
    }

    // A reader of a nested object, reporting into the same error.
    Reader nested(const QJsonObject &object, const QString &key) const
    {
        return Reader(object, m_prefix + key + u'.', m_error);
    }

private:
    const QJsonObject &m_object;
    QString m_prefix;
    QString *m_error;
};

bool applyTimeouts(const QJsonObject &object, GatewayConfig *config, QString *error)
{
    Reader reader(object, QStringLiteral("timeouts."), error);
    if (!reader.checkKeys({QStringLiteral("connect"), QStringLiteral("first_byte"),
                           QStringLiteral("idle"), QStringLiteral("header"), QStringLiteral("body"),
                           QStringLiteral("keep_alive")}))
        return false;
    // The first three are the upstream's; the others are the client's: its request head,
    // its request body and its idle keep-alive connection.
    const struct
    {
        const char *key;
        int *ms;
    } fields[] = {
        {"connect", &config->connectTimeoutMs}, {"first_byte", &config->firstByteTimeoutMs},
        {"idle", &config->idleTimeoutMs},       {"header", &config->headerReadTimeoutMs},
        {"body", &config->bodyReadTimeoutMs},   {"keep_alive", &config->keepAliveTimeoutMs}};
    for (const auto &field : fields) {
        double seconds = *field.ms / 1000.0;
        if (!reader.number(QLatin1String(field.key), 0.001, 86400, &seconds))
            return false;
        *field.ms = int(seconds * 1000);
    }
    return true;
}

// The prices file's entries under the config's own "prices", merged field by field, so a
// config can correct one price of a model the shared file lists.
QJsonObject mergedPrices(QJsonObject fromFile, const QJsonObject &fromConfig)
{
    for (auto it = fromConfig.begin(); it != fromConfig.end(); ++it) {
        const QJsonValue base = fromFile.value(it.key());
        if (!base.isObject() || !it.value().isObject()) {
            fromFile.insert(it.key(), it.value());
            continue;
        }
        QJsonObject entry = base.toObject();
        const QJsonObject override = it.value().toObject();
        for (auto field = override.begin(); field != override.end(); ++field)
            entry.insert(field.key(), field.value());
        fromFile.insert(it.key(), entry);
    }
    return fromFile;
}

bool applyPrices(Reader &reader, const QJsonObject &root, GatewayConfig *config)
{
    QJsonObject inlinePrices;
    QString pricesFile;
    if (!reader.object(QStringLiteral("prices"), &inlinePrices)
        || !reader.string(QStringLiteral("prices_file"), &pricesFile))
        return false;
    QJsonObject filePrices;
    if (root.contains(QStringLiteral("prices_file"))) {
        QString fileError;
        if (!ConfigFile::readPricesFile(pricesFile, &filePrices, &fileError))
            return reader.fail(QStringLiteral("prices_file"), fileError);
        // Checked alone first, so that an error in the file names the file.
        PriceTable prices = PriceTable::builtIn();
        if (!prices.applyOverrides(filePrices, &fileError))
            return reader.fail(QStringLiteral("prices_file"),
                               QStringLiteral("%1: %2").arg(pricesFile, fileError));
    }
    if (!root.contains(QStringLiteral("prices_file")) && !root.contains(QStringLiteral("prices")))
        return true;
    const QJsonObject merged = mergedPrices(filePrices, inlinePrices);
    // Checked now, so a wrong price stops the start with the key's name.
    PriceTable prices = PriceTable::builtIn();
    QString priceError;
    if (!merged.isEmpty() && !prices.applyOverrides(merged, &priceError))
        return reader.fail(QStringLiteral("prices"), priceError);
    config->priceOverrides = merged;
    return true;
}
// A "limits" object: requests_per_minute, input_tokens_per_minute,
// output_tokens_per_minute, concurrent_streams. Keys it lacks keep limits' values.
bool readLimits(Reader &reader, const QString &key, RateLimiter::Limits *limits)
{
    QJsonObject object;
    if (!reader.object(key, &object))
        return false;
    Reader limitReader = reader.nested(object, key);
    if (!limitReader.checkKeys(
            {QStringLiteral("requests_per_minute"), QStringLiteral("input_tokens_per_minute"),
             QStringLiteral("output_tokens_per_minute"), QStringLiteral("concurrent_streams")}))
        return false;
    double rpm = double(limits->requestsPerMinute);
    double itpm = double(limits->inputTokensPerMinute);
    double otpm = double(limits->outputTokensPerMinute);
    double streams = limits->maxConcurrentStreams;
    if (!limitReader.number(QStringLiteral("requests_per_minute"), 0, 1e9, &rpm)
        || !limitReader.number(QStringLiteral("input_tokens_per_minute"), 0, 1e9, &itpm)
        || !limitReader.number(QStringLiteral("output_tokens_per_minute"), 0, 1e9, &otpm)
        || !limitReader.number(QStringLiteral("concurrent_streams"), 0, 100'000, &streams))
        return false;
    limits->requestsPerMinute = qint64(rpm);
    limits->inputTokensPerMinute = qint64(itpm);
    limits->outputTokensPerMinute = qint64(otpm);
    limits->maxConcurrentStreams = int(streams);
    return true;
}

// A "budget" object: daily_usd and monthly_usd caps (0 or absent: no cap).
bool readBudget(Reader &reader, const QString &key, BudgetGuard::Caps *caps)
{
    QJsonObject object;
    if (!reader.object(key, &object))
        return false;
    Reader budgetReader = reader.nested(object, key);
    if (!budgetReader.checkKeys({QStringLiteral("daily_usd"), QStringLiteral("monthly_usd")}))
        return false;
    double daily = double(caps->dailyPicoUsd) / kPicoPerUsd;
    double monthly = double(caps->monthlyPicoUsd) / kPicoPerUsd;
    if (!budgetReader.number(QStringLiteral("daily_usd"), 0, 1e6, &daily)
        || !budgetReader.number(QStringLiteral("monthly_usd"), 0, 1e6, &monthly))
        return false;
    caps->dailyPicoUsd = qint64(std::llround(daily * kPicoPerUsd));
    caps->monthlyPicoUsd = qint64(std::llround(monthly * kPicoPerUsd));
    return true;
}

// "prompt_cache": {"inject": true, "ttl": "5m" | "1h"}.
bool applyPromptCache(Reader &reader, GatewayConfig *config)
{
    QJsonObject object;
    if (!reader.object(QStringLiteral("prompt_cache"), &object))
        return false;
    Reader cacheReader = reader.nested(object, QStringLiteral("prompt_cache"));
    if (!cacheReader.checkKeys({QStringLiteral("inject"), QStringLiteral("ttl")})
        || !cacheReader.boolean(QStringLiteral("inject"), &config->cacheInjection.isEnabled))
        return false;
    QString ttl;
    if (!cacheReader.string(QStringLiteral("ttl"), &ttl))
        return false;
    if (ttl == QLatin1String("1h"))
        config->cacheInjection.ttl = CacheInjector::Ttl::OneHour;
    else if (ttl.isEmpty() || ttl == QLatin1String("5m"))
        config->cacheInjection.ttl = CacheInjector::Ttl::FiveMinutes;
    else
        return cacheReader.fail(QStringLiteral("ttl"), QStringLiteral("must be \"5m\" or \"1h\""));
    return true;
}

// "virtual_keys": {"alias": {"billing_tag", "models", "limits", "budget", "enabled"}}.
bool applyVirtualKeys(Reader &reader, const QJsonObject &root, GatewayConfig *config)
{
    QJsonObject keys;
    if (!reader.object(QStringLiteral("virtual_keys"), &keys))
        return false;
    if (!root.contains(QLatin1String("virtual_keys")))
        return true;
    config->namedVirtualKeys.clear();
    Reader keysReader = reader.nested(keys, QStringLiteral("virtual_keys"));
    for (auto it = keys.begin(); it != keys.end(); ++it) {
        const QString &alias = it.key();
        if (const QString problem = VirtualKey::aliasProblem(alias); !problem.isEmpty())
            return reader.fail(QStringLiteral("virtual_keys"), problem);
        QJsonObject entry;
        if (!keysReader.object(alias, &entry))
            return false;
        Reader entryReader = keysReader.nested(entry, alias);
        if (!entryReader.checkKeys({QStringLiteral("billing_tag"), QStringLiteral("models"),
                                    QStringLiteral("limits"), QStringLiteral("budget"),
                                    QStringLiteral("enabled"), QStringLiteral("cache_injection")}))
            return false;
        VirtualKey key;
        key.alias = alias;
        if (!entryReader.string(QStringLiteral("billing_tag"), &key.billingTag)
            || !entryReader.boolean(QStringLiteral("enabled"), &key.isEnabled)
            || !entryReader.boolean(QStringLiteral("cache_injection"), &key.injectsCache)
            || !readLimits(entryReader, QStringLiteral("limits"), &key.limits)
            || !readBudget(entryReader, QStringLiteral("budget"), &key.budget))
            return false;
        const QJsonValue models = entry.value(QLatin1String("models"));
        if (!models.isUndefined()) {
            if (!models.isArray())
                return entryReader.fail(QStringLiteral("models"),
                                        QStringLiteral("must be an array of model patterns"));
            for (const QJsonValue &model : models.toArray()) {
                if (!model.isString() || model.toString().isEmpty())
                    return entryReader.fail(QStringLiteral("models"),
                                            QStringLiteral("must hold non-empty strings"));
                key.models.append(model.toString());
            }
        }
        config->namedVirtualKeys.append(key);
    }
    return true;
}

// A string array under key (absent: out stays as it is).
bool readStrings(Reader &reader, const QJsonObject &object, const QString &key, QStringList *out)
{
    const QJsonValue value = object.value(key);
    if (value.isUndefined())
        return true;
    if (!value.isArray())
        return reader.fail(key, QStringLiteral("must be an array of strings"));
    QStringList strings;
    for (const QJsonValue &item : value.toArray()) {
        if (!item.isString() || item.toString().isEmpty())
            return reader.fail(key, QStringLiteral("must hold non-empty strings"));
        strings.append(item.toString());
    }
    *out = strings;
    return true;
}

// One entry of "providers": {"kind", "base_url", "auth", "keys", "key_env", "headers",
// "timeouts", "prices"}.
bool readProvider(Reader &reader, const QJsonObject &entry, Provider *provider)
{
    if (!reader.checkKeys({QStringLiteral("kind"), QStringLiteral("base_url"),
                           QStringLiteral("auth"), QStringLiteral("keys"),
                           QStringLiteral("key_env"), QStringLiteral("headers"),
                           QStringLiteral("timeouts"), QStringLiteral("prices")}))
        return false;
    QString kind;
    if (!reader.string(QStringLiteral("kind"), &kind))
        return false;
    if (!Provider::parseKind(kind, &provider->kind))
        return reader.fail(QStringLiteral("kind"),
                           QStringLiteral("must be \"anthropic\" or \"openai\""));
    QString baseUrl;
    if (!reader.string(QStringLiteral("base_url"), &baseUrl))
        return false;
    provider->baseUrl = QUrl(baseUrl, QUrl::StrictMode);
    const QString scheme = provider->baseUrl.scheme();
    if (!provider->baseUrl.isValid() || provider->baseUrl.host().isEmpty()
        || (scheme != QLatin1String("https") && scheme != QLatin1String("http")))
        return reader.fail(QStringLiteral("base_url"),
                           QStringLiteral("must be an http:// or https:// URL"));
    QString auth;
    if (!reader.string(QStringLiteral("auth"), &auth))
        return false;
    if (auth.isEmpty())
        provider->auth = provider->kind == Provider::Kind::OpenAi ? Provider::Auth::Bearer
                                                                  : Provider::Auth::XApiKey;
    else if (auth == QLatin1String("bearer"))
        provider->auth = Provider::Auth::Bearer;
    else if (auth == QLatin1String("x-api-key"))
        provider->auth = Provider::Auth::XApiKey;
    else
        return reader.fail(QStringLiteral("auth"),
                           QStringLiteral("must be \"x-api-key\" or \"bearer\""));
    if (!readStrings(reader, entry, QStringLiteral("keys"), &provider->keyAliases)
        || !reader.string(QStringLiteral("key_env"), &provider->keyVariable))
        return false;
    for (const QString &alias : std::as_const(provider->keyAliases)) {
        if (const QString problem = KeyStore::aliasProblem(alias); !problem.isEmpty())
            return reader.fail(QStringLiteral("keys"), problem);
    }
    QJsonObject headers;
    if (!reader.object(QStringLiteral("headers"), &headers))
        return false;
    for (auto it = headers.begin(); it != headers.end(); ++it) {
        const QByteArray name = it.key().toLatin1();
        const bool validName = !name.isEmpty() && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_';
        });
        const QString value = it.value().toString();
        const bool validValue = it.value().isString()
            && std::none_of(value.begin(), value.end(),
                            [](QChar c) { return c.unicode() < 0x20 || c.unicode() > 0x7e; });
        if (!validName || !validValue)
            return reader.fail(QStringLiteral("headers"),
                               QStringLiteral("must map header names to printable ASCII values"));
        provider->headers.append({name, value.toLatin1()});
    }
    QJsonObject timeouts;
    if (!reader.object(QStringLiteral("timeouts"), &timeouts))
        return false;
    Reader timeoutReader = reader.nested(timeouts, QStringLiteral("timeouts"));
    if (!timeoutReader.checkKeys(
            {QStringLiteral("connect"), QStringLiteral("first_byte"), QStringLiteral("idle")}))
        return false;
    const struct
    {
        const char *key;
        int *ms;
    } fields[] = {{"connect", &provider->connectTimeoutMs},
                  {"first_byte", &provider->firstByteTimeoutMs},
                  {"idle", &provider->idleTimeoutMs}};
    for (const auto &field : fields) {
        double seconds = 0;
        if (!timeoutReader.number(QLatin1String(field.key), 0.001, 86400, &seconds))
            return false;
        *field.ms = int(seconds * 1000);
    }
    if (!reader.object(QStringLiteral("prices"), &provider->prices))
        return false;
    PriceTable prices = PriceTable::builtIn();
    QString priceError;
    if (!provider->prices.isEmpty() && !prices.applyOverrides(provider->prices, &priceError))
        return reader.fail(QStringLiteral("prices"), priceError);
    return true;
}

// One entry of "routes": {"model", "provider", "fallback", "rewrite_model", "virtual_key",
// "thinking", "min_prompt_tokens"}.
bool readRoute(Reader &reader, const QJsonObject &entry, Route *route)
{
    if (!reader.checkKeys({QStringLiteral("model"), QStringLiteral("provider"),
                           QStringLiteral("fallback"), QStringLiteral("rewrite_model"),
                           QStringLiteral("virtual_key"), QStringLiteral("thinking"),
                           QStringLiteral("min_prompt_tokens"), QStringLiteral("cache_injection")}))
        return false;
    QString provider;
    QStringList fallback;
    if (!reader.string(QStringLiteral("model"), &route->model)
        || !reader.string(QStringLiteral("provider"), &provider)
        || !readStrings(reader, entry, QStringLiteral("fallback"), &fallback)
        || !reader.string(QStringLiteral("rewrite_model"), &route->rewriteModel)
        || !reader.string(QStringLiteral("virtual_key"), &route->virtualKey)
        || !reader.boolean(QStringLiteral("cache_injection"), &route->injectsCache))
        return false;
    if (provider.isEmpty())
        return reader.fail(QStringLiteral("provider"), QStringLiteral("is required"));
    route->providers = QStringList {provider} + fallback;
    if (entry.contains(QLatin1String("thinking"))) {
        bool thinking = false;
        if (!reader.boolean(QStringLiteral("thinking"), &thinking))
            return false;
        route->thinking = thinking;
    }
    double minTokens = 0;
    if (!reader.number(QStringLiteral("min_prompt_tokens"), 0, 1e9, &minTokens))
        return false;
    route->minPromptTokens = qint64(minTokens);
    return true;
}

// "providers": {"name": {...}}, "routes": [{...}], "cors_origins": ["https://…"].
bool applyRouting(Reader &reader, const QJsonObject &root, GatewayConfig *config)
{
    QJsonObject providers;
    if (!reader.object(QStringLiteral("providers"), &providers))
        return false;
    if (root.contains(QLatin1String("providers")))
        config->providers.clear();
    Reader providersReader = reader.nested(providers, QStringLiteral("providers"));
    QStringList names;
    for (auto it = providers.begin(); it != providers.end(); ++it) {
        if (const QString problem = Provider::nameProblem(it.key()); !problem.isEmpty())
            return reader.fail(QStringLiteral("providers"), problem);
        if (it.key() == Provider::kAnthropic)
            return reader.fail(QStringLiteral("providers"),
                               QStringLiteral("\"anthropic\" is the built-in provider (set "
                                              "\"upstream\" and \"upstream_keys\" instead)"));
        QJsonObject entry;
        if (!providersReader.object(it.key(), &entry))
            return false;
        Reader entryReader = providersReader.nested(entry, it.key());
        Provider provider;
        provider.name = it.key();
        if (!readProvider(entryReader, entry, &provider))
            return false;
        config->providers.append(provider);
    }
    for (const Provider &provider : std::as_const(config->providers))
        names.append(provider.name);
    const QJsonValue routes = root.value(QLatin1String("routes"));
    if (!routes.isUndefined()) {
        if (!routes.isArray())
            return reader.fail(QStringLiteral("routes"),
                               QStringLiteral("must be an array of rules"));
        config->routes.clear();
        const QJsonArray rules = routes.toArray();
        for (qsizetype i = 0; i < rules.size(); ++i) {
            const QString key = QStringLiteral("routes[%1]").arg(i);
            if (!rules.at(i).isObject())
                return reader.fail(key, QStringLiteral("must be an object"));
            const QJsonObject entry = rules.at(i).toObject();
            Reader routeReader = reader.nested(entry, key);
            Route route;
            if (!readRoute(routeReader, entry, &route))
                return false;
            config->routes.append(route);
        }
    }
    if (const QString problem = RouteTable::problem(config->routes, names); !problem.isEmpty())
        return reader.fail(QStringLiteral("routes"), problem);
    QStringList origins = config->corsOrigins;
    if (!readStrings(reader, root, QStringLiteral("cors_origins"), &origins))
        return false;
    for (const QString &origin : std::as_const(origins)) {
        const QUrl url(origin, QUrl::StrictMode);
        const bool isOrigin = url.isValid() && !url.host().isEmpty()
            && (url.scheme() == QLatin1String("https") || url.scheme() == QLatin1String("http"))
            && (url.path().isEmpty() || url.path() == QLatin1String("/")) && !url.hasQuery();
        if (!isOrigin)
            return reader.fail(QStringLiteral("cors_origins"),
                               QStringLiteral("holds \"%1\", which is not an origin "
                                              "(scheme://host[:port])")
                                   .arg(origin));
    }
    config->corsOrigins = origins;
    return true;
}

// "upstream_keys": aliases of keys in the keychain; "key_strategy"; "session_affinity".
bool applyKeys(Reader &reader, const QJsonObject &root, GatewayConfig *config)
{
    const QJsonValue aliases = root.value(QLatin1String("upstream_keys"));
    if (!aliases.isUndefined()) {
        if (!aliases.isArray())
            return reader.fail(QStringLiteral("upstream_keys"),
                               QStringLiteral("must be an array of key aliases"));
        config->keychainKeys.clear();
        for (const QJsonValue &alias : aliases.toArray()) {
            const QString text = alias.toString();
            const QString problem = KeyStore::aliasProblem(text);
            if (!alias.isString() || !problem.isEmpty())
                return reader.fail(QStringLiteral("upstream_keys"),
                                   problem.isEmpty() ? QStringLiteral("must hold strings")
                                                     : problem);
            if (config->keychainKeys.contains(text))
                return reader.fail(QStringLiteral("upstream_keys"),
                                   QStringLiteral("names \"%1\" twice").arg(text));
            config->keychainKeys.append(text);
        }
    }
    QString strategy;
    if (!reader.string(QStringLiteral("key_strategy"), &strategy))
        return false;
    if (strategy == QLatin1String("least-recently-limited"))
        config->keyStrategy = GatewayConfig::KeyStrategy::LeastRecentlyLimited;
    else if (strategy.isEmpty() || strategy == QLatin1String("round-robin"))
        config->keyStrategy = GatewayConfig::KeyStrategy::RoundRobin;
    else
        return reader.fail(QStringLiteral("key_strategy"),
                           QStringLiteral("must be \"round-robin\" or \"least-recently-limited\""));
    if (!reader.boolean(QStringLiteral("session_affinity"), &config->sessionAffinity))
        return false;
    RateLimiter::Limits limits;
    limits.requestsPerMinute = config->requestsPerMinute;
    limits.inputTokensPerMinute = config->inputTokensPerMinute;
    limits.outputTokensPerMinute = config->outputTokensPerMinute;
    limits.maxConcurrentStreams = config->maxConcurrentStreams;
    if (!readLimits(reader, QStringLiteral("limits"), &limits))
        return false;
    config->requestsPerMinute = limits.requestsPerMinute;
    config->inputTokensPerMinute = limits.inputTokensPerMinute;
    config->outputTokensPerMinute = limits.outputTokensPerMinute;
    config->maxConcurrentStreams = limits.maxConcurrentStreams;
    if (!readBudget(reader, QStringLiteral("budget"), &config->budget))
        return false;
    QJsonObject tagBudgets;
    if (!reader.object(QStringLiteral("tag_budgets"), &tagBudgets))
        return false;
    if (root.contains(QLatin1String("tag_budgets")))
        config->tagBudgets.clear();
    Reader tagReader = reader.nested(tagBudgets, QStringLiteral("tag_budgets"));
    for (auto it = tagBudgets.begin(); it != tagBudgets.end(); ++it) {
        if (it.key().isEmpty() || it.key().size() > 200)
            return reader.fail(QStringLiteral("tag_budgets"),
                               QStringLiteral("needs billing tags of 1 to 200 characters"));
        BudgetGuard::Caps caps;
        if (!readBudget(tagReader, it.key(), &caps))
            return false;
        config->tagBudgets.insert(it.key(), caps);
    }
    if (!applyPromptCache(reader, config))
        return false;
    return applyVirtualKeys(reader, root, config);
}

} // namespace

QString ConfigFile::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation)
        + QStringLiteral("/config.json");
}

QString ConfigFile::defaultDatabasePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)
        + QStringLiteral("/requests.sqlite");
}

bool ConfigFile::load(const QString &path, bool mustExist, GatewayConfig *config, QString *error)
{
    QFile file(path);
    if (!file.exists()) {
        if (!mustExist)
            return true;
        *error = QStringLiteral("the settings file %1 does not exist").arg(path);
        return false;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    return apply(file.readAll(), path, config, error);
}

bool ConfigFile::apply(const QByteArray &json, const QString &source, GatewayConfig *config,
                       QString *error)
{
    QJsonObject root;
    if (!parseObject(json, source, &root, error))
        return false;
    QString problem;
    const bool ok = [&] {
        Reader reader(root, QString(), &problem);
        if (!reader.checkKeys(knownKeys()))
            return false;
        QString listen;
        if (!reader.string(QStringLiteral("listen"), &listen))
            return false;
        if (!listen.isEmpty() && !config->listenAddress.setAddress(listen))
            return reader.fail(QStringLiteral("listen"), QStringLiteral("must be an IP address"));
        double port = config->port;
        if (!reader.number(QStringLiteral("port"), 0, 65535, &port))
            return false;
        config->port = quint16(port);
        if (!reader.boolean(QStringLiteral("allow_remote"), &config->allowRemote)
            || !readStrings(reader, root, QStringLiteral("allowed_hosts"), &config->allowedHosts))
            return false;
        for (const QString &host : std::as_const(config->allowedHosts)) {
            if (const QString why = HostPolicy::entryProblem(host); !why.isEmpty())
                return reader.fail(QStringLiteral("allowed_hosts"), why);
        }
        QString upstream;
        if (!reader.string(QStringLiteral("upstream"), &upstream))
            return false;
        if (!upstream.isEmpty())
            config->upstream = QUrl(upstream, QUrl::StrictMode);
        if (!reader.string(QStringLiteral("upstream_ca"), &config->upstreamCaFile)
            || !reader.boolean(QStringLiteral("passthrough_auth"), &config->passthroughAuth)
            || !reader.string(QStringLiteral("billing_tag"), &config->billingTag))
            return false;
        QJsonObject timeouts;
        if (!reader.object(QStringLiteral("timeouts"), &timeouts)
            || !applyTimeouts(timeouts, config, &problem))
            return false;
        double maxBody = double(config->maxBodyBytes) / (1024 * 1024);
        double maxBatchBody = double(config->maxBatchBodyBytes) / (1024 * 1024);
        if (!reader.number(QStringLiteral("max_body_mib"), 0.001, 4096, &maxBody)
            || !reader.number(QStringLiteral("max_batch_body_mib"), 0.001, 4096, &maxBatchBody))
            return false;
        config->maxBodyBytes = qint64(maxBody * 1024 * 1024);
        config->maxBatchBodyBytes = qint64(maxBatchBody * 1024 * 1024);
        QString database;
        if (!reader.string(QStringLiteral("database"), &database))
            return false;
        if (!database.isEmpty() && !parseDatabase(database, &config->store, &problem)) {
            problem = QStringLiteral("\"database\" %1").arg(problem);
            return false;
        }
        double retention = config->retentionDays;
        if (!reader.number(QStringLiteral("retention_days"), 0, 100'000, &retention))
            return false;
        config->retentionDays = int(retention);
        double bodyLogKib = double(config->bodyLogCapBytes) / 1024;
        if (!reader.number(QStringLiteral("body_log_kib"), 0, 1024 * 1024, &bodyLogKib))
            return false;
        config->bodyLogCapBytes = qint64(bodyLogKib) * 1024;
        if (!applyPrices(reader, root, config) || !applyKeys(reader, root, config))
            return false;
        return applyRouting(reader, root, config);
    }();
    if (!ok)
        *error = QStringLiteral("%1: %2").arg(source, problem);
    return ok;
}

QJsonObject ConfigFile::virtualKeyJson(const VirtualKey &key)
{
    QJsonObject entry;
    if (!key.billingTag.isEmpty())
        entry.insert(QStringLiteral("billing_tag"), key.billingTag);
    if (!key.models.isEmpty())
        entry.insert(QStringLiteral("models"), QJsonArray::fromStringList(key.models));
    entry.insert(
        QStringLiteral("limits"),
        QJsonObject {
            {QStringLiteral("requests_per_minute"), double(key.limits.requestsPerMinute)},
            {QStringLiteral("input_tokens_per_minute"), double(key.limits.inputTokensPerMinute)},
            {QStringLiteral("output_tokens_per_minute"), double(key.limits.outputTokensPerMinute)},
            {QStringLiteral("concurrent_streams"), key.limits.maxConcurrentStreams},
        });
    QJsonObject budget;
    if (key.budget.dailyPicoUsd > 0)
        budget.insert(QStringLiteral("daily_usd"), double(key.budget.dailyPicoUsd) / kPicoPerUsd);
    if (key.budget.monthlyPicoUsd > 0)
        budget.insert(QStringLiteral("monthly_usd"),
                      double(key.budget.monthlyPicoUsd) / kPicoPerUsd);
    if (!budget.isEmpty())
        entry.insert(QStringLiteral("budget"), budget);
    entry.insert(QStringLiteral("enabled"), key.isEnabled);
    if (!key.injectsCache)
        entry.insert(QStringLiteral("cache_injection"), false);
    return entry;
}

QJsonObject ConfigFile::virtualKeysJson(const QList<VirtualKey> &keys)
{
    QJsonObject object;
    for (const VirtualKey &key : keys)
        object.insert(key.alias, virtualKeyJson(key));
    return object;
}

bool ConfigFile::parseDatabase(const QString &text, std::optional<StoreConfig> *store,
                               QString *error)
{
    const QString trimmed = text.trimmed();
    if (trimmed == QLatin1String("off")) {
        store->reset();
        return true;
    }
    if (trimmed.isEmpty()) {
        *error = QStringLiteral("must be a SQLite file path, a postgresql:// URL or off");
        return false;
    }
    if (trimmed.contains(QLatin1String("://")) && !StoreConfig::isPostgresqlString(trimmed)) {
        *error = QStringLiteral("supports PostgreSQL (postgresql://...) or a SQLite file path, "
                                "not %1")
                     .arg(trimmed.section(QLatin1String("://"), 0, 0) + QStringLiteral("://"));
        return false;
    }
    std::optional<StoreConfig> parsed = StoreConfig::parse(trimmed, error);
    if (!parsed)
        return false;
    *store = std::move(parsed);
    return true;
}

bool ConfigFile::readPricesFile(const QString &path, QJsonObject *models, QString *error)
{
    if (path.isEmpty() || !QFileInfo(path).isAbsolute()) {
        *error = QStringLiteral("must be the absolute path of a JSON file");
        return false;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    QJsonObject root;
    if (!parseObject(file.readAll(), path, &root, error))
        return false;
    const QJsonValue listed = root.value(QStringLiteral("models"));
    if (listed.isUndefined()) {
        *models = root;
        return true;
    }
    if (!listed.isObject()) {
        *error = QStringLiteral("%1: \"models\" must be an object of model entries").arg(path);
        return false;
    }
    *models = listed.toObject();
    return true;
}

bool ConfigFile::read(const QString &path, QJsonObject *settings, QString *error)
{
    QFile file(path);
    if (!file.exists()) {
        *settings = QJsonObject();
        return true;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    return parseObject(file.readAll(), path, settings, error);
}

bool ConfigFile::save(const QString &path, const QJsonObject &changes, QString *error)
{
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (!knownKeys().contains(it.key())) {
            *error = QStringLiteral("\"%1\" is not a known setting").arg(it.key());
            return false;
        }
    }
    QJsonObject settings;
    if (!read(path, &settings, error))
        return false;
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (it.value().isNull())
            settings.remove(it.key());
        else
            settings.insert(it.key(), it.value());
    }

    QJsonObject known;
    for (auto it = settings.begin(); it != settings.end(); ++it) {
        if (knownKeys().contains(it.key()))
            known.insert(it.key(), it.value());
    }
    GatewayConfig scratch;
    if (!apply(QJsonDocument(known).toJson(QJsonDocument::Compact), path, &scratch, error))
        return false;

    const QFileInfo info(path);
    if (!PrivatePaths::makeDirectory(info.absolutePath(), error))
        return false;
    QSaveFile file(path);
    // Private from the first byte: the temporary file is restricted before anything is
    // written into it, so no other user can read it even while it is being written.
    if (!file.open(QIODevice::WriteOnly)
        || !file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)
        || file.write(QJsonDocument(settings).toJson(QJsonDocument::Indented)) < 0
        || !file.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace tollgate
