#include "RouteTable.h"

#include "Provider.h"
#include "keys/VirtualKey.h"

#include <QSet>

namespace tollgate {

RouteTable::RouteTable(QList<Route> rules)
    : m_rules(std::move(rules))
{
}

// Why route does not take query; an empty string when it does.
QString RouteTable::mismatch(const Route &route, const Query &query)
{
    if (!VirtualKey::globMatches(route.model, query.model))
        return QStringLiteral("model \"%1\" does not match \"%2\"").arg(query.model, route.model);
    if (!route.virtualKey.isEmpty() && route.virtualKey != query.virtualKey)
        return QStringLiteral("only for virtual key \"%1\"").arg(route.virtualKey);
    if (route.thinking && *route.thinking != query.thinking)
        return *route.thinking ? QStringLiteral("only with thinking on")
                               : QStringLiteral("only with thinking off");
    if (route.minPromptTokens > 0 && query.promptTokens < route.minPromptTokens)
        return QStringLiteral("only for prompts of %1 tokens or more (this one: about %2)")
            .arg(route.minPromptTokens)
            .arg(query.promptTokens);
    return QString();
}

RouteTable::Decision RouteTable::decide(const Query &query) const
{
    for (int i = 0; i < m_rules.size(); ++i) {
        const Route &route = m_rules.at(i);
        if (!mismatch(route, query).isEmpty())
            continue;
        return {i, route.providers,
                route.rewriteModel.isEmpty() ? query.model : route.rewriteModel};
    }
    return {-1, {QString(Provider::kAnthropic)}, query.model};
}

QStringList RouteTable::explain(const Query &query) const
{
    QStringList lines;
    for (int i = 0; i < m_rules.size(); ++i) {
        const Route &route = m_rules.at(i);
        const QString why = mismatch(route, query);
        if (!why.isEmpty()) {
            lines.append(
                QStringLiteral("rule %1 (%2): skipped, %3").arg(i + 1).arg(route.model, why));
            continue;
        }
        lines.append(QStringLiteral("rule %1 (%2): matches").arg(i + 1).arg(route.model));
        break;
    }
    const Decision decision = decide(query);
    QString outcome = decision.rule < 0
        ? QStringLiteral("-> %1 (no rule matched: the default route)")
              .arg(decision.providers.first())
        : QStringLiteral("-> %1").arg(decision.providers.join(QStringLiteral(", then ")));
    if (decision.model != query.model)
        outcome += QStringLiteral(" as model \"%1\"").arg(decision.model);
    lines.append(outcome);
    return lines;
}

QString RouteTable::problem(const QList<Route> &rules, const QStringList &providerNames)
{
    for (int i = 0; i < rules.size(); ++i) {
        const Route &route = rules.at(i);
        const QString name = QStringLiteral("route %1 (%2)").arg(i + 1).arg(route.model);
        if (route.model.isEmpty())
            return QStringLiteral("%1 needs a model pattern").arg(name);
        if (route.providers.isEmpty())
            return QStringLiteral("%1 names no provider").arg(name);
        QSet<QString> seen;
        for (const QString &provider : route.providers) {
            if (provider != Provider::kAnthropic && !providerNames.contains(provider))
                return QStringLiteral("%1 names the unknown provider \"%2\"").arg(name, provider);
            if (seen.contains(provider))
                return QStringLiteral("%1 names \"%2\" twice").arg(name, provider);
            seen.insert(provider);
        }
        if (route.minPromptTokens < 0)
            return QStringLiteral("%1: min_prompt_tokens must not be negative").arg(name);
    }
    return QString();
}

} // namespace tollgate
