#pragma once

#include <QString>
#include <QStringList>
#include <optional>

namespace tollgate {

// One rule of the ordered route list (settings "routes"): which requests it takes and the
// providers that serve them, the first one first and the others in turn when it answers
// 429 or 5xx before its first byte.
struct Route
{
    QString model = QStringLiteral("*"); // glob over the request's model ("*", "?")
    QString virtualKey; // only this virtual key's requests; empty: any client
    std::optional<bool> thinking; // only requests with (or without) extended thinking on
    // Only requests whose prompt is estimated at this many tokens or more (long-context
    // rules); 0: any size.
    qint64 minPromptTokens = 0;
    QStringList providers; // the fallback chain, at least one
    QString rewriteModel; // the model name the provider gets; empty: the request's own
    // Prompt-cache markers for this route's requests to Anthropic-dialect providers; false
    // turns them off here whatever the global setting says.
    bool injectsCache = true;

    bool operator==(const Route &other) const = default;
};

} // namespace tollgate
