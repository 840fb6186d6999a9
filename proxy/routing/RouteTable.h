#pragma once

#include "Route.h"

#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

namespace tollgate {

// Picks the providers of a request from the ordered rules: the first rule whose conditions
// all hold wins; when none does, the built-in "anthropic" provider serves the request as it
// is. A pure value: built once from the settings, read from the proxy's thread.
class RouteTable
{
public:
    // What the rules may look at, read from the request before it is forwarded.
    struct Query
    {
        QString model; // empty for endpoints without one (models, batches)
        QString virtualKey; // the alias of the client's key; empty for passthrough
        bool thinking = false;
        qint64 promptTokens = 0; // an estimate: see estimatePromptTokens()
    };
    struct Decision
    {
        int rule = -1; // index into the rules; -1: no rule matched, the default route
        QStringList providers; // the chain to try in order
        QString model; // the model the first provider gets
        bool rewritesModel() const { return rule >= 0 && !model.isEmpty(); }
    };

    RouteTable() = default;
    explicit RouteTable(QList<Route> rules);

    Decision decide(const Query &query) const;
    const QList<Route> &rules() const { return m_rules; }

    // Why the rules cannot run with these providers (an unknown provider, a rule with an
    // empty chain, a provider named twice in one chain), or an empty string.
    static QString problem(const QList<Route> &rules, const QStringList &providerNames);

    // The prompt's size from its bytes, for the min_prompt_tokens condition: JSON runs
    // about 4 bytes a token for English and code, so this under-counts a little rather
    // than send a short prompt to a long-context route.
    static qint64 estimatePromptTokens(qsizetype bodyBytes) { return bodyBytes / 4; }

    // One line per step of the decision, for `tollgate routes test` and the Routes page:
    // each rule tried and why it did or did not match, then the outcome.
    QStringList explain(const Query &query) const;

private:
    static QString mismatch(const Route &route, const Query &query);

    QList<Route> m_rules;
};

} // namespace tollgate
