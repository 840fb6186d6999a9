#include "RoutingJson.h"

namespace tollgate {

QJsonObject RoutingJson::providerJson(const Provider &provider)
{
    QJsonObject entry {
        {QStringLiteral("kind"), Provider::kindName(provider.kind)},
        {QStringLiteral("base_url"), provider.baseUrl.toString()},
        {QStringLiteral("auth"),
         provider.auth == Provider::Auth::Bearer ? QStringLiteral("bearer")
                                                 : QStringLiteral("x-api-key")},
    };
    if (!provider.keyAliases.isEmpty())
        entry.insert(QStringLiteral("keys"), QJsonArray::fromStringList(provider.keyAliases));
    if (!provider.keyVariable.isEmpty())
        entry.insert(QStringLiteral("key_env"), provider.keyVariable);
    QJsonObject headers;
    for (const auto &header : provider.headers)
        headers.insert(QString::fromLatin1(header.first), QString::fromLatin1(header.second));
    if (!headers.isEmpty())
        entry.insert(QStringLiteral("headers"), headers);
    QJsonObject timeouts;
    const struct
    {
        const char *key;
        int ms;
    } fields[] = {{"connect", provider.connectTimeoutMs},
                  {"first_byte", provider.firstByteTimeoutMs},
                  {"idle", provider.idleTimeoutMs}};
    for (const auto &field : fields) {
        if (field.ms > 0) // 0: the gateway's own, which the file says by leaving it out
            timeouts.insert(QLatin1String(field.key), field.ms / 1000.0);
    }
    if (!timeouts.isEmpty())
        entry.insert(QStringLiteral("timeouts"), timeouts);
    if (!provider.prices.isEmpty())
        entry.insert(QStringLiteral("prices"), provider.prices);
    return entry;
}

QJsonObject RoutingJson::providersJson(const QList<Provider> &providers)
{
    QJsonObject object;
    for (const Provider &provider : providers)
        object.insert(provider.name, providerJson(provider));
    return object;
}

QJsonObject RoutingJson::routeJson(const Route &route)
{
    QJsonObject entry {{QStringLiteral("model"), route.model}};
    if (!route.providers.isEmpty())
        entry.insert(QStringLiteral("provider"), route.providers.constFirst());
    if (route.providers.size() > 1)
        entry.insert(QStringLiteral("fallback"),
                     QJsonArray::fromStringList(route.providers.mid(1)));
    if (!route.rewriteModel.isEmpty())
        entry.insert(QStringLiteral("rewrite_model"), route.rewriteModel);
    if (!route.virtualKey.isEmpty())
        entry.insert(QStringLiteral("virtual_key"), route.virtualKey);
    if (route.thinking)
        entry.insert(QStringLiteral("thinking"), *route.thinking);
    if (route.minPromptTokens > 0)
        entry.insert(QStringLiteral("min_prompt_tokens"), double(route.minPromptTokens));
    return entry;
}

QJsonArray RoutingJson::routesJson(const QList<Route> &routes)
{
    QJsonArray array;
    for (const Route &route : routes)
        array.append(routeJson(route));
    return array;
}

} // namespace tollgate
