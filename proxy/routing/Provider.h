#pragma once

#include "keys/UpstreamKeySources.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace tollgate {

// A vendor requests can be routed to (settings "providers"). The built-in "anthropic"
// provider is the gateway's own upstream and key pool (settings "upstream" and
// "upstream_keys"); every other provider names its base URL, the dialect it speaks and
// its own keys.
struct Provider
{
    static constexpr QLatin1StringView kAnthropic {"anthropic"};

    enum class Kind {
        Anthropic, // the Anthropic Messages API at any base URL: requests pass as they are
        OpenAi, // an OpenAI chat-completions API: requests and responses are translated
    };
    enum class Auth {
        XApiKey, // x-api-key: KEY (Anthropic's)
        Bearer, // Authorization: Bearer KEY (OpenAI's and most others')
    };

    QString name;
    Kind kind = Kind::Anthropic;
    // For anthropic kind, the base the /v1/… path is appended to (as "upstream"); for
    // openai kind, the base that "/chat/completions" is appended to, as the OpenAI SDKs
    // take it (https://api.openai.com/v1, https://openrouter.ai/api/v1).
    QUrl baseUrl;
    Auth auth = Auth::XApiKey;
    // Aliases of upstream keys (keychain entries, TOLLGATE_UPSTREAM_KEYS or the key file)
    // this provider's pool uses; none of them go to the built-in provider's pool.
    QStringList keyAliases;
    // The name of an environment variable that holds one more key (alias "NAME-env").
    QString keyVariable;
    // Resolved at start from the aliases and the variable.
    QList<UpstreamKey> keys;
    // Sent with every request to this provider, after the client's headers (OpenRouter's
    // HTTP-Referer and X-Title, an organisation header). A header the client sent is
    // replaced, never doubled.
    QList<QPair<QByteArray, QByteArray>> headers;
    // 0: the gateway's own timeouts.
    int connectTimeoutMs = 0;
    int firstByteTimeoutMs = 0;
    int idleTimeoutMs = 0;
    // Price entries by model id for what this provider serves (as "prices").
    QJsonObject prices;

    static QString kindName(Kind kind);
    // "anthropic" or "openai"; false for anything else.
    static bool parseKind(const QString &text, Kind *kind);
    // Letters, digits, '-', '_' and '.', 1 to 64 of them.
    static QString nameProblem(const QString &name);
};

} // namespace tollgate
