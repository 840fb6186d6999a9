#include "RoutesCommand.h"

#include "ConsoleText.h"
#include "routing/RouteTable.h"

namespace tollgate {

namespace {
QString describe(const Route &route)
{
    QStringList conditions {QStringLiteral("model %1").arg(route.model)};
    if (!route.virtualKey.isEmpty())
        conditions.append(QStringLiteral("virtual key %1").arg(route.virtualKey));
    if (route.thinking)
        conditions.append(*route.thinking ? QStringLiteral("thinking on")
                                          : QStringLiteral("thinking off"));
    if (route.minPromptTokens > 0)
        conditions.append(QStringLiteral("prompt >= %1 tokens").arg(route.minPromptTokens));
    QString line = conditions.join(QStringLiteral(", ")) + QStringLiteral(" -> ")
        + route.providers.join(QStringLiteral(", then "));
    if (!route.rewriteModel.isEmpty())
        line += QStringLiteral(" as %1").arg(route.rewriteModel);
    return line;
}
} // namespace

int RoutesCommand::run(const CommandLine &cli)
{
    return cli.keysAction == QLatin1String("list") ? list(cli) : test(cli);
}

int RoutesCommand::list(const CommandLine &cli)
{
    const GatewayConfig &config = cli.config;
    printOut(QStringLiteral("Providers:"));
    printOut(QStringLiteral("  anthropic  anthropic  %1  (built in)")
                 .arg(config.upstream.toString(QUrl::RemoveUserInfo)));
    for (const Provider &provider : config.providers) {
        QStringList keys = provider.keyAliases;
        if (!provider.keyVariable.isEmpty())
            keys.append(QStringLiteral("$%1").arg(provider.keyVariable));
        printOut(
            QStringLiteral("  %1  %2  %3  keys: %4")
                .arg(provider.name, Provider::kindName(provider.kind),
                     provider.baseUrl.toString(QUrl::RemoveUserInfo),
                     keys.isEmpty() ? QStringLiteral("none") : keys.join(QStringLiteral(", "))));
    }
    printOut(QStringLiteral("Routes (first match wins):"));
    for (int i = 0; i < config.routes.size(); ++i)
        printOut(QStringLiteral("  %1. %2").arg(i + 1).arg(describe(config.routes.at(i))));
    printOut(QStringLiteral("  otherwise -> anthropic"));
    return 0;
}

int RoutesCommand::test(const CommandLine &cli)
{
    RouteTable::Query query;
    query.model = cli.keysAlias;
    const RouteTable table(cli.config.routes);
    for (const QString &line : table.explain(query))
        printOut(line);
    return 0;
}

} // namespace tollgate
