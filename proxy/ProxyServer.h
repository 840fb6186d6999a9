#pragma once

#include "RequestRecord.h"
#include "config/GatewayConfig.h"
#include "http/ClientConnection.h"
#include "http/HttpRequest.h"
#include "keys/ClientAuthenticator.h"
#include "keys/RateLimiter.h"
#include "upstream/KeyPool.h"
#include "upstream/UpstreamTarget.h"

#include <QHash>
#include <QObject>
#include <QSet>
#include <memory>

class QTimer;

namespace tollgate {

class ConnectionPool;
class LedgerBacklog;
class UsageMetrics;
class HttpListener;
class Exchange;

// The gateway as it runs on the proxy thread: accepts clients, answers what it answers
// itself (HEAD probes, CORS preflights, health, errors) and hands /v1/* requests to an
// Exchange. Owns every socket; created and driven by Gateway.
class ProxyServer : public QObject, private ClientConnection::Handler
{
    Q_OBJECT

public:
    explicit ProxyServer(const GatewayConfig &config, QObject *parent = nullptr);
    ~ProxyServer() override;

    // Set before start(): the running totals /tollgate/metrics serves.
    void setMetrics(std::shared_ptr<UsageMetrics> metrics) { m_metrics = std::move(metrics); }
    // Set before start(): rows handed to the ledger and not written yet. While it is high,
    // new requests wait (see LedgerBacklog).
    void setLedgerBacklog(std::shared_ptr<LedgerBacklog> backlog)
    {
        m_backlog = std::move(backlog);
    }

    void start();
    void stop();
    // Books the tokens of accounted requests against the virtual key's limits (called,
    // queued, from the ledger thread once usage is known).
    void chargeUsage(const QList<tollgate::RequestRecord> &records);

signals:
    void started(quint16 port);
    void startFailed(const QString &error);
    void stopped();
    // Records of finished requests, delivered in batches: one cross-thread wake-up per
    // batch instead of one per request.
    void requestsFinished(const QList<tollgate::RequestRecord> &records);
    // The upstream refused a key (401/402/403): it stays out of the pool until the user
    // acts. reason is the vendor's error message or type, never the key.
    void upstreamKeyDisabled(const QString &alias, const QString &reason);

private:
    ClientConnection::HeadDecision checkHead(ClientConnection *connection,
                                             const HttpParser &head) override;
    void handleRequest(ClientConnection *connection, HttpRequest &&request) override;
    QByteArray requestRefused(ClientConnection *connection, const HttpParser &head, int status,
                              const QString &message) override;
    void connectionClosed(ClientConnection *connection) override;

    void onAccepted(qintptr descriptor);
    void onExchangeFinished(Exchange *exchange, const RequestRecord &record);
    void sweep();
    void addRecord(const RequestRecord &record);
    void deliverRecords();
    void deleteFinishedExchanges();
    bool holdForLedger(ClientConnection *connection, HttpRequest &request);
    void releaseHeldRequests();
    void answerLocally(ClientConnection *connection, const HttpRequest &request, int status,
                       const QByteArray &extraHeaders, const QByteArray &body,
                       bool isLogged = true);
    void answerMetrics(ClientConnection *connection, const HttpRequest &request);
    void answerError(ClientConnection *connection, const HttpRequest &request, int status,
                     const QString &message);
    RequestRecord newRecord(const QByteArray &method, const QByteArray &target,
                            const HeaderList &headers);
    static QByteArray requestIdFor(const RequestRecord &record);
    void emitLocalRecord(RequestRecord record, int status, qint64 receivedAtUs,
                         const QString &error);

    GatewayConfig m_config;
    UpstreamTarget m_target;
    ClientAuthenticator m_authenticator;
    std::shared_ptr<UsageMetrics> m_metrics;
    std::shared_ptr<LedgerBacklog> m_backlog;
    ClientConnection::Limits m_limits;
    HttpListener *m_server = nullptr;
    ConnectionPool *m_pool = nullptr;
    KeyPool m_keys;
    RateLimiter m_limiter; // the virtual key's requests
    QSet<Exchange *> m_limitedExchanges; // hold a stream slot of m_limiter
    QTimer *m_sweepTimer = nullptr;
    QTimer *m_recordTimer = nullptr;
    QTimer *m_holdTimer = nullptr; // polls the backlog while requests are held
    struct HeldRequest
    {
        ClientConnection *connection;
        HttpRequest request;
    };
    QList<HeldRequest> m_held; // in arrival order
    QList<RequestRecord> m_records; // waiting for the next delivery
    QList<Exchange *> m_finishedExchanges; // deleted when the loop is about to wait
    QSet<ClientConnection *> m_connections;
    QHash<ClientConnection *, Exchange *> m_exchanges;
    quint64 m_nextId = 1;
};

} // namespace tollgate
