#include "CorsPolicy.h"

#include <QUrl>

namespace tollgate {

namespace {
// Request headers the Anthropic and OpenAI SDKs send from a browser.
bool isAllowedRequestHeader(const QByteArray &name)
{
    static const char *const kNames[] = {"anthropic-version",
                                         "anthropic-beta",
                                         "anthropic-dangerous-direct-browser-access",
                                         "x-api-key",
                                         "authorization",
                                         "content-type",
                                         "accept",
                                         "x-tollgate-tag",
                                         "openai-organization",
                                         "openai-project"};
    for (const char *allowed : kNames) {
        if (HeaderList::nameEquals(name, allowed))
            return true;
    }
    return name.toLower().startsWith("x-stainless-");
}
} // namespace

CorsPolicy::CorsPolicy(const QStringList &origins)
{
    for (const QString &origin : origins)
        m_origins.append(normalised(origin.toUtf8()));
}

QByteArray CorsPolicy::normalised(const QByteArray &origin)
{
    const QUrl url(QString::fromUtf8(origin), QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty())
        return QByteArray();
    const QString scheme = url.scheme().toLower();
    const int defaultPort = scheme == QLatin1String("https") ? 443 : 80;
    QByteArray out = scheme.toUtf8() + "://" + url.host(QUrl::FullyEncoded).toLower().toUtf8();
    if (url.port(defaultPort) != defaultPort)
        out += ':' + QByteArray::number(url.port());
    return out;
}

CorsPolicy::Verdict CorsPolicy::check(const HeaderList &headers) const
{
    if (!headers.contains(QByteArrayLiteral("origin")))
        return Verdict::NotCors;
    const QByteArray origin = normalised(headers.value(QByteArrayLiteral("origin")).trimmed());
    if (origin.isEmpty())
        return Verdict::Refused; // "null" (a sandboxed frame, a file: page) or garbage
    return m_origins.contains(origin) ? Verdict::Allowed : Verdict::Refused;
}

QByteArray CorsPolicy::preflightHeaders(const QByteArray &origin,
                                        const QByteArray &requestedHeaders)
{
    QByteArray allowed;
    for (const QByteArray &item : requestedHeaders.split(',')) {
        const QByteArray name = item.trimmed();
        if (name.isEmpty())
            continue;
        if (!isAllowedRequestHeader(name))
            return QByteArray();
        allowed += (allowed.isEmpty() ? "" : ", ") + name.toLower();
    }
    QByteArray out = "access-control-allow-origin: " + origin.trimmed() + "\r\n";
    out += "vary: Origin\r\n";
    out += "access-control-allow-methods: GET, POST, DELETE, OPTIONS\r\n";
    if (!allowed.isEmpty())
        out += "access-control-allow-headers: " + allowed + "\r\n";
    out += "access-control-max-age: 86400\r\n";
    return out;
}

QByteArray CorsPolicy::responseHeaders(const QByteArray &origin)
{
    return "access-control-allow-origin: " + origin.trimmed()
        + "\r\nvary: Origin\r\n"
          "access-control-expose-headers: request-id, retry-after, x-should-retry, "
          "anthropic-ratelimit-requests-limit, anthropic-ratelimit-requests-remaining, "
          "anthropic-ratelimit-requests-reset, anthropic-ratelimit-tokens-limit, "
          "anthropic-ratelimit-tokens-remaining, anthropic-ratelimit-tokens-reset, "
          "anthropic-ratelimit-input-tokens-remaining, "
          "anthropic-ratelimit-output-tokens-remaining\r\n";
}

} // namespace tollgate
