#pragma once

#include "http/HeaderList.h"
#include "usage/RequestFacts.h"
#include "usage/ResponseObservation.h"
#include "usage/Usage.h"

#include <QByteArray>
#include <QDateTime>
#include <QMetaType>
#include <QString>
#include <optional>

namespace tollgate {

// What the gateway knows about one finished request: emitted by Gateway::requestFinished
// and later written to the request log. Never holds a credential.
struct RequestRecord
{
    quint64 id = 0;
    QDateTime startedAt;
    QByteArray method;
    QByteArray target; // path and query as the client sent it
    QByteArray sessionId; // x-claude-code-session-id, else metadata.user_id's session_id
    int status = 0; // status the client received (0: no response was sent)
    bool isStreaming = false; // text/event-stream response
    bool isPassthroughAuth = false;
    bool isComplete = false; // the whole response reached the client
    qint64 ttfbUs = -1; // request received -> first response byte from upstream
    qint64 totalUs = 0; // request received -> response finished
    qint64 requestBytes = 0; // body bytes received from the client
    qint64 responseBytes = 0; // body bytes sent to the client
    QString error; // empty when the exchange went through

    // Attribution and accounting (the request log's row).
    QByteArray requestId; // upstream `request-id` response header
    QString project; // working directory Claude Code states in its system prompt
    QString virtualKeyAlias; // "default" for the virtual key, "passthrough" otherwise
    QString billingTag; // the virtual key's tag, or the request's x-tollgate-tag
    QString provider = QStringLiteral("anthropic");
    // The dialect the client spoke: "anthropic" (Messages) or "openai" (chat completions).
    QString surface = QStringLiteral("anthropic");
    QString upstreamKeyAlias; // which upstream key served it (empty for passthrough)
    QString model; // the model that answered (the response's), else the one requested
    QString errorType; // Anthropic error type (`overloaded_error`, ...) when it failed
    QByteArray userAgent;
    bool isBatch = false; // batch API: billed at half price
    bool isIncomplete = false; // the response ended before its usage was final
    Usage usage;
    // Exact cost in 1e-12 USD; empty when the model has no price ("unpriced", never $0).
    std::optional<qint64> costPicoUsd;
    std::optional<qint64> costWithoutCachePicoUsd; // the same tokens with no caching
    qint64 cacheMarkersAdded = 0; // cache_control markers Tollgate injected
    // Markers the client sent, as the injector counted them (a top-level one included); 0
    // when the injector did not look (injection off, not a messages request).
    int cacheMarkersClient = 0;
    // Whether this request's cache reads are owed to Tollgate's markers (see
    // CacheInjector::Result::ownsCacheReads): its savings are then Tollgate's, else the
    // client's.
    bool cacheReadsByTollgate = false;
    // Bytes of the body whose cache layout was taken from the scan of an earlier request of
    // the conversation instead of being scanned again (not stored).
    qint64 layoutReusedBytes = 0;

    // For the request log's detail view: header lines ("Name: value\r\n") as the client
    // sent them (credentials masked) and as the upstream answered; the body of an error
    // response, capped.
    QByteArray requestHeaders;
    QByteArray responseHeaders;
    QByteArray errorBody;
    // Only with the opt-in body log: the bodies, credentials redacted, capped.
    QByteArray storedRequestBody;
    QByteArray storedResponseBody;

    // Raw inputs for usage extraction, consumed and cleared by the ledger; they share
    // the forwarded buffers (implicitly shared QByteArray), never copies. The raw request
    // headers hold the client's credential: the ledger masks them and drops these.
    // requestFacts: model, session and project, read by the proxy as the exchange ended
    // (RequestFacts::read); the body then stays only as far as the opt-in body log keeps it.
    // Without them the ledger reads the facts from requestBody.
    PendingFacts requestFacts;
    QByteArray requestBody;
    ResponseObservation response;
    HeaderList rawRequestHeaders;
    HeaderList rawResponseHeaders;

    // The request-id of Tollgate's own answers (refusals, errors it sends itself):
    // "req_tg_<row id>", so a client's error report leads to its row.
    QByteArray localRequestId() const
    {
        return QByteArrayLiteral("req_tg_") + QByteArray::number(id);
    }
};

} // namespace tollgate

Q_DECLARE_METATYPE(tollgate::RequestRecord)
