#pragma once

#include "DialectBridge.h"
#include "RequestRecord.h"
#include "http/HttpRequest.h"
#include "keys/ClientAuthenticator.h"
#include "rewrite/CacheInjector.h"
#include "upstream/KeyPool.h"
#include "upstream/UpstreamConnection.h"
#include "usage/ResponseObserver.h"

#include <QObject>
#include <optional>

namespace tollgate {

class ClientConnection;
class ConnectionPool;
class CorsPolicy;
struct GatewayConfig;
struct ProviderRuntime;

// One client request forwarded upstream and its response streamed back: every read from
// the vendor goes to the client at once. Owns the request while it is in flight and the
// record of what happened; ends with finished().
class Exchange : public QObject, private UpstreamConnection::Listener
{
    Q_OBJECT

public:
    struct Context
    {
        const GatewayConfig *config = nullptr;
        ConnectionPool *pool = nullptr;
        const CorsPolicy *cors = nullptr; // browser origins allowed to read the response
        QThreadPool *workers = nullptr; // reads the facts of a large request body
    };
    // Where this request goes: the providers in the order to try them (the route's fallback
    // chain; the next one is tried on 429, 5xx or no connection before any byte reached the
    // client), the model they get, and the dialect the client speaks.
    struct Plan
    {
        QList<const ProviderRuntime *> providers;
        QString model; // the model for the providers; with rewritesModel, spliced in
        bool rewritesModel = false;
        DialectBridge::Surface surface = DialectBridge::Surface::Anthropic;
        // Set for an OpenAI client's request to an Anthropic provider: its markers go into
        // the translated body.
        std::optional<CacheInjector::Policy> injection;
        bool modelList = false; // an OpenAI client's GET /v1/models
    };

    Exchange(ClientConnection *client, HttpRequest &&request, ClientAuthenticator::Result auth,
             RequestRecord record, const Context &context, Plan plan, QObject *parent = nullptr);
    ~Exchange() override;

    // Before start(): the body is still arriving and goes upstream as it does, behind a head
    // that announces upstreamBytes (the body's length plus room for cache markers, filled
    // with trailing whitespace where none are needed). forwardBody() passes on each part no
    // marker can go into; completeBody() the rest once it is all in. The vendor's answer is
    // read only after that, and a failure meanwhile is handled then, with the whole body.
    void setArrivingBody(qsizetype upstreamBytes);
    void start();
    // `bytes` continue the body; `markers` (offsets in the client's body, ascending, within
    // those bytes or at their end) go in among them: markers planned ahead of the body's end
    // (PromptLayoutBuilder::provisionalLayout()). completeBody() checks them against the
    // whole body's plan, and sends the body again on a new connection if they differ.
    void forwardBody(QByteArrayView bytes, const QList<CacheInjector::Insertion> &markers = {});
    // Whether a plan's markers among the bytes forwardBody() has sent are those it sent.
    bool agreesWithMarkersSent(const QList<CacheInjector::Insertion> &planned) const;
    // completeBody() found those markers differ from the whole body's plan, and sent the
    // body again.
    bool wasSentAgain() const { return m_wasSentAgain; }
    // The whole body as the client sent it, with the markers planned for it and its facts
    // when the request gets markers.
    void completeBody(QByteArray body, const CacheInjector::Result *markers,
                      const RequestFacts *facts);
    bool isBodyArriving() const { return m_arrivingBytes >= 0; }
    // The request's body as it goes upstream, markers included.
    const QByteArray &requestBody() const { return m_request.body; }
    void setLayoutReusedBytes(qint64 bytes) { m_record.layoutReusedBytes = bytes; }
    // Body bytes passed on that the vendor's connection has not taken yet.
    qint64 upstreamBacklog() const { return m_upstream ? m_upstream->bytesToWrite() : 0; }
    bool isFinished() const { return m_isFinished; }
    // The client's body broke off or timed out before its end: the row says why.
    QByteArray refuseArriving(int status, const QString &message);
    // The client went away: stop the upstream request at once.
    void clientGone();
    // The gateway is stopping.
    void cancel();
    void checkTimeouts(qint64 nowUs);
    ClientConnection *client() const { return m_client; }

    // Splices the markers CacheInjector::plan() chose into body (the request's own buffer)
    // and notes them, and the client's own, in record.
    static void applyCacheMarkers(const CacheInjector::Result &result, QByteArray &body,
                                  RequestRecord &record);

signals:
    void finished(tollgate::Exchange *exchange, const tollgate::RequestRecord &record);

private:
    enum class Outcome { Complete, Failed };

    // How many of a plan's markers (in body order) go in among the bytes forwarded so far.
    qsizetype plannedAmongSent(const QList<CacheInjector::Insertion> &planned) const;

    // Sends the request to the plan's provider at index; false when it was answered instead.
    bool beginProvider(int index);
    // Whether a failure with this status moves on to the plan's next provider, and doing so.
    bool canTryNextProvider(int status) const;
    bool tryNextProvider(int status, const QString &why);
    const ProviderRuntime &provider() const { return *m_plan.providers.at(m_providerIndex); }
    bool swapsCredential() const;
    QByteArray buildUpstreamHead() const;
    void writeHeaders(QByteArray &out) const;
    void beginBridgedResponse(const HttpParser &head);
    void finishBridgedResponse();
    void writeToClient(const QByteArray &bytes);
    bool takeUpstreamKey();
    bool retryOnAnotherKey(int status, const HeaderList &headers);
    void refuseWithoutKey();
    void sendUpstream(bool freshConnection);
    void upstreamHead(const HttpParser &head) override;
    void upstreamBody(const QByteArray &data) override;
    void upstreamReadProcessed() override;
    void upstreamComplete() override;
    void upstreamFailed(UpstreamConnection::Failure failure, const QString &message) override;
    struct UpstreamFailure
    {
        UpstreamConnection::Failure failure = UpstreamConnection::Failure::Reset;
        QString message;
        bool wasReused = false;
        bool hadResponseBytes = false;
        bool beforeBodyEnd = false; // while the body still arrived: the vendor never had it all
    };
    void handleUpstreamFailure(const UpstreamFailure &failure);
    void failBeforeResponse(int status, const QString &message);
    void failMidResponse(const QByteArray &errorType, const QString &message);
    void abandon(const QString &reason, bool closeClient);
    void finish(Outcome outcome, const QString &error = QString());
    void onClientDrained();

    ClientConnection *m_client;
    HttpRequest m_request;
    ClientAuthenticator::Result m_auth;
    RequestRecord m_record;
    Context m_context;
    Plan m_plan;
    int m_providerIndex = 0;
    QByteArray m_providerBody; // the body as the current provider gets it
    DialectBridge m_bridge; // when the client's and the provider's dialects differ
    bool m_isCors = false;
    qint64 m_lastClientWriteUs = 0;
    QByteArray m_upstreamHead; // the body, m_providerBody, goes after it unjoined
    UpstreamConnection *m_upstream = nullptr;
    ResponseObserver m_observer; // usage tee over the forwarded response body
    bool m_hasRetried = false;
    KeyPool::RetryBudget m_keyBudget;
    KeyPool::Pick m_key; // the upstream key of the current attempt
    KeyPool::Pick m_nextKey; // the key a retry goes to
    bool m_isSse = false;
    bool m_isEncoded = false;
    bool m_isLengthFramed = false;
    bool m_isFinished = false;
    qsizetype m_arrivingBytes = -1; // see setArrivingBody(); -1 once the body is whole
    qsizetype m_forwardedBytes = 0; // of the arriving body, passed on so far
    QList<CacheInjector::Insertion> m_markersSent; // in among those bytes
    qsizetype m_markerBytesSent = 0;
    bool m_wasSentAgain = false;
    std::optional<UpstreamFailure> m_failureWhileArriving;
};

} // namespace tollgate
