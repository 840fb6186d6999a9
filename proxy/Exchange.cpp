#include "Exchange.h"

#include "MonotonicClock.h"
#include "config/GatewayConfig.h"
#include "http/ClientConnection.h"
#include "http/ErrorResponse.h"
#include "keys/RateLimiter.h"
#include "upstream/ConnectionPool.h"
#include "upstream/UpstreamTarget.h"

#include <QDateTime>
#include <QLoggingCategory>

namespace tollgate {

namespace {
Q_LOGGING_CATEGORY(lcExchange, "tollgate.exchange")

// Above this much output queued for the client, upstream reads pause (back-pressure).
constexpr qint64 kPauseAbove = 1024 * 1024;

bool startsWithNoCase(const QByteArray &value, const char *prefix)
{
    const qsizetype n = qsizetype(qstrlen(prefix));
    return value.size() >= n && qstrnicmp(value.constData(), prefix, n) == 0;
}
} // namespace

Exchange::Exchange(ClientConnection *client, HttpRequest &&request,
                   ClientAuthenticator::Result auth, RequestRecord record, const Context &context,
                   QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_request(std::move(request))
    , m_auth(auth)
    , m_record(std::move(record))
    , m_context(context)
{
}

Exchange::~Exchange()
{
    if (m_upstream)
        m_upstream->abort();
}

void Exchange::start()
{
    if (m_auth == ClientAuthenticator::Result::VirtualKey) {
        if (!m_context.keys || m_context.keys->keyCount() == 0) {
            failBeforeResponse(401,
                               QStringLiteral("Tollgate has no upstream API key configured (add "
                                              "one with `tollgate keys add ALIAS`, or set "
                                              "TOLLGATE_UPSTREAM_KEYS)"));
            return;
        }
        m_keyBudget = m_context.keys->retryBudget();
        m_nextKey = m_context.keys->pick(monotonicUs(), m_record.sessionId, &m_keyBudget);
        if (!takeUpstreamKey())
            return;
    }
    m_upstreamRequest = buildUpstreamRequest();
    // Shared with the request, not copied: the ledger reads model and session from it.
    m_record.requestBody = m_request.body;
    m_record.rawRequestHeaders = m_request.headers;
    sendUpstream(false);
}

QByteArray Exchange::buildUpstreamRequest() const
{
    const UpstreamTarget &target = *m_context.target;
    const bool swapCredential = m_auth == ClientAuthenticator::Result::VirtualKey;
    const QList<QByteArray> connectionTokens = m_request.headers.connectionTokens();

    QByteArray out;
    qsizetype headSize = 64 + target.pathPrefix.size() + m_request.target.size();
    for (const HeaderList::Field &f : m_request.headers.fields())
        headSize += f.name.size() + f.value.size() + 4;
    out.reserve(headSize + m_request.body.size() + m_key.secret.size() + 64);

    out.append(m_request.method).append(' ');
    out.append(target.pathPrefix).append(m_request.target);
    out.append(" HTTP/1.1\r\n");
    HeaderList::write(out, QByteArrayLiteral("Host"), target.hostHeader);
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
        HeaderList::write(out, f.name, f.value);
    }
    if (swapCredential)
        HeaderList::write(out, QByteArrayLiteral("x-api-key"), m_key.secret);
    const bool methodHasBody =
        m_request.method == "POST" || m_request.method == "PUT" || m_request.method == "PATCH";
    if (methodHasBody || !m_request.body.isEmpty())
        HeaderList::write(out, QByteArrayLiteral("Content-Length"),
                          QByteArray::number(m_request.body.size()));
    out.append("\r\n", 2);
    out.append(m_request.body);
    return out;
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
        const QByteArray requestId = QByteArrayLiteral("req_tg_") + QByteArray::number(m_record.id);
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
    KeyPool *keys = m_context.keys;
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
    m_upstreamRequest = buildUpstreamRequest();
    sendUpstream(false);
    return true;
}

void Exchange::sendUpstream(bool freshConnection)
{
    ConnectionPool *pool = m_context.pool;
    m_upstream =
        freshConnection ? pool->connectNew(*m_context.target) : pool->acquire(*m_context.target);
    m_upstream->send(m_upstreamRequest, this);
}

void Exchange::upstreamHead(const HttpParser &head)
{
    const int status = head.status();
    if (m_key.isValid()) {
        if (retryOnAnotherKey(status, head.headers()))
            return;
    }
    m_record.ttfbUs = monotonicUs() - m_request.receivedAtUs;
    m_record.status = status;

    const bool hasNoBody = status == 204 || status == 304;
    m_isLengthFramed = !hasNoBody && head.hasContentLength() && !head.isChunked();
    const QList<QByteArray> connectionTokens = head.headers().connectionTokens();
    m_record.requestId = head.headers().value(QByteArrayLiteral("request-id"));
    m_record.rawResponseHeaders = head.headers();
    m_observer.begin(head.headers().value(QByteArrayLiteral("content-type")),
                     head.headers().value(QByteArrayLiteral("content-encoding")),
                     ResponseObserver::kDefaultBodyCapBytes, m_context.config->bodyLogCapBytes);

    QByteArray out;
    out.reserve(512);
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(head.reason()).append("\r\n", 2);
    for (const HeaderList::Field &f : head.headers().fields()) {
        if (HeaderList::isHopByHop(f.name, connectionTokens))
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

void Exchange::upstreamBody(const QByteArray &data)
{
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
    UpstreamConnection *connection = m_upstream;
    m_upstream = nullptr;
    m_context.pool->release(connection);
    // Finish first: ending the response may start the client's next pipelined request.
    finish(Outcome::Complete);
    m_client->finishResponse();
}

void Exchange::upstreamFailed(UpstreamConnection::Failure failure, const QString &message)
{
    UpstreamConnection *connection = m_upstream;
    m_upstream = nullptr;
    const bool wasReused = connection && connection->isReused();
    const bool hadResponseBytes = connection && connection->hasResponseBytes();
    if (!m_client->hasResponseStarted()) {
        // A kept-alive connection the vendor closed while it sat idle: nothing of this
        // request was processed, so one more try on a new connection is safe.
        if (wasReused && !hadResponseBytes && !m_hasRetried
            && failure == UpstreamConnection::Failure::Reset) {
            m_hasRetried = true;
            sendUpstream(true);
            return;
        }
        if (!hadResponseBytes && retryOnAnotherKey(KeyPool::kConnectFailure, HeaderList()))
            return;
        const QString host = m_context.target->host;
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
    failMidResponse(
        QByteArrayLiteral("api_error"),
        QStringLiteral("The upstream connection was lost mid-response: %1").arg(message));
}

void Exchange::failBeforeResponse(int status, const QString &message)
{
    m_record.status = status;
    m_record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(status));
    const QByteArray requestId = QByteArrayLiteral("req_tg_") + QByteArray::number(m_record.id);
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
        m_client->writeBody(ErrorResponse::sseEvent(errorType, message));
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
    const qint64 idleUs = nowUs - m_upstream->lastActivityUs();
    int limitMs = 0;
    QString what;
    switch (m_upstream->phase()) {
    case UpstreamConnection::Phase::Connecting:
        limitMs = config.connectTimeoutMs;
        what = QStringLiteral("connecting to");
        break;
    case UpstreamConnection::Phase::AwaitingResponse:
        limitMs = config.firstByteTimeoutMs;
        what = QStringLiteral("waiting for the first byte from");
        break;
    case UpstreamConnection::Phase::Receiving:
        limitMs = config.idleTimeoutMs;
        what = QStringLiteral("waiting for more data from");
        break;
    case UpstreamConnection::Phase::Idle:
        return;
    }
    if (idleUs <= qint64(limitMs) * 1000)
        return;
    m_upstream->abort();
    m_upstream = nullptr;
    const QString message = QStringLiteral("Timed out after %1 ms %2 the upstream %3")
                                .arg(limitMs)
                                .arg(what, m_context.target->host);
    if (m_client->hasResponseStarted())
        failMidResponse(QByteArrayLiteral("timeout_error"), message);
    else
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
    emit finished(this, m_record);
}

} // namespace tollgate
