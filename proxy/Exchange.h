#pragma once

#include "RequestRecord.h"
#include "http/HttpRequest.h"
#include "keys/ClientAuthenticator.h"
#include "upstream/KeyPool.h"
#include "upstream/UpstreamConnection.h"
#include "usage/ResponseObserver.h"

#include <QObject>

namespace tollgate {

class ClientConnection;
class ConnectionPool;
struct GatewayConfig;
struct UpstreamTarget;

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
        const UpstreamTarget *target = nullptr;
        ConnectionPool *pool = nullptr;
        KeyPool *keys = nullptr; // upstream keys for virtual-key requests
    };

    Exchange(ClientConnection *client, HttpRequest &&request, ClientAuthenticator::Result auth,
             RequestRecord record, const Context &context, QObject *parent = nullptr);
    ~Exchange() override;

    void start();
    // The client went away: stop the upstream request at once.
    void clientGone();
    // The gateway is stopping.
    void cancel();
    void checkTimeouts(qint64 nowUs);
    ClientConnection *client() const { return m_client; }

signals:
    void finished(tollgate::Exchange *exchange, const tollgate::RequestRecord &record);

private:
    enum class Outcome { Complete, Failed };

    QByteArray buildUpstreamRequest() const;
    bool takeUpstreamKey();
    bool retryOnAnotherKey(int status, const HeaderList &headers);
    void refuseWithoutKey();
    void sendUpstream(bool freshConnection);
    void upstreamHead(const HttpParser &head) override;
    void upstreamBody(const QByteArray &data) override;
    void upstreamReadProcessed() override;
    void upstreamComplete() override;
    void upstreamFailed(UpstreamConnection::Failure failure, const QString &message) override;
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
    QByteArray m_upstreamRequest;
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
};

} // namespace tollgate
