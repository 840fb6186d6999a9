#pragma once

#include "routing/Provider.h"
#include "routing/Route.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace tollgate {

// Providers and routes in the settings file's form ("providers", "routes"), exactly as
// ConfigFile::apply() reads them back, for the Routes page to write with ConfigFile::save().
// Nothing of a provider is left out (its prices included), so writing the whole list back
// after one change loses nothing. Resolved keys are never written: the file holds aliases.
class RoutingJson
{
public:
    static QJsonObject providerJson(const Provider &provider);
    static QJsonObject providersJson(const QList<Provider> &providers);
    static QJsonObject routeJson(const Route &route);
    static QJsonArray routesJson(const QList<Route> &routes);
};

} // namespace tollgate
