#include "Exchange.h"

#include "MonotonicClock.h"
#include "config/GatewayConfig.h"
#include "http/ClientConnection.h"
#include "http/CorsPolicy.h"
#include "http/ErrorResponse.h"
#include "keys/RateLimiter.h"
#include "routing/ModelRewrite.h"
#include "routing/ProviderRuntime.h"
#include "upstream/ConnectionPool.h"
#include "upstream/UpstreamTarget.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <algorithm>
#include <utility>

namespace tollgate {

namespace {
Q_LOGGING_CATEGORY(lcExchange, "tollgate.exchange")

// Above this much output queued for the client, upstream reads pause (back-pressure).
constexpr qint64 kPauseAbove = 1024 * 1024;

// A translated stream that has sent nothing for this long gets a ping event, as Anthropic's
// own streams do, so that clients and intermediaries do not take a slow vendor for a dead one.
constexpr qint64 kPingAfterUs = 15 * 1000 * 1000;

// "10 s", "0.3 s": a timeout as the settings file and the command line state it.
QString secondsText(int ms)
{
    return QString::number(ms / 1000.0, 'g', 6) + QStringLiteral(" s");
}

bool startsWithNoCase(const QByteArray &value, const char *prefix)
{
    const qsizetype n = qsizetype(qstrlen(prefix));
    return value.size() >= n && qstrnicmp(value.constData(), prefix, n) == 0;
}

// Client headers that mean nothing to (or would mislead) a provider of the other dialect.
bool isDialectHeader(const QByteArray &name, DialectBridge::Mode mode)
{
    if (HeaderList::nameEquals(name, "content-type") || HeaderList::nameEquals(name, "accept")
        || HeaderList::nameEquals(name, "accept-encoding"))
        return true;
    const QByteArray lower = name.toLower();
    if (mode == DialectBridge::Mode::MessagesToChat)
        return lower.startsWith("anthropic-");
    return lower.startsWith("openai-");
}
} // namespace

Exchange::Exchange(ClientConnection *client, HttpRequest &&request,
                   ClientAuthenticator::Result auth, RequestRecord record, const Context &context,
                   Plan plan, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_request(std::move(request))
    , m_auth(auth)
    , m_record(std::move(record))
    , m_context(context)
    , m_plan(std::move(plan))
{
    m_isCors =
        m_context.cors && m_context.cors->check(m_request.headers) == CorsPolicy::Verdict::Allowed;
}

Exchange::~Exchange()
{
    if (m_upstream)
        m_upstream->abort();
}

void Exchange::start()
{
    // Shared with the request, not copied: model and session are read from it at the end.
    m_record.requestBody = m_request.body;
    m_record.rawRequestHeaders = m_request.headers;
    m_record.surface = DialectBridge::surfaceName(m_plan.surface);
    beginProvider(0);
}

void Exchange::setArrivingBody(qsizetype upstreamBytes)
{
    m_arrivingBytes = upstreamBytes;
    m_forwardedBytes = 0;
    m_markersSent.clear();
    m_markerBytesSent = 0;
}

void Exchange::forwardBody(QByteArrayView bytes, const QList<CacheInjector::Insertion> &markers)
{
    if (m_arrivingBytes < 0 || m_isFinished || (bytes.isEmpty() && markers.isEmpty()))
        return;
    qsizetype at = 0; // in bytes
    for (const CacheInjector::Insertion &marker : markers) {
        const qsizetype upTo = std::clamp(marker.offset - m_forwardedBytes, at, bytes.size());
        if (m_upstream && upTo > at)
            m_upstream->appendBody(bytes.data() + at, upTo - at);
        at = upTo;
        if (m_upstream)
            m_upstream->appendBody(marker.bytes.constData(), marker.bytes.size());
        m_markersSent.append(marker);
        m_markerBytesSent += marker.bytes.size();
    }
    if (m_upstream && bytes.size() > at)
        m_upstream->appendBody(bytes.data() + at, bytes.size() - at);
    m_forwardedBytes += bytes.size();
}

qsizetype Exchange::plannedAmongSent(const QList<CacheInjector::Insertion> &planned) const
{
    return std::partition_point(planned.begin(), planned.end(),
                                [this](const CacheInjector::Insertion &insertion) {
                                    return insertion.offset < m_forwardedBytes;
                                })
        - planned.begin();
}

bool Exchange::agreesWithMarkersSent(const QList<CacheInjector::Insertion> &planned) const
{
    return std::equal(planned.begin(), planned.begin() + plannedAmongSent(planned),
                      m_markersSent.begin(), m_markersSent.end());
}

void Exchange::completeBody(QByteArray body, const CacheInjector::Result *markers,
                            const RequestFacts *facts)
{
    if (m_arrivingBytes < 0 || m_isFinished)
        return;
    const qsizetype announced = m_arrivingBytes;
    // What went ahead must be what the whole body's plan puts there: the same markers at the
    // same places among the bytes sent, and none other.
    const bool holds =
        agreesWithMarkersSent(markers ? markers->insertions : QList<CacheInjector::Insertion>());
    if (markers)
        applyCacheMarkers(*markers, body, m_record);
    if (facts)
        m_record.requestFacts = RequestFacts::ready(*facts);
    m_request.body = std::move(body);
    m_request.receivedAtUs = monotonicUs();
    m_record.requestBody = m_request.body;
    m_providerBody = m_request.body;
    bool isSentAgain = false;
    if (m_upstream) {
        const qsizetype sent = m_forwardedBytes + m_markerBytesSent;
        if (!holds) {
            // The rest of the body held a client marker, a top-level one or something else that
            // the markers sent ahead did not foresee. The vendor has not had the whole body,
            // so it has answered nothing: it gets it again, as planned now, on a new
            // connection.
            qCInfo(lcExchange).noquote()
                << QStringLiteral("request %1: the cache markers sent ahead of the body's end "
                                  "differ from its plan (%2 sent, %3 planned there); the body "
                                  "is sent again")
                       .arg(m_record.id)
                       .arg(m_markersSent.size())
                       .arg(markers ? plannedAmongSent(markers->insertions) : 0);
            m_upstream->abort();
            m_upstream = nullptr;
            isSentAgain = true;
            m_wasSentAgain = true;
        } else if (m_providerBody.size() > announced || sent > m_providerBody.size()) {
            // Impossible (maxInsertedBytes() bounds the markers): resent whole.
            m_upstream->abort();
            m_upstream = nullptr;
            m_failureWhileArriving = UpstreamFailure {
                UpstreamConnection::Failure::Reset,
                QStringLiteral("the body outgrew its announced length"), false, false, true};
        } else {
            // A failure while these go is still one before the vendor had the whole body.
            m_upstream->appendBody(m_providerBody, sent);
            // JSON allows whitespace after the value: the room left by markers not needed.
            const QByteArray padding(announced - m_providerBody.size(), ' ');
            if (m_upstream)
                m_upstream->appendBody(padding.constData(), padding.size());
        }
    }
    m_arrivingBytes = -1;
    if (m_upstream)
        m_upstream->resumeReading();
    // A resend, after a failure or to another key, announces the body's own length.
    m_upstreamHead = buildUpstreamHead();
    if (m_failureWhileArriving) {
        const UpstreamFailure failure = *std::exchange(m_failureWhileArriving, std::nullopt);
        handleUpstreamFailure(failure);
    } else if (isSentAgain) {
        sendUpstream(true);
    }
}

QByteArray Exchange::refuseArriving(int status, const QString &message)
{
    if (!m_isFinished) {
        m_record.status = status;
        m_record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(status));
        abandon(message, false);
    }
    return m_record.localRequestId();
}

void Exchange::applyCacheMarkers(const CacheInjector::Result &result, QByteArray &body,
                                 RequestRecord &record)
{
    // The client's count is known whenever the injector looked, also when it added nothing.
    record.cacheMarkersClient = result.clientMarkers;
    if (result.markersAdded <= 0)
        return;
    // The 1h ttl needs no beta header any more (Anthropic's prompt-caching guide documents
    // "ttl": "1h" without one), so no anthropic-beta value is added.
    CacheInjector::spliceInPlace(body, result.insertions);
    record.cacheMarkersAdded = result.markersAdded;
    record.cacheReadsByTollgate = result.ownsCacheReads;
}

// The client's own credential (passthrough) goes only to the built-in Anthropic provider;
// every other provider gets a key of its own pool.
bool Exchange::swapsCredential() const
{
    return m_auth == ClientAuthenticator::Result::VirtualKey
        || provider().provider.name != Provider::kAnthropic;
}

bool Exchange::beginProvider(int index)
{
    m_providerIndex = index;
    const ProviderRuntime &runtime = provider();
    m_record.provider = runtime.provider.name;
    m_key = {};
    m_nextKey = {};
    m_hasRetried = false;
    m_bridge = DialectBridge(m_plan.modelList
                                 ? DialectBridge::Mode::ModelsToOpenAi
                                 : DialectBridge::modeFor(m_plan.surface, runtime.provider.kind));
    if (m_bridge.isActive()) {
        QString error;
        if (!m_bridge.translateRequest(m_request.body,
                                       m_plan.rewritesModel ? m_plan.model : QString(),
                                       &m_providerBody, &error)) {
            failBeforeResponse(400, error);
            return false;
        }
        if (m_bridge.mode() == DialectBridge::Mode::ChatToMessages) {
            if (m_plan.injection)
                applyCacheMarkers(CacheInjector::plan(m_providerBody, *m_plan.injection),
                                  m_providerBody, m_record);
            // The log reads the prompt in Anthropic's dialect.
            m_record.requestBody = m_providerBody;
        }
    } else if (m_plan.rewritesModel) {
        m_providerBody = ModelRewrite::apply(m_request.body, m_plan.model);
    } else {
        m_providerBody = m_request.body;
    }
    if (swapsCredential()) {
        KeyPool *keys = runtime.keys;
        if (!keys || keys->keyCount() == 0) {
            if (tryNextProvider(KeyPool::kConnectFailure, QStringLiteral("it has no key")))
                return false;
            failBeforeResponse(
                401,
                runtime.provider.name == Provider::kAnthropic
                    ? QStringLiteral("Tollgate has no upstream API key configured (add one with "
                                     "`tollgate keys add ALIAS`, or set TOLLGATE_UPSTREAM_KEYS)")
                    : QStringLiteral("Tollgate has no key for the provider \"%1\" (list one in "
                                     "its \"keys\" or set its \"key_env\")")
                          .arg(runtime.provider.name));
            return false;
        }
        m_keyBudget = keys->retryBudget();
        m_nextKey = keys->pick(monotonicUs(), m_record.sessionId, &m_keyBudget);
        if (!takeUpstreamKey())
            return false;
    }
    m_upstreamHead = buildUpstreamHead();
    sendUpstream(false);
    return true;
}

// On 429, 5xx or a failed connection before any byte reached the client, once the
// provider's own keys are exhausted: the route's next provider.
bool Exchange::canTryNextProvider(int status) const
{
    if (m_providerIndex + 1 >= m_plan.providers.size() || m_client->hasResponseStarted())
        return false;
    return status == KeyPool::kConnectFailure || status == 429 || status >= 500;
}

bool Exchange::tryNextProvider(int status, const QString &why)
{
    if (!canTryNextProvider(status))
        return false;
    qCInfo(lcExchange).noquote()
        << QStringLiteral("request %1: provider \"%2\" failed (%3), trying \"%4\"")
               .arg(m_record.id)
               .arg(provider().provider.name, why,
                    m_plan.providers.at(m_providerIndex + 1)->provider.name);
    if (m_upstream) {
        m_upstream->abort();
        m_upstream = nullptr;
    }
    beginProvider(m_providerIndex + 1);
    return true;
}

QByteArray Exchange::buildUpstreamHead() const
{
    const UpstreamTarget &target = provider().target;
    qsizetype headSize = 64 + target.pathPrefix.size() + m_request.target.size();
    for (const HeaderList::Field &f : m_request.headers.fields())
        headSize += f.name.size() + f.value.size() + 4;
    QByteArray out;
    out.reserve(headSize + m_key.secret.size() + 64);

    if (m_bridge.isActive()) {
        out.append(m_bridge.upstreamMethod()).append(' ');
        out.append(target.pathPrefix).append(m_bridge.upstreamPath());
    } else {
        // An OpenAI-dialect base URL ends in /v1 already (https://api.openai.com/v1).
        const bool isOpenAi = provider().provider.kind == Provider::Kind::OpenAi;
        out.append(m_request.method).append(' ');
        out.append(target.pathPrefix)
            .append(isOpenAi && m_request.target.startsWith("/v1/") ? m_request.target.mid(3)
                                                                    : m_request.target);
    }
    out.append(" HTTP/1.1\r\n");
    HeaderList::write(out, QByteArrayLiteral("Host"), target.hostHeader);
    writeHeaders(out);
    const bool methodHasBody = (m_bridge.isActive() && m_bridge.upstreamMethod() == "POST")
        || m_request.method == "POST" || m_request.method == "PUT" || m_request.method == "PATCH";
    if (methodHasBody || !m_providerBody.isEmpty())
        HeaderList::write(
            out, QByteArrayLiteral("Content-Length"),
            QByteArray::number(m_arrivingBytes >= 0 ? m_arrivingBytes : m_providerBody.size()));
    out.append("\r\n", 2);
    return out;
}

void Exchange::writeHeaders(QByteArray &out) const
{
    const Provider &vendor = provider().provider;
    const bool swapCredential = swapsCredential();
    const QList<QByteArray> connectionTokens = m_request.headers.connectionTokens();
    const auto setByProvider = [&vendor](const QByteArray &name) {
        for (const auto &header : vendor.headers) {
            if (HeaderList::nameEquals(name, header.first))
                return true;
        }
        return false;
    };
    for (const HeaderList::Field &f : m_request.headers.fields()) {
        // Everything else goes through exactly as the client sent it: anthropic-version,
        // anthropic-beta (never allowlisted), x-claude-code-session-id, x-stainless-*.
        if (HeaderList::isHopByHop(f.name, connectionTokens)
            || HeaderList::nameEquals(f.name, "host")
            || HeaderList::nameEquals(f.name, "content-length")
            || HeaderList::nameEquals(f.name, "expect")
            || HeaderList::nameEquals(f.name, "x-tollgate-tag"))
            continue; // x-tollgate-tag is Tollgate's own billing tag, not the vendor's
        if (swapCredential && ClientAuthenticator::isCredentialHeader(f.name))
            continue;
        if (m_bridge.isActive() && isDialectHeader(f.name, m_bridge.mode()))
            continue;
        if (!vendor.headers.isEmpty() && setByProvider(f.name))
            continue;
        HeaderList::write(out, f.name, f.value);
    }
    if (m_bridge.isActive()) {
        // Translation reads the body, so it must come uncompressed.
        HeaderList::write(out, QByteArrayLiteral("Content-Type"),
                          QByteArrayLiteral("application/json"));
        HeaderList::write(out, QByteArrayLiteral("Accept-Encoding"), QByteArrayLiteral("identity"));
        if (m_bridge.mode() != DialectBridge::Mode::MessagesToChat
            && !m_request.headers.contains(QByteArrayLiteral("anthropic-version")))
            HeaderList::write(out, QByteArrayLiteral("anthropic-version"),
                              QByteArrayLiteral("2023-06-01"));
    }
    for (const auto &header : vendor.headers)
        HeaderList::write(out, header.first, header.second);
    if (swapCredential) {
        if (vendor.auth == Provider::Auth::Bearer)
            HeaderList::write(out, QByteArrayLiteral("Authorization"), "Bearer " + m_key.secret);
        else
            HeaderList::write(out, QByteArrayLiteral("x-api-key"), m_key.secret);
    }
}

// Makes m_nextKey the key of the next attempt; answers the client when there is none.
bool Exchange::takeUpstreamKey()
{
    if (!m_nextKey.isValid()) {
        refuseWithoutKey();
        return false;
    }
    m_key = m_nextKey;
    m_nextKey = {};
    m_keyBudget.recordAttempt(m_key);
    m_record.upstreamKeyAlias = m_key.alias;
    return true;
}

void Exchange::refuseWithoutKey()
{
    const qint64 now = monotonicUs();
    if (m_nextKey.availableAtUs) {
        // Every key is cooling down after a 429/529: say when the first is back, within
        // the 60 s Claude Code waits for at most.
        const int seconds = RateLimiter::retryAfterSeconds(*m_nextKey.availableAtUs - now);
        const QByteArray requestId = m_record.localRequestId();
        const RateLimiter::Reply reply = RateLimiter::tooManyRequests(
            QStringLiteral("Every upstream API key is rate-limited or overloaded; the first "
                           "one is usable again in %1 s")
                .arg(seconds),
            seconds, requestId);
        m_record.status = reply.status;
        m_record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(reply.status));
        finish(Outcome::Failed, QStringLiteral("every upstream key is cooling down"));
        m_client->sendResponse(reply.toHttpResponse(), false);
        return;
    }
    failBeforeResponse(401,
                       QStringLiteral("Every upstream API key is disabled: the vendor rejected "
                                      "them (`tollgate keys list` shows why)"));
}

// After a 429, 529, 5xx or a refused key, and before any byte reached the client: the
// same request goes to another key when the pool has one.
bool Exchange::retryOnAnotherKey(int status, const HeaderList &headers)
{
    if (!m_key.isValid())
        return false; // passthrough: the client's own credential, never swapped
    KeyPool *keys = provider().keys;
    const qint64 now = monotonicUs();
    if (status == KeyPool::kConnectFailure)
        keys->reportFailure(m_key.alias, now);
    else
        keys->reportResponse(m_key.alias, status, headers, now,
                             QDateTime::currentMSecsSinceEpoch());
    if (!KeyPool::shouldRetry(status) || !m_keyBudget.allowsRetry(status, false))
        return false;
    m_nextKey = keys->pick(now, m_record.sessionId, &m_keyBudget);
    if (!m_nextKey.isValid())
        return false; // the client gets this answer as it is
    qCInfo(lcExchange).noquote() << QStringLiteral("request %1: upstream key \"%2\" answered %3, "
                                                   "retrying with \"%4\"")
                                        .arg(m_record.id)
                                        .arg(m_key.alias)
                                        .arg(status)
                                        .arg(m_nextKey.alias);
    if (m_upstream) {
        m_upstream->abort(); // its body is of no use
        m_upstream = nullptr;
    }
    takeUpstreamKey();
    m_upstreamHead = buildUpstreamHead();
    sendUpstream(false);
    return true;
}

void Exchange::sendUpstream(bool freshConnection)
{
    ConnectionPool *pool = m_context.pool;
    const UpstreamTarget &target = provider().target;
    m_upstream = freshConnection ? pool->connectNew(target) : pool->acquire(target);
    m_upstream->send(m_upstreamHead, m_providerBody, this);
    if (m_arrivingBytes >= 0)
        m_upstream->pauseReading(); // nothing is answered before the request is whole
}

void Exchange::upstreamHead(const HttpParser &head)
{
    const int status = head.status();
    if (m_key.isValid()) {
        if (retryOnAnotherKey(status, head.headers()))
            return;
    }
    if (canTryNextProvider(status)
        && tryNextProvider(status, QStringLiteral("HTTP %1").arg(status)))
        return;
    m_record.ttfbUs = monotonicUs() - m_request.receivedAtUs;
    m_record.status = status;
    if (m_bridge.isActive()) {
        beginBridgedResponse(head);
        return;
    }

    const bool hasNoBody = status == 204 || status == 304;
    m_isLengthFramed = !hasNoBody && head.hasContentLength() && !head.isChunked();
    const QList<QByteArray> connectionTokens = head.headers().connectionTokens();
    m_record.requestId = head.headers().value(QByteArrayLiteral("request-id"));
    m_record.rawResponseHeaders = head.headers();
    // Both sides speak OpenAI's dialect (an OpenAI client, an OpenAI-compatible provider):
    // the answer passes untouched and its usage is read in that dialect.
    const QByteArray contentType = head.headers().value(QByteArrayLiteral("content-type"));
    const QByteArray contentEncoding = head.headers().value(QByteArrayLiteral("content-encoding"));
    if (provider().provider.kind == Provider::Kind::OpenAi)
        m_observer.beginOpenAi(contentType, contentEncoding, ResponseObserver::kDefaultBodyCapBytes,
                               m_context.config->bodyLogCapBytes);
    else
        m_observer.begin(contentType, contentEncoding, ResponseObserver::kDefaultBodyCapBytes,
                         m_context.config->bodyLogCapBytes);

    // A page of an allowed origin may read the answer: Tollgate's CORS headers replace any
    // the vendor sent (two access-control-allow-origin values make the browser refuse it).
    const bool isCors = m_isCors;
    QByteArray out;
    out.reserve(512);
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(head.reason()).append("\r\n", 2);
    if (isCors)
        out.append(
            CorsPolicy::responseHeaders(m_request.headers.value(QByteArrayLiteral("origin"))));
    for (const HeaderList::Field &f : head.headers().fields()) {
        if (HeaderList::isHopByHop(f.name, connectionTokens))
            continue;
        if (isCors
            && (f.name.toLower().startsWith("access-control-")
                || HeaderList::nameEquals(f.name, "vary")))
            continue;
        if (HeaderList::nameEquals(f.name, "content-length") && !m_isLengthFramed)
            continue;
        if (HeaderList::nameEquals(f.name, "content-type")
            && startsWithNoCase(f.value.trimmed(), "text/event-stream"))
            m_isSse = true;
        if (HeaderList::nameEquals(f.name, "content-encoding")
            && !startsWithNoCase(f.value.trimmed(), "identity"))
            m_isEncoded = true;
        HeaderList::write(out, f.name, f.value);
    }
    m_record.isStreaming = m_isSse;
    using Framing = ClientConnection::Framing;
    m_client->beginResponse(std::move(out),
                            hasNoBody              ? Framing::None
                                : m_isLengthFramed ? Framing::Length
                                                   : Framing::Chunked);
}

// The provider speaks the other dialect: the client gets a head of Tollgate's making and,
// for a stream, the translated events as they come; anything else is translated whole when
// it has ended.
void Exchange::beginBridgedResponse(const HttpParser &head)
{
    const HeaderList &headers = head.headers();
    m_record.requestId = headers.value(QByteArrayLiteral("request-id"));
    if (m_record.requestId.isEmpty())
        m_record.requestId = headers.value(QByteArrayLiteral("x-request-id"));
    m_record.rawResponseHeaders = headers;
    m_bridge.beginResponse(head.status(), headers.value(QByteArrayLiteral("content-type")));
    if (!m_bridge.streamsToClient())
        return; // answered in finishBridgedResponse()
    m_isSse = true;
    m_record.isStreaming = true;
    m_observer.begin(QByteArrayLiteral("text/event-stream"), QByteArray(),
                     ResponseObserver::kDefaultBodyCapBytes, m_context.config->bodyLogCapBytes);
    QByteArray out = "HTTP/1.1 " + QByteArray::number(m_bridge.clientStatus()) + ' '
        + ErrorResponse::reasonPhrase(m_bridge.clientStatus()) + "\r\n";
    HeaderList::write(out, QByteArrayLiteral("content-type"), m_bridge.clientContentType());
    HeaderList::write(out, QByteArrayLiteral("cache-control"), QByteArrayLiteral("no-cache"));
    if (!m_record.requestId.isEmpty())
        HeaderList::write(out, QByteArrayLiteral("request-id"), m_record.requestId);
    if (m_isCors)
        out.append(
            CorsPolicy::responseHeaders(m_request.headers.value(QByteArrayLiteral("origin"))));
    m_client->beginResponse(std::move(out), ClientConnection::Framing::Chunked);
    m_lastClientWriteUs = monotonicUs();
}

void Exchange::finishBridgedResponse()
{
    QByteArray anthropicSide;
    const QByteArray tail = m_bridge.finish(&anthropicSide);
    if (m_bridge.streamsToClient()) {
        writeToClient(tail);
        m_observer.feed(anthropicSide.constData(), anthropicSide.size());
        return;
    }
    const int status = m_bridge.clientStatus();
    m_record.status = status;
    if (status >= 400)
        m_record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(status));
    m_observer.begin(QByteArrayLiteral("application/json"), QByteArray(),
                     ResponseObserver::kDefaultBodyCapBytes, m_context.config->bodyLogCapBytes);
    m_observer.feed(anthropicSide.constData(), anthropicSide.size());
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' '
        + ErrorResponse::reasonPhrase(status) + "\r\n";
    HeaderList::write(out, QByteArrayLiteral("content-type"), m_bridge.clientContentType());
    if (!m_record.requestId.isEmpty())
        HeaderList::write(out, QByteArrayLiteral("request-id"), m_record.requestId);
    if (m_isCors)
        out.append(
            CorsPolicy::responseHeaders(m_request.headers.value(QByteArrayLiteral("origin"))));
    HeaderList::write(out, QByteArrayLiteral("content-length"), QByteArray::number(tail.size()));
    m_client->beginResponse(std::move(out), ClientConnection::Framing::Length);
    writeToClient(tail);
}

void Exchange::writeToClient(const QByteArray &bytes)
{
    if (bytes.isEmpty())
        return;
    m_record.responseBytes += bytes.size();
    m_client->writeBody(bytes);
    m_lastClientWriteUs = monotonicUs();
}

void Exchange::upstreamBody(const QByteArray &data)
{
    if (m_bridge.isActive()) {
        QByteArray anthropicSide;
        const QByteArray out = m_bridge.feed(data.constData(), data.size(), &anthropicSide);
        writeToClient(out);
        if (m_bridge.streamsToClient())
            m_observer.feed(anthropicSide.constData(), anthropicSide.size());
        return;
    }

    m_record.responseBytes += data.size();
    m_client->writeBody(data);
    m_observer.feed(data.constData(), data.size()); // a tee: observes what was forwarded
}

void Exchange::upstreamReadProcessed()
{
    m_client->flush();
    if (m_client->bytesToWrite() > kPauseAbove && m_upstream) {
        m_upstream->pauseReading();
        m_client->setDrainedCallback([this] { onClientDrained(); });
    }
}

void Exchange::onClientDrained()
{
    m_client->setDrainedCallback(nullptr);
    if (m_upstream)
        m_upstream->resumeReading();
}

void Exchange::upstreamComplete()
{
    if (m_arrivingBytes >= 0) {
        // Reading waits for the whole request: only a connection that ended can get here.
        upstreamFailed(UpstreamConnection::Failure::Reset,
                       QStringLiteral("the connection ended before the request was sent"));
        return;
    }
    UpstreamConnection *connection = m_upstream;
    m_upstream = nullptr;
    m_context.pool->release(connection);
    if (m_bridge.isActive())
        finishBridgedResponse();
    // The client has the whole answer before the request log's bookkeeping; the exchange is
    // finished before the response is, which may start the client's next pipelined request.
    m_client->endResponseBody();
    finish(Outcome::Complete);
    m_client->finishResponse();
}

void Exchange::upstreamFailed(UpstreamConnection::Failure failure, const QString &message)
{
    UpstreamConnection *connection = m_upstream;
    m_upstream = nullptr;
    const UpstreamFailure what {failure, message, connection && connection->isReused(),
                                connection && connection->hasResponseBytes()};
    if (m_arrivingBytes >= 0) {
        m_failureWhileArriving = what; // retried or answered with the whole body
        m_failureWhileArriving->beforeBodyEnd = true;
        return;
    }
    handleUpstreamFailure(what);
}

void Exchange::handleUpstreamFailure(const UpstreamFailure &what)
{
    const UpstreamConnection::Failure failure = what.failure;
    const QString &message = what.message;
    const bool wasReused = what.wasReused;
    const bool hadResponseBytes = what.hadResponseBytes;
    if (!m_client->hasResponseStarted()) {
        // A kept-alive connection the vendor closed while it sat idle, or one that ended
        // before the body it was sent had all arrived: nothing of this request was processed,
        // so one more try on a new connection is safe.
        if ((wasReused || what.beforeBodyEnd) && !hadResponseBytes && !m_hasRetried
            && failure == UpstreamConnection::Failure::Reset) {
            m_hasRetried = true;
            sendUpstream(true);
            return;
        }
        if (!hadResponseBytes && retryOnAnotherKey(KeyPool::kConnectFailure, HeaderList()))
            return;
        if (!hadResponseBytes && tryNextProvider(KeyPool::kConnectFailure, message))
            return;
        const QString host = provider().target.host;
        switch (failure) {
        case UpstreamConnection::Failure::Connect:
            failBeforeResponse(502,
                               QStringLiteral("Tollgate could not connect to the upstream %1: %2")
                                   .arg(host, message));
            break;
        case UpstreamConnection::Failure::Tls:
            failBeforeResponse(
                502,
                QStringLiteral("TLS handshake with the upstream %1 failed: %2").arg(host, message));
            break;
        case UpstreamConnection::Failure::Reset:
        case UpstreamConnection::Failure::Protocol:
            failBeforeResponse(
                502,
                QStringLiteral("The upstream %1 failed before answering: %2").arg(host, message));
            break;
        }
        return;
    }
    failMidResponse(QByteArrayLiteral("api_error"),
                    QStringLiteral("The upstream %1 broke off mid-response: %2")
                        .arg(provider().target.host, message));
}

void Exchange::failBeforeResponse(int status, const QString &message)
{
    m_record.status = status;
    m_record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(status));
    const QByteArray requestId = m_record.localRequestId();
    finish(Outcome::Failed, message);
    m_client->sendResponse(ErrorResponse::httpResponse(status, message, requestId, false), false);
}

void Exchange::failMidResponse(const QByteArray &errorType, const QString &message)
{
    // An SSE client gets an error event in Anthropic's shape and a clean end; any other
    // body is cut off, so a truncated response never looks complete.
    // Recorded first: closing the client may report its disconnect synchronously.
    m_record.errorType = QString::fromLatin1(errorType);
    finish(Outcome::Failed, message);
    if (m_isSse && !m_isEncoded && !m_isLengthFramed) {
        // An OpenAI client reads errors as a data line of its own shape, then [DONE].
        m_client->writeBody(m_plan.surface == DialectBridge::Surface::OpenAi
                                ? "data: {\"error\":{\"message\":"
                                    + ErrorResponse::jsonString(message) + ",\"type\":\""
                                    + errorType + "\"}}\n\ndata: [DONE]\n\n"
                                : ErrorResponse::sseEvent(errorType, message));
        m_client->finishResponse(true);
    } else {
        m_client->abortResponse();
    }
}

void Exchange::checkTimeouts(qint64 nowUs)
{
    if (!m_upstream || m_isFinished)
        return;
    const GatewayConfig &config = *m_context.config;
    const ProviderRuntime &runtime = provider();
    if (m_bridge.streamsToClient() && nowUs - m_lastClientWriteUs > kPingAfterUs)
        writeToClient(m_bridge.ping());
    if (m_upstream->isPaused())
        return; // the client is slow to read: the vendor is not the one keeping us waiting
    const QString &host = runtime.target.host;
    int limitMs = 0;
    QString message;
    switch (m_upstream->phase()) {
    case UpstreamConnection::Phase::Connecting:
        limitMs = runtime.connectTimeoutMs(config.connectTimeoutMs);
        message = m_upstream->isTlsHandshaking()
            ? QStringLiteral("The TLS handshake with the upstream %1 did not finish within %2 "
                             "(connect timeout)")
            : QStringLiteral("Tollgate could not connect to the upstream %1 within %2 "
                             "(connect timeout)");
        break;
    case UpstreamConnection::Phase::AwaitingResponse:
        limitMs = runtime.firstByteTimeoutMs(config.firstByteTimeoutMs);
        message = QStringLiteral("The upstream %1 did not answer within %2 (first-byte timeout)");
        break;
    case UpstreamConnection::Phase::Receiving:
        limitMs = runtime.idleTimeoutMs(config.idleTimeoutMs);
        message = QStringLiteral("The upstream %1 sent nothing for %2 mid-response "
                                 "(idle timeout)");
        break;
    case UpstreamConnection::Phase::Idle:
        return;
    }
    if (nowUs - m_upstream->lastActivityUs() <= qint64(limitMs) * 1000)
        return;
    const UpstreamConnection::Phase phase = m_upstream->phase();
    m_upstream->abort();
    m_upstream = nullptr;
    message = message.arg(host, secondsText(limitMs));
    if (m_client->hasResponseStarted()) {
        failMidResponse(QByteArrayLiteral("timeout_error"), message);
        return;
    }
    // No connection within the limit is a failed connection: the same key and route
    // fallbacks apply. A request that was sent may be in the works upstream: never resent.
    if (phase == UpstreamConnection::Phase::Connecting
        && (retryOnAnotherKey(KeyPool::kConnectFailure, HeaderList())
            || tryNextProvider(KeyPool::kConnectFailure, message)))
        return;
    failBeforeResponse(504, message);
}

void Exchange::clientGone()
{
    abandon(QStringLiteral("client disconnected"), false);
}

void Exchange::cancel()
{
    abandon(QStringLiteral("gateway stopped"), true);
}

void Exchange::abandon(const QString &reason, bool closeClient)
{
    if (m_isFinished)
        return;
    if (m_upstream) {
        m_upstream->abort();
        m_upstream = nullptr;
    }
    finish(Outcome::Failed, reason);
    if (closeClient)
        m_client->abortResponse();
}

void Exchange::finish(Outcome outcome, const QString &error)
{
    if (m_isFinished)
        return;
    m_isFinished = true;
    m_record.isComplete = outcome == Outcome::Complete;
    m_record.error = error;
    m_record.totalUs = monotonicUs() - m_request.receivedAtUs;
    if (m_record.ttfbUs >= 0) {
        m_observer.finish();
        m_record.response = m_observer.take();
    }
    if (!m_record.requestBody.isEmpty()) {
        // The row goes to the request log with the body's facts, not the body.
        // (A large body the proxy scanned for cache markers comes with its facts already.)
        if (!m_record.requestFacts.isValid())
            m_record.requestFacts = RequestFacts::read(m_record.requestBody, m_context.workers);
        const qint64 bodyLogCap = m_context.config ? m_context.config->bodyLogCapBytes : 0;
        m_record.requestBody =
            bodyLogCap > 0 ? m_record.requestBody.left(qsizetype(bodyLogCap)) : QByteArray();
    }
    emit finished(this, m_record);
}

} // namespace tollgate
