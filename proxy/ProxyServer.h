#pragma once

#include "Exchange.h"
#include "RequestRecord.h"
#include "config/GatewayConfig.h"
#include "http/ClientConnection.h"
#include "http/CorsPolicy.h"
#include "http/HostPolicy.h"
#include "http/HttpRequest.h"
#include "keys/ClientAuthenticator.h"
#include "keys/RateLimiter.h"
#include "keys/SpendTracker.h"
#include "keys/VirtualKey.h"
#include "rewrite/CacheInjector.h"
#include "rewrite/PromptLayout.h"
#include "routing/ProviderRuntime.h"
#include "routing/RouteTable.h"
#include "upstream/KeyPool.h"
#include "upstream/UpstreamTarget.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <memory>
#include <optional>

class QThreadPool;
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

    // Set before start() when budgets are on: start() then waits for seedSpend().
    void setWaitsForSpend(bool waits) { m_waitsForSpend = waits; }

    void start();
    // start() in place of a running server: takes its listening socket when this one
    // listens on the same address and port (any port, for port 0), else opens its own,
    // with no moment in which the port refuses a client. Once this one listens (started()),
    // the other drains: it accepts no more clients, and hands each client connection over
    // to this one as soon as it is between requests (at once for an idle keep-alive one,
    // after the response in progress for the others, whose bytes all reach the client), so
    // that no client sees its connection closed; then it says drained() (never stopped())
    // and deletes itself. If this one cannot listen (startFailed()), the other runs on
    // untouched.
    // Virtual keys' rate-limit state, stream slots and the upstream keys' health carry over.
    void takeOver(tollgate::ProxyServer *previous);
    void stop();
    // Books the tokens and cost of accounted requests against their virtual key's limits
    // and budgets (called, queued, from the ledger thread once usage is known).
    void chargeUsage(const QList<tollgate::RequestRecord> &records);
    // What the request log held of this day and month when the gateway started.
    void seedSpend(const tollgate::SpendTotals &totals);
    // Replaces the virtual keys (settings changed, a key was made, rotated or removed):
    // a key that keeps its alias keeps its buckets and streams in flight.
    void setVirtualKeys(const QList<tollgate::VirtualKey> &keys);
    // Upstream keys at run time (the window's Keys page).
    void addUpstreamKey(const QString &alias, const QByteArray &secret);
    void removeUpstreamKey(const QString &alias);
    void setUpstreamKeyEnabled(const QString &alias, bool isEnabled);
    // The prompt-cache policy for requests that arrive from now on (settings changed); a
    // body being prepared on a worker keeps the policy it started with.
    void setCacheInjection(const tollgate::CacheInjector::Policy &policy);
    // Answers with keyStatus().
    void requestKeyStatus();

signals:
    void started(quint16 port);
    void startFailed(const QString &error);
    void stopped();
    // After takeOver() by a successor: the last request ended, or stop() was called.
    void drained();
    // Records of finished requests, delivered in batches: one cross-thread wake-up per
    // batch instead of one per request.
    void requestsFinished(const QList<tollgate::RequestRecord> &records);
    // The upstream refused a key (401/402/403): it stays out of the pool until the user
    // acts. reason is the vendor's error message or type, never the key.
    void upstreamKeyDisabled(const QString &alias, const QString &reason);
    // A budget changed level: 80 % spent, used up, or reset at a new day or month.
    void budgetChanged(const tollgate::SpendTracker::Status &status);
    void keyStatus(const QList<tollgate::KeyPool::KeySnapshot> &upstream,
                   const tollgate::KeyPool::Headroom &headroom,
                   const QList<tollgate::SpendTracker::Status> &budgets);
    // Each provider's health, after keyStatus: "ok", "limited" (every usable key rests after
    // a 429/529), "failing" (every key refused, unreachable or answering 5xx) or "no keys".
    void providerHealth(const QString &provider, const QString &state, const QString &detail);

private:
    ClientConnection::HeadDecision checkHead(ClientConnection *connection,
                                             const HttpParser &head) override;
    void handleRequest(ClientConnection *connection, HttpRequest &&request) override;
    void bodyArrived(ClientConnection *connection, QByteArrayView bodySoFar) override;
    QByteArray requestRefused(ClientConnection *connection, const HttpParser &head, int status,
                              const QString &message) override;
    void connectionClosed(ClientConnection *connection) override;
    ClientConnection::HeadDecision headDecision(const HttpParser &head);
    void connectionIdle(ClientConnection *connection) override;
    QByteArray adaptResponse(const QByteArray &response) override;

    // A virtual key's settings and its request buckets; credentials of one alias share it.
    struct VirtualKeyState
    {
        VirtualKey key;
        RateLimiter limiter;
    };

    // A request that passed its checks, on its way to an Exchange.
    struct PendingExchange
    {
        HttpRequest request;
        ClientAuthenticator::Result auth;
        RequestRecord record;
        std::shared_ptr<VirtualKeyState> state; // null unless a virtual key's
        Exchange::Plan plan;
        bool injectsCache = true; // the route allows prompt-cache markers
    };

    void listen();
    // Gives up the listening socket to a successor (which reparents it).
    HttpListener *releaseListener();
    void adoptStateOf(const ProxyServer &previous);
    void drain(ProxyServer *successor);
    // An idle client connection of the server taken over: its next requests come here.
    void adoptConnection(ClientConnection *connection);
    void handOver(ClientConnection *connection);
    void finishDrainIfIdle();
    // Where the request goes (providers, model, dialect); false when it was answered instead.
    bool planRoute(ClientConnection *connection, PendingExchange &pending,
                   DialectBridge::Surface surface);
    bool wantsCacheInjection(const PendingExchange &pending, qsizetype bodyBytes) const;
    void onInjected(ClientConnection *connection, const CacheInjector::Result &result,
                    const RequestFacts &facts);
    // A large body's markers spliced in, and its facts noted for the request log.
    static void applyPreparedBody(PendingExchange &pending, const CacheInjector::Result &markers,
                                  const RequestFacts &facts);
    // arrivingBytes >= 0: the body is still arriving (Exchange::setArrivingBody()).
    Exchange *startExchange(ClientConnection *connection, PendingExchange &&pending,
                            qsizetype arrivingBytes = -1);
    // A passthrough request over its budget, answered; false when it may go on.
    bool refusePassthroughSpend(ClientConnection *connection, const HttpRequest &request,
                                const QString &tag);
    // A large Messages body that goes upstream while it arrives (see m_arriving).
    struct ArrivingBody
    {
        HttpRequest head; // the request without its body
        qsizetype length = 0; // of the body, as the client announced it
        bool isTried = false; // dispatchEarly() was tried
        bool injects = false;
        QPointer<Exchange> exchange;
        qsizetype forwarded = 0;
        bool isPlanAheadBroken = false; // a later plan differed: no more go ahead
        QByteArray owner; // its credential's digest (journalOwner())
    };
    void planAhead(const PromptLayoutBuilder &builder, ArrivingBody &arriving,
                   const Exchange &exchange, qsizetype bodySize, qsizetype &stable,
                   QList<CacheInjector::Insertion> &markers) const;
    bool dispatchEarly(ClientConnection *connection, ArrivingBody &arriving);
    // Who a request's credential names: a virtual key (with its state), a passthrough
    // credential, or none.
    struct Credential
    {
        ClientAuthenticator::Result auth = ClientAuthenticator::Result::Missing;
        std::shared_ptr<VirtualKeyState> state; // null unless a virtual key's
    };
    Credential credentialOf(const HeaderList &headers) const;
    // The checks every forwarded request passes from its credential on (the key's state,
    // limits and budgets, the passthrough budget) and its log row; empty when it was answered.
    std::optional<PendingExchange> admit(ClientConnection *connection, HttpRequest &&request,
                                         const Credential &credential, qsizetype bodyBytes);
    // The ledger is far behind, or requests are held already (they keep their order).
    bool holdsRequests() const;
    void completeArriving(ClientConnection *connection, HttpRequest &&request,
                          const ArrivingBody &arriving,
                          const std::shared_ptr<PromptLayoutBuilder> &layoutBuilder);
    void completeScanned(Exchange *exchange, QByteArray &&body,
                         const CacheInjector::Result &markers, const RequestFacts &facts,
                         const PromptLayoutBuilder &builder, const HeaderList &headers);
    void onAccepted(qintptr descriptor);
    // The first reason this virtual-key request may not go upstream, answered; false when
    // it may (its stream slot is then taken).
    bool refuseVirtualKeyRequest(ClientConnection *connection, const HttpRequest &request,
                                 VirtualKeyState &state, const QString &tag);
    void onExchangeFinished(Exchange *exchange, const RequestRecord &record);
    void sweep();
    // Keeps what the scan of a body that went upstream learnt, for the conversation's next
    // request: `markers` are those spliced into `body` since.
    void keepJournal(const HeaderList &headers, const PromptLayoutBuilder &builder,
                     const QByteArray &body, const CacheInjector::Result &markers);
    std::shared_ptr<PromptLayoutBuilder> newLayoutBuilder(const HeaderList &headers) const;
    void addRecord(const RequestRecord &record);
    void deliverRecords();
    void deleteFinishedExchanges();
    bool holdForLedger(ClientConnection *connection, HttpRequest &request);
    void releaseHeldRequests();
    void answerLocally(ClientConnection *connection, const HttpRequest &request, int status,
                       const QByteArray &extraHeaders, const QByteArray &body,
                       bool isLogged = true);
    void answerMetrics(ClientConnection *connection, const HttpRequest &request);
    void answerPreflight(ClientConnection *connection, const HttpRequest &request);
    void answerError(ClientConnection *connection, const HttpRequest &request, int status,
                     const QString &message);
    // A record of a request; with the virtual key's state, named after the key and with its
    // billing tag (unless the request carries its own).
    RequestRecord newRecord(const QByteArray &method, const QByteArray &target,
                            const HeaderList &headers, const VirtualKeyState *state = nullptr);
    QString billingTagFor(const HeaderList &headers, const VirtualKeyState *state) const;
    void emitLocalRecord(RequestRecord record, int status, qint64 receivedAtUs,
                         const QString &error);
    // A request refused before it was read whole, with the reason; the host, method or
    // target refused, or a flood of refusals, never floods the log.
    void logRefusal(ClientConnection *connection, const HttpParser &head, int status,
                    const QString &message);
    // Whether this listener answers to the head's Host (DNS rebinding); a head without one
    // (HTTP/1.0) is allowed.
    HostPolicy::Verdict hostVerdict(const HttpParser &head) const;
    // Refuses a Host this listener does not answer to and methods Tollgate does not serve;
    // false when the head may go on.
    bool refuseHostOrMethod(const HttpParser &head, ClientConnection::HeadDecision *decision) const;

    GatewayConfig m_config;
    UpstreamTarget m_target;
    ClientAuthenticator m_authenticator;
    CorsPolicy m_cors;
    HostPolicy m_hosts;
    // Refusals logged in the current second, and those left out of the log since.
    qint64 m_refusalLogSecondUs = 0;
    int m_refusalsLogged = 0;
    int m_refusalsNotLogged = 0;
    std::shared_ptr<UsageMetrics> m_metrics;
    std::shared_ptr<LedgerBacklog> m_backlog;
    ClientConnection::Limits m_limits;
    HttpListener *m_server = nullptr;
    quint16 m_port = 0; // where m_server listens, or listened before a successor took it
    QPointer<ProxyServer> m_previous; // the server taken over, until this one listens
    QPointer<ProxyServer> m_successor; // the server that took over from this one
    QList<QPointer<ProxyServer>> m_predecessors; // servers taken over, still draining
    bool m_isDraining = false;
    bool m_isStopped = false;
    ConnectionPool *m_pool = nullptr;
    KeyPool m_keys;
    // By name; "anthropic" is the gateway's own upstream and key pool.
    QHash<QString, std::shared_ptr<ProviderRuntime>> m_providers;
    ProviderRuntime *m_anthropic = nullptr; // m_providers' built-in Anthropic provider
    RouteTable m_routes;
    // The key state of each credential m_authenticator knows, by its index there: no lookup
    // by alias (a string hash) on every request.
    QList<std::shared_ptr<VirtualKeyState>> m_credentialStates;
    QHash<QString, std::shared_ptr<VirtualKeyState>> m_virtualKeys; // by alias
    // Exchanges holding a stream slot of their key's limiter.
    QHash<Exchange *, std::shared_ptr<VirtualKeyState>> m_limitedExchanges;
    SpendTracker m_spend;
    // Cache markers for large bodies, and the facts of large bodies for the request log.
    QThreadPool *m_workers = nullptr;
    QHash<ClientConnection *, std::shared_ptr<PendingExchange>> m_injecting;
    // The prompt layout of large Messages bodies, taken while they arrive.
    QHash<ClientConnection *, std::shared_ptr<PromptLayoutBuilder>> m_bodyLayouts;
    // The journals of the latest large Messages bodies, most recent first: each turn of a
    // conversation sends the whole of it again, and only what changed since is scanned.
    // Each is offered only to requests with the credential of the one it came from: how
    // long a body takes must not tell one user whether another sent the same conversation.
    struct KeptJournal
    {
        std::shared_ptr<const PromptLayoutBuilder::Journal> journal;
        QByteArray owner; // a digest of the request's credential headers
        qint64 keptAtUs = 0;
    };
    QList<KeptJournal> m_journals;
    // Credentials (their digests) whose body planned ahead was sent again, and when.
    QHash<QByteArray, qint64> m_planAheadMisses;
    // Large Messages bodies sent on as they arrive: all but the part where cache markers may
    // still go leaves before the last byte is in, as a streaming proxy would send it.
    QHash<ClientConnection *, ArrivingBody> m_arriving;
    bool m_waitsForSpend = false;
    bool m_isStarting = false; // start() called, waiting for seedSpend()
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
