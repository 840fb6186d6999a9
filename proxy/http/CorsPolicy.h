#pragma once

#include "HeaderList.h"

#include <QByteArray>
#include <QList>
#include <QStringList>

namespace tollgate {

// Which browser pages may call the gateway (settings "cors_origins"). A browser sends an
// Origin header with every cross-origin request and asks first (an OPTIONS preflight)
// before one that carries x-api-key or a JSON body. An origin not on the list gets no CORS
// header and a 403 for the request itself, so a page on another site can neither read
// answers nor spend the user's keys through the gateway, even with a credential the
// browser would send on its own. Requests without an Origin (Claude Code, the SDKs under
// Node, curl) are not browser requests and pass.
class CorsPolicy
{
public:
    enum class Verdict {
        NotCors, // no Origin header
        Allowed, // an origin on the list
        Refused, // any other origin, "null" included
    };

    CorsPolicy() = default;
    // origins: scheme://host[:port], as the settings hold them (checked there).
    explicit CorsPolicy(const QStringList &origins);

    Verdict check(const HeaderList &headers) const;
    bool isEmpty() const { return m_origins.isEmpty(); }

    // The preflight answer's headers for an allowed origin: the origin itself (never "*"),
    // the methods, the request headers the page asked for when each is one the API uses
    // (anthropic-version, anthropic-beta, x-api-key, authorization, content-type,
    // anthropic-dangerous-direct-browser-access, x-stainless-*, x-tollgate-tag), a
    // day's max-age. Null when a requested header is not one of them.
    static QByteArray preflightHeaders(const QByteArray &origin,
                                       const QByteArray &requestedHeaders);
    // Headers added to every response to an allowed origin: the origin, Vary: Origin and the
    // response headers a page may read (request-id, retry-after, anthropic-ratelimit-*).
    static QByteArray responseHeaders(const QByteArray &origin);

private:
    // scheme://host[:port] in lower case with the scheme's default port left out.
    static QByteArray normalised(const QByteArray &origin);

    QList<QByteArray> m_origins; // normalised
};

} // namespace tollgate
