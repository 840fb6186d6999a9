#include "ProxyServer.h"

#include "Exchange.h"
#include "MonotonicClock.h"
#include "http/ErrorResponse.h"
#include "http/HttpListener.h"
#include "rewrite/PromptLayout.h"
#include "store/LedgerBacklog.h"
#include "translate/ErrorTranslator.h"
#include "upstream/ConnectionPool.h"
#include "usage/UsageExtractor.h"
#include "usage/UsageMetrics.h"

#include "json/JsonScan.h"
#include <QAbstractEventDispatcher>
#include <QCryptographicHash>
#include <QDateTime>
#include <QLoggingCategory>
#include <QThreadPool>
#include <QTimer>
#include <algorithm>

namespace tollgate {

Q_LOGGING_CATEGORY(lcHttp, "tollgate.http")

namespace {
// Finished-request records reach the owner's thread at most this late.
constexpr int kRecordBatchMs = 20;
// How often held requests check whether the ledger has caught up.
constexpr int kHoldPollMs = 2;
// Bodies up to this size get their cache markers on the proxy thread (about 0.3 ms for
// 1 MiB, one validating pass and the splice); larger ones on a worker.
constexpr qsizetype kInlineInjectionBytes = 1024 * 1024;
// Messages bodies from this size on have their prompt layout taken while they arrive, a whole
// message at a time; what is left for the last byte is the part after the last whole message.
constexpr quint64 kWatchedBodyBytes = 128 * 1024;
// A single message (or top-level member) longer than this is not scanned again and again as
// it arrives: it is left, with the rest of the body, to the scan once the body is in.
constexpr qsizetype kLongestArrivingMessage = 256 * 1024;
// Messages bodies from this size on, announced by Content-Length, go upstream while they
// arrive (ProxyServer::m_arriving); resending megabytes after the last byte costs
// milliseconds that a streaming proxy does not add.
constexpr quint64 kStreamedBodyBytes = 256 * 1024;
// More of such a body is passed on only while the vendor's connection holds less than this.
constexpr qint64 kForwardBacklogBytes = 512 * 1024;
// Journals of scanned bodies kept for a conversation's next turn (PromptLayoutBuilder): the
// latest few conversations (GatewayConfig::scanJournalCount, scanJournalBytes), each for as
// long as a 5-minute cache entry would make its next turn worth sending.
constexpr qint64 kJournalLifetimeUs = 10 * 60 * 1000 * 1000LL;
// A credential whose body planned ahead had to be sent again (its rest held more client
// markers than foreseen: a client that marks its tools too, say) plans no more ahead for this
// long: such a client would otherwise upload each large body twice.
constexpr qint64 kPlanAheadPauseUs = 10 * 60 * 1000 * 1000LL;

// Who sent a request, for what Tollgate keeps per client: a digest of its credential headers.
QByteArray journalOwner(const HeaderList &headers)
{
    QCryptographicHash digest(QCryptographicHash::Sha256);
    digest.addData(headers.value(QByteArrayLiteral("x-api-key")));
    digest.addData(QByteArrayView("\n"));
    digest.addData(headers.value(QByteArrayLiteral("authorization")));
    return digest.result();
}

// What a large Messages body needs before it goes: its cache markers, and the request log's
// facts while it is at hand (markers change none of them).
struct PreparedBody
{
    CacheInjector::Result markers;
    RequestFacts facts;
};

// The builder has taken what arrived of the body so far. The facts come from its copy of the
// few members they are read from when the body was one JSON object, else from the whole body.
PreparedBody prepareBody(PromptLayoutBuilder &builder, const QByteArray &body,
                         const CacheInjector::Policy &policy)
{
    const PromptLayout layout = builder.finish(body);
    const bool isObject = layout.status != PromptLayout::Status::NotJson
        && layout.status != PromptLayout::Status::NotObject;
    return {CacheInjector::plan(layout, policy),
            UsageExtractor::requestFacts(isObject ? builder.factMembers(body) : body)};
}

bool isBatchPath(const QByteArray &path)
{
    return path.startsWith("/v1/messages/batches");
}

bool isApiPath(const QByteArray &path)
{
    return path.startsWith("/v1/") || path == "/v1";
}

// "/v1/../x" must not reach a different resource than it appears to name.
bool hasDotSegment(const QByteArray &path)
{
    const QByteArrayView whole(path);
    qsizetype start = 0;
    while (start <= whole.size()) {
        qsizetype end = whole.indexOf('/', start);
        if (end < 0)
            end = whole.size();
        const QByteArrayView segment = whole.sliced(start, end - start);
        if (segment == "." || segment == ".." || segment.compare("%2e%2e", Qt::CaseInsensitive) == 0
            || segment.compare("%2e", Qt::CaseInsensitive) == 0)
            return true;
        start = end + 1;
    }
    return false;
}

// What the route rules look at, from the body's top-level members: the model, and whether
// extended thinking is on (Anthropic's "thinking" of type enabled or adaptive, OpenAI's
// "reasoning_effort").
RouteTable::Query routeQueryFor(const HttpRequest &request, const QString &virtualKey)
{
    RouteTable::Query query;
    query.virtualKey = virtualKey;
    query.promptTokens = RouteTable::estimatePromptTokens(request.body.size());
    json::forEachMember(request.body, [&](std::string_view name, json::Member &member) {
        if (name == "model") {
            query.model = member.toString();
        } else if (name == "thinking" && member.type() == json::Member::Type::Object) {
            member.forEachMember([&](std::string_view field, json::Member &value) {
                if (field == "type") {
                    const QString type = value.toString();
                    query.thinking =
                        type == QLatin1String("enabled") || type == QLatin1String("adaptive");
                }
                return field != "type";
            });
        } else if (name == "reasoning_effort" && member.type() == json::Member::Type::String) {
            query.thinking = member.toString() != QLatin1String("none");
        }
        return true;
    });
    return query;
}

// The models a request asks for: the body's "model", or each batch request's
// params.model. Empty when the body names none (model lists, batch results).
QStringList requestedModels(const HttpRequest &request)
{
    QStringList models;
    if (request.body.isEmpty())
        return models;
    json::forEachMember(request.body, [&](std::string_view name, json::Member &member) {
        if (name == "model") {
            models.append(member.toString());
        } else if (name == "requests" && member.type() == json::Member::Type::Array) {
            member.forEachElement([&](json::Member &entry) {
                entry.forEachMember([&](std::string_view field, json::Member &params) {
                    if (field == "params") {
                        params.forEachMember([&](std::string_view key, json::Member &value) {
                            if (key == "model")
                                models.append(value.toString());
                            return key != "model";
                        });
                    }
                    return true;
                });
                return true;
            });
        }
        return true;
    });
    // A body that is not JSON or names no model: the key's list decides on "" (refused).
    if (models.isEmpty() && request.method == "POST")
        models.append(QString());
    return models;
}

QByteArray pathOf(const QByteArray &target)
{
    const qsizetype q = target.indexOf('?');
    return q < 0 ? target : target.left(q);
}
} // namespace

ProxyServer::ProxyServer(const GatewayConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_target(UpstreamTarget::fromUrl(config.upstream, config.upstreamCaFile))
    , m_authenticator({}, config.passthroughAuth)
    , m_cors(config.corsOrigins)
    , m_hosts(config.listenAddress, config.allowedHosts)
{
    setVirtualKeys(config.allVirtualKeys());
    for (auto it = config.tagBudgets.begin(); it != config.tagBudgets.end(); ++it)
        m_spend.setTagCaps(it.key(), it.value());
    m_limits.maxHeaderBytes = config.maxHeaderBytes;
    m_limits.maxBodyBytes = std::max(config.maxBodyBytes, config.maxBatchBodyBytes);
    m_limits.headerReadTimeoutMs = config.headerReadTimeoutMs;
    m_limits.bodyReadTimeoutMs = config.bodyReadTimeoutMs;
    m_limits.keepAliveTimeoutMs = config.keepAliveTimeoutMs;

    auto anthropic = std::make_shared<ProviderRuntime>();
    anthropic->provider.name = QString(Provider::kAnthropic);
    anthropic->provider.baseUrl = config.upstream;
    anthropic->target = m_target;
    anthropic->keys = &m_keys;
    m_providers.insert(anthropic->provider.name, anthropic);
    for (const Provider &provider : config.providers) {
        auto runtime = std::make_shared<ProviderRuntime>();
        runtime->provider = provider;
        runtime->target = UpstreamTarget::fromUrl(provider.baseUrl, config.upstreamCaFile);
        runtime->ownedKeys = std::make_unique<KeyPool>();
        for (const UpstreamKey &key : provider.keys)
            runtime->ownedKeys->addKey(key.alias, key.secret);
        runtime->keys = runtime->ownedKeys.get();
        m_providers.insert(provider.name, runtime);
    }
    m_anthropic = m_providers.value(QString(Provider::kAnthropic)).get();
    m_routes = RouteTable(config.routes);
}

ProxyServer::~ProxyServer() = default;

void ProxyServer::start()
{
    // http-parser's own header cap is process-wide; keep it above ours so that ours, with
    // its 431 answer, is the one that applies.
    http_parser_set_max_header_size(
        uint32_t(std::max<qint64>(m_config.maxHeaderBytes * 2, 80 * 1024)));

    m_pool = new ConnectionPool(this);
    m_workers = new QThreadPool(this);
    m_workers->setMaxThreadCount(2);
    m_workers->setObjectName(QStringLiteral("tollgate-worker"));
    for (const UpstreamKey &key : m_config.allUpstreamKeys())
        m_keys.addKey(key.alias, key.secret);
    for (const auto &runtime : std::as_const(m_providers)) {
        if (runtime->ownedKeys)
            runtime->ownedKeys->setSessionAffinity(m_config.sessionAffinity);
    }
    m_keys.setStrategy(m_config.keyStrategy == GatewayConfig::KeyStrategy::LeastRecentlyLimited
                           ? KeyPool::Strategy::LeastRecentlyLimited
                           : KeyPool::Strategy::RoundRobin);
    m_keys.setSessionAffinity(m_config.sessionAffinity);
    m_keys.setEventHandler([this](const KeyPool::Event &event) {
        if (event.kind == KeyPool::Event::Kind::Disabled)
            emit upstreamKeyDisabled(event.alias, event.reason);
    });
    m_spend.setEventHandler(
        [this](const SpendTracker::Status &status) { emit budgetChanged(status); });
    // With budgets, nothing is forwarded before the spend so far is known: a budget used
    // up before a restart stays used up.
    if (m_waitsForSpend) {
        m_isStarting = true;
        return;
    }
    listen();
}

void ProxyServer::seedSpend(const SpendTotals &totals)
{
    if (!totals.error.isEmpty())
        qWarning("tollgate: budgets count from now on: cannot read today's spend from the "
                 "request log: %s",
                 qPrintable(totals.error));
    m_spend.seed(totals, QDateTime::currentMSecsSinceEpoch());
    if (m_isStarting) {
        m_isStarting = false;
        listen();
    }
}

void ProxyServer::takeOver(ProxyServer *previous)
{
    m_previous = previous;
    start();
}

HttpListener *ProxyServer::releaseListener()
{
    HttpListener *listener = m_server;
    m_server = nullptr;
    if (listener) {
        disconnect(listener, nullptr, this, nullptr);
        listener->setParent(nullptr);
    }
    return listener;
}

void ProxyServer::listen()
{
    const bool isSameSocket = m_previous && m_previous->m_server
        && m_previous->m_config.listenAddress == m_config.listenAddress
        && (m_config.port == 0 || m_config.port == m_previous->m_port);
    if (isSameSocket) {
        m_server = m_previous->releaseListener();
        m_server->setParent(this);
    } else {
        m_server = new HttpListener(this);
        if (!m_server->listen(m_config.listenAddress, m_config.port, 1024)) {
            const QString error = QStringLiteral("cannot listen on %1:%2: %3")
                                      .arg(m_config.listenAddress.toString())
                                      .arg(m_config.port)
                                      .arg(m_server->errorString());
            delete m_server;
            m_server = nullptr;
            m_previous = nullptr;
            emit startFailed(error);
            return;
        }
    }
    connect(m_server, &HttpListener::accepted, this, &ProxyServer::onAccepted);
    m_port = m_server->port();
    if (m_previous) {
        adoptStateOf(*m_previous);
        m_previous->drain(this);
        m_previous = nullptr;
    }
    // One coarse timer applies every timeout: cheaper than a timer per connection and
    // precise enough (a quarter of the shortest timeout, at most a second).
    const int shortest =
        std::min({m_config.connectTimeoutMs, m_config.firstByteTimeoutMs, m_config.idleTimeoutMs,
                  m_config.headerReadTimeoutMs, m_config.bodyReadTimeoutMs,
                  m_config.keepAliveTimeoutMs, m_config.upstreamIdleTimeoutMs});
    m_sweepTimer = new QTimer(this);
    m_sweepTimer->setInterval(std::clamp(shortest / 4, 10, 1000));
    connect(m_sweepTimer, &QTimer::timeout, this, &ProxyServer::sweep);
    m_sweepTimer->start();
    m_recordTimer = new QTimer(this);
    m_recordTimer->setSingleShot(true);
    m_recordTimer->setInterval(kRecordBatchMs);
    connect(m_recordTimer, &QTimer::timeout, this, &ProxyServer::deliverRecords);
    // A finished exchange may still be on the call stack that finished it; it is deleted
    // once the loop is back at the top, without posting an event per request.
    connect(QAbstractEventDispatcher::instance(), &QAbstractEventDispatcher::aboutToBlock, this,
            &ProxyServer::deleteFinishedExchanges);
    emit started(m_port);
}

void ProxyServer::adoptStateOf(const ProxyServer &previous)
{
    // The same VirtualKeyState objects: the previous server's streams still hold their
    // slots in them, and the request buckets go on where they were.
    QHash<QString, std::shared_ptr<VirtualKeyState>> states = previous.m_virtualKeys;
    std::swap(m_virtualKeys, states);
    setVirtualKeys(m_config.allVirtualKeys());
    m_keys.adoptHealth(previous.m_keys);
    // With a request log the spend so far was read back from it (seedSpend()); without one
    // only the previous server knows it.
    if (!m_config.store)
        m_spend.adoptSpend(previous.m_spend, QDateTime::currentMSecsSinceEpoch());
    for (auto it = m_providers.cbegin(); it != m_providers.cend(); ++it) {
        const std::shared_ptr<ProviderRuntime> theirs = previous.m_providers.value(it.key());
        if (it.value()->ownedKeys && theirs && theirs->ownedKeys)
            it.value()->ownedKeys->adoptHealth(*theirs->ownedKeys);
    }
}

void ProxyServer::drain(ProxyServer *successor)
{
    m_isDraining = true;
    m_successor = successor;
    // Servers still draining into this one hand their connections to the newest server
    // from now on: this one may be gone before they are.
    m_predecessors.append(this);
    for (const QPointer<ProxyServer> &predecessor : std::as_const(m_predecessors)) {
        if (!predecessor)
            continue;
        predecessor->m_successor = successor;
        successor->m_predecessors.append(predecessor);
    }
    m_predecessors.clear();
    if (m_server) {
        m_server->close();
        delete m_server;
        m_server = nullptr;
    }
    const QList<ClientConnection *> connections = m_connections.values();
    for (ClientConnection *connection : connections) {
        if (m_connections.contains(connection) && connection->isIdle())
            handOver(connection);
    }
    finishDrainIfIdle();
}

void ProxyServer::connectionIdle(ClientConnection *connection)
{
    if (m_isDraining)
        handOver(connection);
}

void ProxyServer::handOver(ClientConnection *connection)
{
    if (!m_successor) {
        connection->close(); // between requests, and the successor is gone: the gateway stops
        return;
    }
    m_connections.remove(connection);
    m_successor->adoptConnection(connection);
}

void ProxyServer::adoptConnection(ClientConnection *connection)
{
    connection->setParent(this);
    connection->setHandler(this, m_limits);
    m_connections.insert(connection);
    if (m_isDraining)
        handOver(connection); // taken over meanwhile as well: on to the newest server
}

void ProxyServer::finishDrainIfIdle()
{
    if (m_isDraining && m_connections.isEmpty() && m_exchanges.isEmpty() && m_injecting.isEmpty())
        stop(); // nothing left to cut
}

void ProxyServer::stop()
{
    if (m_isStopped)
        return; // stopped, or drained, and being deleted
    m_isStopped = true;
    // Workers post back to this object: none may be running once it is gone.
    if (m_workers)
        m_workers->waitForDone();
    if (m_sweepTimer)
        m_sweepTimer->stop();
    if (m_server)
        m_server->close();
    m_held.clear();
    m_arriving.clear();
    m_journals.clear();
    if (m_holdTimer)
        m_holdTimer->stop();
    const QList<Exchange *> exchanges = m_exchanges.values();
    for (Exchange *exchange : exchanges)
        exchange->cancel();
    const QList<ClientConnection *> connections = m_connections.values();
    for (ClientConnection *connection : connections)
        connection->close();
    if (m_pool)
        m_pool->closeAll();
    deliverRecords();
    // A server that was taken over says so apart: it may drain before its successor's
    // started() reached the Gateway, whose stopped() means that the proxy is off.
    if (m_isDraining)
        emit drained();
    else
        emit stopped();
    // Deleted on this thread: the Gateway ends the thread, which runs deferred deletes.
    deleteLater();
}

void ProxyServer::onAccepted(qintptr descriptor)
{
    auto *connection = new ClientConnection(descriptor, this, m_limits, this);
    m_connections.insert(connection);
    connection->start(); // may answer, or even close, at once
}

ClientConnection::HeadDecision ProxyServer::checkHead(ClientConnection *connection,
                                                      const HttpParser &head)
{
    m_bodyLayouts.remove(connection);
    m_arriving.remove(connection);
    ClientConnection::HeadDecision decision = headDecision(head);
    if (decision.refuseStatus != 0 || head.method() != "POST"
        || pathOf(head.target()) != "/v1/messages")
        return decision;
    if ((head.isChunked() || head.contentLength() >= kWatchedBodyBytes)
        && m_config.cacheInjection.isEnabled) {
        decision.watchesBody = true;
        m_bodyLayouts.insert(connection, newLayoutBuilder(head.headers()));
    }
    // Without routing rules a Messages request goes to the Anthropic provider as it is: no
    // model to read first, no translation of the whole body.
    if (!head.isChunked() && head.hasContentLength() && head.contentLength() >= kStreamedBodyBytes
        && m_routes.rules().isEmpty()) {
        decision.watchesBody = true;
        ArrivingBody arriving;
        arriving.head.method = head.method();
        arriving.head.target = head.target();
        arriving.head.httpMinor = head.httpMinor();
        arriving.head.headers = head.headers();
        arriving.length = qsizetype(head.contentLength());
        m_arriving.insert(connection, std::move(arriving));
    }
    return decision;
}

void ProxyServer::bodyArrived(ClientConnection *connection, QByteArrayView bodySoFar)
{
    // Held here: a refusal below may close the connection, which drops the maps' entries.
    const std::shared_ptr<PromptLayoutBuilder> builder = m_bodyLayouts.value(connection);
    if (builder)
        builder->feed(bodySoFar, kLongestArrivingMessage);
    const auto found = m_arriving.find(connection);
    if (found == m_arriving.end())
        return;
    if (!found->isTried) {
        found->isTried = true;
        if (!dispatchEarly(connection, *found)) {
            m_arriving.remove(connection); // held, refused or answered: the usual way, or none
            return;
        }
    }
    const auto still = m_arriving.find(connection);
    if (still == m_arriving.end())
        return;
    ArrivingBody &arriving = *still;
    Exchange *exchange = arriving.exchange;
    if (!exchange || exchange->isFinished() || !exchange->isBodyArriving()) {
        m_arriving.remove(connection);
        return;
    }
    qsizetype stable = bodySoFar.size();
    QList<CacheInjector::Insertion> markers;
    if (arriving.injects && builder) {
        stable = std::min(builder->stableBytes(), bodySoFar.size());
        planAhead(*builder, arriving, *exchange, bodySoFar.size(), stable, markers);
    }
    // A vendor slower than the client: what it has not taken waits in the body rather than
    // in a second copy, and goes at a later read or with the last byte.
    if (stable > arriving.forwarded && exchange->upstreamBacklog() < kForwardBacklogBytes) {
        exchange->forwardBody(bodySoFar.sliced(arriving.forwarded, stable - arriving.forwarded),
                              markers);
        arriving.forwarded = stable;
    }
}

// Past the messages array, where Claude Code's system prompt and tools come, the markers of
// the body are known but for what its rest may hold: a plan of the layout so far puts them,
// and they go ahead with the bytes around them. Each later plan must agree with those sent;
// once one does not, nothing more goes ahead, and the body is sent again at its end
// (Exchange::completeBody()).
void ProxyServer::planAhead(const PromptLayoutBuilder &builder, ArrivingBody &arriving,
                            const Exchange &exchange, qsizetype bodySize, qsizetype &stable,
                            QList<CacheInjector::Insertion> &markers) const
{
    if (arriving.isPlanAheadBroken)
        return;
    const auto missed = m_planAheadMisses.constFind(arriving.owner);
    if (missed != m_planAheadMisses.cend() && monotonicUs() - *missed < kPlanAheadPauseUs)
        return;
    const std::optional<PromptLayout> layout = builder.provisionalLayout();
    if (!layout)
        return;
    const CacheInjector::Result plan = CacheInjector::plan(*layout, m_config.cacheInjection);
    if (!exchange.agreesWithMarkersSent(plan.insertions)) {
        arriving.isPlanAheadBroken = true;
        return;
    }
    const qsizetype covered = std::min(builder.provisionalBytes(), bodySize);
    if (covered <= stable)
        return;
    stable = covered;
    for (const CacheInjector::Insertion &insertion : plan.insertions) {
        if (insertion.offset >= arriving.forwarded && insertion.offset < covered)
            markers.append(insertion);
    }
}

// The checks handleRequest() makes, for a request whose body has only begun to arrive; true
// when it went upstream. Not taken (false, nothing answered) when the ledger holds requests
// back or the key may use only some models (read from the whole body): the request then goes
// the usual way once it is in. Otherwise a refusal is answered at once, and the connection
// closes after it.
bool ProxyServer::dispatchEarly(ClientConnection *connection, ArrivingBody &arriving)
{
    if (holdsRequests())
        return false;
    HttpRequest request = arriving.head;
    request.receivedAtUs = monotonicUs(); // the last byte's time replaces it
    const Credential credential = credentialOf(request.headers);
    if (credential.state && !credential.state->key.models.isEmpty())
        return false;
    if (m_anthropic->provider.kind != Provider::Kind::Anthropic)
        return false;
    connection->dispatchEarly();
    const qsizetype length = arriving.length;
    std::optional<PendingExchange> pending =
        admit(connection, std::move(request), credential, length);
    if (!pending || !planRoute(connection, *pending, DialectBridge::Surface::Anthropic))
        return false;
    const bool injects = wantsCacheInjection(*pending, length);
    Exchange *exchange = startExchange(connection, std::move(*pending),
                                       length + (injects ? CacheInjector::maxInsertedBytes() : 0));
    if (exchange->isFinished())
        return false; // answered at once; the connection may be gone, and `arriving` with it
    ArrivingBody &still = m_arriving[connection];
    still.exchange = exchange;
    still.injects = injects;
    if (injects)
        still.owner = journalOwner(still.head.headers);
    return true;
}

void ProxyServer::completeArriving(ClientConnection *connection, HttpRequest &&request,
                                   const ArrivingBody &arriving,
                                   const std::shared_ptr<PromptLayoutBuilder> &layoutBuilder)
{
    Exchange *exchange = arriving.exchange;
    if (!exchange || exchange->isFinished())
        return; // answered before the body was in; the connection closes
    if (!arriving.injects || !layoutBuilder) {
        exchange->completeBody(std::move(request.body), nullptr, nullptr);
        return;
    }
    const qsizetype unscanned = request.body.size() - layoutBuilder->scannedBytes();
    if (unscanned <= kInlineInjectionBytes) {
        const PreparedBody prepared =
            prepareBody(*layoutBuilder, request.body, m_config.cacheInjection);
        completeScanned(exchange, std::move(request.body), prepared.markers, prepared.facts,
                        *layoutBuilder, request.headers);
        return;
    }
    // What is left to scan is one long message: on a worker, as for a body held whole. The
    // worker only reads the body; nothing touches it until the result is back.
    const auto body = std::make_shared<QByteArray>(std::move(request.body));
    const CacheInjector::Policy policy = m_config.cacheInjection;
    const QPointer<Exchange> target = exchange;
    const HeaderList headers = request.headers;
    m_workers->start([this, body, policy, layoutBuilder, target, headers] {
        PreparedBody prepared = prepareBody(*layoutBuilder, *body, policy);
        // Safe: the server waits for its workers before it goes (stop()).
        QMetaObject::invokeMethod(
            this, [this, body, target, layoutBuilder, headers, prepared = std::move(prepared)] {
                if (target) // gone with its client meanwhile; the worker is done with the body
                    completeScanned(target, std::move(*body), prepared.markers, prepared.facts,
                                    *layoutBuilder, headers);
            });
    });
    Q_UNUSED(connection)
}

// The rest of an arriving body goes upstream with the markers its scan found, and the scan's
// journal is kept for the conversation's next request.
void ProxyServer::completeScanned(Exchange *exchange, QByteArray &&body,
                                  const CacheInjector::Result &markers, const RequestFacts &facts,
                                  const PromptLayoutBuilder &builder, const HeaderList &headers)
{
    exchange->setLayoutReusedBytes(builder.reusedBytes());
    exchange->completeBody(std::move(body), &markers, &facts);
    if (exchange->wasSentAgain()) {
        const qint64 now = monotonicUs();
        m_planAheadMisses.removeIf(
            [now](const auto &miss) { return now - miss.value() >= kPlanAheadPauseUs; });
        m_planAheadMisses.insert(journalOwner(headers), now);
    }
    keepJournal(headers, builder, exchange->requestBody(), markers);
}

ClientConnection::HeadDecision ProxyServer::headDecision(const HttpParser &head)
{
    ClientConnection::HeadDecision decision;
    const QByteArray path = pathOf(head.target());
    // An OpenAI client reads Tollgate's own errors in OpenAI's shape.
    decision.adaptsResponses = path == "/v1/chat/completions";
    decision.maxBodyBytes = isBatchPath(path) ? m_config.maxBatchBodyBytes : m_config.maxBodyBytes;
    if (refuseHostOrMethod(head, &decision))
        return decision;
    if (!head.target().startsWith('/')) {
        decision.refuseStatus = 400;
        decision.message = QStringLiteral("Tollgate expects an origin-form request target "
                                          "such as /v1/messages");
        return decision;
    }
    const QByteArray method = head.method();
    // A page from an origin not on the list never reaches a key, whatever it sends.
    if (method != "OPTIONS" && m_cors.check(head.headers()) == CorsPolicy::Verdict::Refused) {
        decision.refuseStatus = 403;
        decision.message = QStringLiteral("Requests from the web origin %1 are not allowed (add "
                                          "it to \"cors_origins\" in Tollgate's settings to "
                                          "allow it)")
                               .arg(QString::fromUtf8(
                                   head.headers().value(QByteArrayLiteral("origin")).left(200)));
        return decision;
    }
    if (method == "HEAD" || method == "OPTIONS" || !isApiPath(path))
        return decision;
    // Refuse a wrong key before reading a body of up to 256 MiB.
    const Credential credential = credentialOf(head.headers());
    const ClientAuthenticator::Result auth = credential.auth;
    if (auth == ClientAuthenticator::Result::VirtualKey) {
        const auto &state = credential.state;
        if (state && !state->key.isEnabled) {
            decision.refuseStatus = 401;
            decision.message = QStringLiteral("The Tollgate virtual key \"%1\" is disabled "
                                              "(tollgate vkeys enable %1 turns it on)")
                                   .arg(state->key.alias);
        }
    } else if (auth == ClientAuthenticator::Result::Missing) {
        decision.refuseStatus = 401;
        decision.message = QStringLiteral("No API key: set ANTHROPIC_API_KEY to a Tollgate "
                                          "virtual key");
    } else if (auth == ClientAuthenticator::Result::Rejected) {
        decision.refuseStatus = 401;
        decision.message = QStringLiteral("invalid API key: the key in x-api-key or "
                                          "Authorization is not a Tollgate virtual key "
                                          "(tollgate --headless prints yours)");
    }
    return decision;
}

void ProxyServer::handleRequest(ClientConnection *connection, HttpRequest &&request)
{
    const std::shared_ptr<PromptLayoutBuilder> layoutBuilder = m_bodyLayouts.take(connection);
    if (const ArrivingBody arriving = m_arriving.take(connection); arriving.exchange) {
        completeArriving(connection, std::move(request), arriving, layoutBuilder);
        return;
    }
    const QByteArray path = request.path();
    if (request.method == "HEAD") {
        // Claude Code probes HEAD / (its docs name HEAD /api/hello): answer at once.
        answerLocally(connection, request, 200,
                      QByteArrayLiteral("content-type: application/json\r\n"
                                        "content-length: 0\r\n"),
                      QByteArray());
        return;
    }
    if (request.method == "OPTIONS") {
        answerPreflight(connection, request);
        return;
    }
    if (hasDotSegment(path)) {
        answerError(connection, request, 400, QStringLiteral("Path with dot segments refused"));
        return;
    }
    if (path == "/tollgate/health") {
        if (request.method != "GET") {
            answerError(connection, request, 405, QStringLiteral("Use GET for /tollgate/health"));
            return;
        }
        answerLocally(
            connection, request, 200, QByteArrayLiteral("content-type: application/json\r\n"),
            QByteArrayLiteral("{\"status\":\"ok\",\"version\":\"" TOLLGATE_VERSION "\"}"), false);
        return;
    }
    if (path == "/tollgate/metrics") {
        answerMetrics(connection, request);
        return;
    }
    if (!isApiPath(path)) {
        answerError(connection, request, 404,
                    QStringLiteral("Not found: Tollgate serves the Anthropic API under /v1/"));
        return;
    }
    // OpenAI's chat completions on the same listener, for OpenAI-SDK clients.
    const bool isChat = path == "/v1/chat/completions";
    if (isChat && request.method != "POST") {
        answerError(connection, request, 405, QStringLiteral("Use POST for /v1/chat/completions"));
        return;
    }

    if (holdForLedger(connection, request))
        return;
    const Credential credential = credentialOf(request.headers);
    const qsizetype length = request.body.size();
    std::optional<PendingExchange> admitted =
        admit(connection, std::move(request), credential, length);
    if (!admitted)
        return;
    PendingExchange &pending = *admitted;
    if (!planRoute(connection, pending,
                   isChat ? DialectBridge::Surface::OpenAi : DialectBridge::Surface::Anthropic))
        return;
    if (!wantsCacheInjection(pending, pending.request.body.size())) {
        startExchange(connection, std::move(pending));
        return;
    }
    const qsizetype unscanned = pending.request.body.size()
        - (layoutBuilder ? layoutBuilder->scannedBytes() : qsizetype(0));
    if (unscanned <= kInlineInjectionBytes) {
        if (!layoutBuilder) {
            Exchange::applyCacheMarkers(
                CacheInjector::plan(pending.request.body, m_config.cacheInjection),
                pending.request.body, pending.record);
            startExchange(connection, std::move(pending));
            return;
        }
        const PreparedBody prepared =
            prepareBody(*layoutBuilder, pending.request.body, m_config.cacheInjection);
        applyPreparedBody(pending, prepared.markers, prepared.facts);
        pending.record.layoutReusedBytes = layoutBuilder->reusedBytes();
        // The journal once the body is on its way: shared with the exchange, not copied.
        const QByteArray body = pending.request.body;
        const HeaderList headers = pending.request.headers;
        startExchange(connection, std::move(pending));
        keepJournal(headers, *layoutBuilder, body, prepared.markers);
        return;
    }
    // A large body is scanned on a worker so that other streams are not held up meanwhile
    // (an 8 MiB conversation takes about 2 ms); the exchange starts when it is done. The
    // worker only reads the body, and nothing here touches it until onInjected(); holding
    // the pending exchange keeps it alive should the client leave meanwhile.
    const CacheInjector::Policy policy = m_config.cacheInjection;
    const auto waiting = std::make_shared<PendingExchange>(std::move(pending));
    m_injecting.insert(connection, waiting);
    const std::shared_ptr<const PendingExchange> held = waiting;
    m_workers->start([this, connection, held, policy, layoutBuilder] {
        PromptLayoutBuilder whole;
        // The facts are read here too: the exchange then holds the only reference to a buffer
        // of megabytes, freed the moment it ends rather than after a read that would overlap
        // the client's next request.
        PreparedBody prepared =
            prepareBody(layoutBuilder ? *layoutBuilder : whole, held->request.body, policy);
        // Safe: the server waits for its workers before it goes (stop()).
        QMetaObject::invokeMethod(this, [this, connection, prepared = std::move(prepared)] {
            onInjected(connection, prepared.markers, prepared.facts);
        });
    });
}

ProxyServer::Credential ProxyServer::credentialOf(const HeaderList &headers) const
{
    qsizetype keyIndex = -1;
    Credential credential;
    credential.auth = m_authenticator.authenticate(headers, &keyIndex);
    if (credential.auth == ClientAuthenticator::Result::VirtualKey)
        credential.state = m_credentialStates.value(keyIndex);
    return credential;
}

std::optional<ProxyServer::PendingExchange> ProxyServer::admit(ClientConnection *connection,
                                                               HttpRequest &&request,
                                                               const Credential &credential,
                                                               qsizetype bodyBytes)
{
    const std::shared_ptr<VirtualKeyState> &state = credential.state;
    const QString tag = billingTagFor(request.headers, state.get());
    if (state && refuseVirtualKeyRequest(connection, request, *state, tag))
        return std::nullopt;
    if (!state && refusePassthroughSpend(connection, request, tag))
        return std::nullopt;
    RequestRecord record = newRecord(request.method, request.target, request.headers, state.get());
    record.requestBytes = bodyBytes;
    record.isPassthroughAuth = credential.auth == ClientAuthenticator::Result::Passthrough;
    if (!state)
        record.virtualKeyAlias = QStringLiteral("passthrough");
    return PendingExchange {
        std::move(request), credential.auth, std::move(record), state, {}, true};
}

bool ProxyServer::planRoute(ClientConnection *connection, PendingExchange &pending,
                            DialectBridge::Surface surface)
{
    Exchange::Plan &plan = pending.plan;
    plan.surface = surface;
    const HttpRequest &request = pending.request;
    const QByteArray path = request.path();
    const bool isCountTokens = path == "/v1/messages/count_tokens";
    // Rules route what names a model: Messages (and its token counting) and chat completions;
    // models, batches and files are the Anthropic API's own.
    const bool isRoutable = request.method == "POST"
        && (surface == DialectBridge::Surface::OpenAi || path == "/v1/messages" || isCountTokens);
    // An OpenAI SDK lists models with GET /v1/models, no anthropic-version and a bearer key.
    if (request.method == "GET" && path == "/v1/models"
        && !request.headers.contains(QByteArrayLiteral("anthropic-version"))
        && request.headers.value(QByteArrayLiteral("authorization")).startsWith("Bearer ")) {
        plan.surface = surface = DialectBridge::Surface::OpenAi;
        plan.modelList = true;
    }
    if (!isRoutable || m_routes.rules().isEmpty()) {
        plan.providers = {m_anthropic};
    } else {
        const RouteTable::Query query =
            routeQueryFor(request, pending.state ? pending.state->key.alias : QString());
        const RouteTable::Decision decision = m_routes.decide(query);
        for (const QString &name : decision.providers) {
            if (const auto runtime = m_providers.value(name))
                plan.providers.append(runtime.get());
        }
        plan.model = decision.model;
        plan.rewritesModel = decision.rule >= 0 && decision.model != query.model;
        if (decision.rule >= 0 && !m_routes.rules().at(decision.rule).injectsCache)
            pending.injectsCache = false;
    }
    const ProviderRuntime &first = *plan.providers.first();
    pending.record.provider = first.provider.name;
    pending.record.surface = DialectBridge::surfaceName(surface);
    if (isCountTokens && first.provider.kind == Provider::Kind::OpenAi) {
        // OpenAI-compatible vendors have no token counting endpoint, and Tollgate never
        // passes an estimate off as a count.
        const QString message =
            QStringLiteral("count_tokens is not available for %1: it is routed to \"%2\", an "
                           "OpenAI-compatible provider with no token counting endpoint")
                .arg(plan.model.isEmpty() ? QStringLiteral("this model") : plan.model,
                     first.provider.name);
        RequestRecord refused = pending.record; // named after the provider it was routed to
        const QByteArray requestId = refused.localRequestId();
        emitLocalRecord(std::move(refused), 501, request.receivedAtUs, message);
        connection->sendResponse(ErrorResponse::httpResponse(501, message, requestId, false),
                                 false);
        return false;
    }
    const bool keyInjects = !pending.state || pending.state->key.injectsCache;
    if (surface == DialectBridge::Surface::OpenAi
        && first.provider.kind == Provider::Kind::Anthropic && m_config.cacheInjection.isEnabled
        && pending.injectsCache && keyInjects)
        plan.injection = m_config.cacheInjection;
    return true;
}

bool ProxyServer::refusePassthroughSpend(ClientConnection *connection, const HttpRequest &request,
                                         const QString &tag)
{
    if (!m_spend.hasCaps())
        return false;
    const auto refusal =
        m_spend.check(QStringLiteral("passthrough"), tag, QDateTime::currentMSecsSinceEpoch());
    if (!refusal)
        return false;
    RequestRecord refused = newRecord(request.method, request.target, request.headers);
    refused.virtualKeyAlias = QStringLiteral("passthrough");
    const RateLimiter::Reply reply =
        refusal->guard.reply(refusal->verdict, refused.localRequestId());
    emitLocalRecord(std::move(refused), reply.status, request.receivedAtUs,
                    refusal->guard.message(refusal->verdict));
    connection->sendResponse(reply.toHttpResponse(), false);
    return true;
}

bool ProxyServer::wantsCacheInjection(const PendingExchange &pending, qsizetype bodyBytes) const
{
    // Messages requests to an Anthropic-dialect provider only: never count_tokens, batches
    // or anything else.
    if (!m_config.cacheInjection.isEnabled || !pending.injectsCache
        || pending.request.method != "POST" || pending.request.path() != "/v1/messages"
        || bodyBytes == 0 || pending.plan.surface != DialectBridge::Surface::Anthropic
        || pending.plan.providers.first()->provider.kind != Provider::Kind::Anthropic)
        return false;
    return !pending.state || pending.state->key.injectsCache;
}

void ProxyServer::onInjected(ClientConnection *connection, const CacheInjector::Result &result,
                             const RequestFacts &facts)
{
    const std::shared_ptr<PendingExchange> pending = m_injecting.take(connection);
    if (!pending)
        return; // the client left meanwhile (connectionClosed logged it)
    applyPreparedBody(*pending, result, facts);
    startExchange(connection, std::move(*pending));
}

void ProxyServer::applyPreparedBody(PendingExchange &pending, const CacheInjector::Result &markers,
                                    const RequestFacts &facts)
{
    Exchange::applyCacheMarkers(markers, pending.request.body, pending.record);
    pending.record.requestFacts = RequestFacts::ready(facts);
}

Exchange *ProxyServer::startExchange(ClientConnection *connection, PendingExchange &&pending,
                                     qsizetype arrivingBytes)
{
    Exchange::Context context;
    context.config = &m_config;
    context.pool = m_pool;
    context.cors = &m_cors;
    context.workers = m_workers;
    auto *exchange =
        new Exchange(connection, std::move(pending.request), pending.auth,
                     std::move(pending.record), context, std::move(pending.plan), this);
    m_exchanges.insert(connection, exchange);
    if (pending.state)
        m_limitedExchanges.insert(exchange, pending.state);
    connect(exchange, &Exchange::finished, this, &ProxyServer::onExchangeFinished);
    if (arrivingBytes >= 0)
        exchange->setArrivingBody(arrivingBytes);
    exchange->start();
    return exchange;
}

bool ProxyServer::holdsRequests() const
{
    return m_backlog && (!m_held.isEmpty() || m_backlog->isHigh());
}

// Holds the request back while the ledger is far behind, and while earlier requests are
// held (they keep their order). Time spent here counts in the request's TTFB.
bool ProxyServer::holdForLedger(ClientConnection *connection, HttpRequest &request)
{
    if (!holdsRequests())
        return false;
    m_held.append({connection, std::move(request)});
    if (!m_holdTimer) {
        m_holdTimer = new QTimer(this);
        m_holdTimer->setInterval(kHoldPollMs);
        connect(m_holdTimer, &QTimer::timeout, this, &ProxyServer::releaseHeldRequests);
    }
    if (!m_holdTimer->isActive())
        m_holdTimer->start();
    return true;
}

void ProxyServer::releaseHeldRequests()
{
    if (!m_backlog->isLow())
        return;
    m_holdTimer->stop();
    QList<HeldRequest> held;
    held.swap(m_held);
    for (HeldRequest &request : held)
        handleRequest(request.connection, std::move(request.request));
}

void ProxyServer::answerMetrics(ClientConnection *connection, const HttpRequest &request)
{
    if (request.method != "GET") {
        answerError(connection, request, 405, QStringLiteral("Use GET for /tollgate/metrics"));
        return;
    }
    // Usage figures are private: readable from this machine, or with a virtual key.
    QHostAddress peer = connection->peerAddress();
    bool isIpv4 = false;
    const quint32 ipv4 = peer.toIPv4Address(&isIpv4); // also unwraps ::ffff:127.0.0.1
    if (isIpv4)
        peer = QHostAddress(ipv4);
    if (!peer.isLoopback()
        && m_authenticator.authenticate(request.headers)
            != ClientAuthenticator::Result::VirtualKey) {
        answerError(connection, request, 401,
                    QStringLiteral("/tollgate/metrics needs a Tollgate virtual key when read "
                                   "from another machine"));
        return;
    }
    answerLocally(connection, request, 200,
                  QByteArrayLiteral("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"),
                  m_metrics ? m_metrics->prometheusText() : QByteArray(), false);
}

void ProxyServer::answerLocally(ClientConnection *connection, const HttpRequest &request,
                                int status, const QByteArray &extraHeaders, const QByteArray &body,
                                bool isLogged)
{
    QByteArray out;
    out.reserve(256 + body.size());
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(ErrorResponse::reasonPhrase(status)).append("\r\n");
    out.append(extraHeaders);
    if (!body.isEmpty())
        out.append("content-length: ").append(QByteArray::number(body.size())).append("\r\n");
    out.append("\r\n").append(body);
    // Health checks and metrics scrapes are not API traffic: they stay out of the log.
    if (isLogged)
        emitLocalRecord(newRecord(request.method, request.target, request.headers), status,
                        request.receivedAtUs, QString());
    connection->sendResponse(out, false);
}

QByteArray ProxyServer::adaptResponse(const QByteArray &response)
{
    // "HTTP/1.1 401 Unauthorized\r\n...\r\n\r\n{Anthropic error}"
    const qsizetype headEnd = response.indexOf("\r\n\r\n");
    const int status = response.mid(9, 3).toInt();
    if (headEnd < 0 || status < 400)
        return response;
    const TranslatedError translated =
        ErrorTranslator::anthropicErrorToOpenAi(status, response.mid(headEnd + 4));
    QByteArray out;
    qsizetype lineStart = 0;
    while (lineStart < headEnd) {
        qsizetype lineEnd = response.indexOf("\r\n", lineStart);
        if (lineEnd < 0 || lineEnd > headEnd)
            lineEnd = headEnd;
        const QByteArray line = response.mid(lineStart, lineEnd - lineStart);
        if (!line.toLower().startsWith("content-length:"))
            out.append(line).append("\r\n");
        lineStart = lineEnd + 2;
    }
    out.append("content-length: ").append(QByteArray::number(translated.body.size()));
    out.append("\r\n\r\n").append(translated.body);
    return out;
}

// OPTIONS: a CORS preflight from an allowed origin gets its permission; one from any other
// origin gets a 403 without CORS headers, so the browser never sends the request itself.
// An OPTIONS without Origin is no preflight and learns the methods.
void ProxyServer::answerPreflight(ClientConnection *connection, const HttpRequest &request)
{
    const QByteArray origin = request.headers.value(QByteArrayLiteral("origin"));
    switch (m_cors.check(request.headers)) {
    case CorsPolicy::Verdict::NotCors:
        answerLocally(connection, request, 204,
                      QByteArrayLiteral("allow: GET, POST, DELETE, HEAD, OPTIONS\r\n"),
                      QByteArray());
        return;
    case CorsPolicy::Verdict::Allowed: {
        const QByteArray headers = CorsPolicy::preflightHeaders(
            origin, request.headers.value(QByteArrayLiteral("access-control-request-headers")));
        if (!headers.isEmpty()) {
            answerLocally(connection, request, 204, headers, QByteArray());
            return;
        }
        answerError(connection, request, 403,
                    QStringLiteral("The preflight asks for a request header the Anthropic API "
                                   "does not use"));
        return;
    }
    case CorsPolicy::Verdict::Refused:
        answerError(connection, request, 403,
                    QStringLiteral("Requests from the web origin %1 are not allowed (add it to "
                                   "\"cors_origins\" in Tollgate's settings to allow it)")
                        .arg(QString::fromUtf8(origin.left(200))));
        return;
    }
}

void ProxyServer::answerError(ClientConnection *connection, const HttpRequest &request, int status,
                              const QString &message)
{
    RequestRecord record = newRecord(request.method, request.target, request.headers);
    const QByteArray requestId = record.localRequestId();
    emitLocalRecord(std::move(record), status, request.receivedAtUs, message);
    connection->sendResponse(ErrorResponse::httpResponse(status, message, requestId, false), false);
}

HostPolicy::Verdict ProxyServer::hostVerdict(const HttpParser &head) const
{
    // An HTTP/1.0 request may name no host (an HTTP/1.1 one without Host is refused while
    // it is parsed); browsers always send one.
    return head.headers().contains(QByteArrayLiteral("host"))
        ? m_hosts.check(head.headers().value(QByteArrayLiteral("host")))
        : HostPolicy::Verdict::Allowed;
}

bool ProxyServer::refuseHostOrMethod(const HttpParser &head,
                                     ClientConnection::HeadDecision *decision) const
{
    const QByteArray host = head.headers().value(QByteArrayLiteral("host"));
    const HostPolicy::Verdict verdict = hostVerdict(head);
    if (verdict == HostPolicy::Verdict::Malformed) {
        decision->refuseStatus = 400;
        decision->message = QStringLiteral("The Host header is not a host name or address");
        return true;
    }
    if (verdict == HostPolicy::Verdict::Refused) {
        // RFC 9110 §15.5.20: 421, this server does not answer for that authority.
        decision->refuseStatus = 421;
        decision->message =
            QStringLiteral("Tollgate does not answer to the host \"%1\": use %2 (a server's own "
                           "DNS name goes in \"allowed_hosts\" of Tollgate's settings)")
                .arg(QString::fromLatin1(host.left(100)).trimmed(),
                     m_config.clientBaseUrl(m_port ? m_port : m_config.port));
        return true;
    }
    static const QList<QByteArray> served = {"GET",   "HEAD",   "POST",   "PUT",
                                             "PATCH", "DELETE", "OPTIONS"};
    const QByteArray method = head.method();
    if (!served.contains(method)) {
        // RFC 9110 §9.1: a method the server does not implement is a 501.
        decision->refuseStatus = 501;
        decision->message =
            QStringLiteral("The method %1 is not supported").arg(QString::fromLatin1(method));
        return true;
    }
    return false;
}

void ProxyServer::logRefusal(ClientConnection *connection, const HttpParser &head, int status,
                             const QString &message)
{
    constexpr int kLinesPerSecond = 50;
    const qint64 now = monotonicUs();
    if (now - m_refusalLogSecondUs >= 1'000'000) {
        if (m_refusalsNotLogged > 0)
            qCInfo(lcHttp).noquote()
                << QStringLiteral("%1 more refusals were not logged").arg(m_refusalsNotLogged);
        m_refusalLogSecondUs = now;
        m_refusalsLogged = 0;
        m_refusalsNotLogged = 0;
    }
    if (++m_refusalsLogged > kLinesPerSecond) {
        ++m_refusalsNotLogged;
        return;
    }
    // What the client sent is shown only as printable ASCII, at most 200 characters.
    QByteArray target = head.target().left(200);
    for (char &c : target) {
        if (c < 0x20 || c > 0x7e)
            c = '?';
    }
    qCInfo(lcHttp).noquote() << QStringLiteral("refused %1 %2 from %3: %4 %5")
                                    .arg(QString::fromLatin1(head.method()),
                                         target.isEmpty() ? QStringLiteral("-")
                                                          : QString::fromLatin1(target),
                                         connection->peerAddress().toString())
                                    .arg(status)
                                    .arg(message);
}

QByteArray ProxyServer::requestRefused(ClientConnection *connection, const HttpParser &head,
                                       int status, const QString &message)
{
    logRefusal(connection, head, status, message);
    // A body that broke off or stalled after the request went upstream: its own row says so.
    if (const ArrivingBody arriving = m_arriving.take(connection); arriving.exchange) {
        m_bodyLayouts.remove(connection);
        return arriving.exchange->refuseArriving(status, message);
    }
    // A refused virtual key (disabled) is still named in the log, with its tag; a request
    // for another host never gets as far as its key.
    std::shared_ptr<VirtualKeyState> state;
    if (hostVerdict(head) == HostPolicy::Verdict::Allowed)
        state = credentialOf(head.headers()).state;
    RequestRecord record = newRecord(head.method(), head.target(), head.headers(), state.get());
    const QByteArray requestId = record.localRequestId();
    emitLocalRecord(std::move(record), status, monotonicUs(), message);
    return requestId;
}

QString ProxyServer::billingTagFor(const HeaderList &headers, const VirtualKeyState *state) const
{
    // A request's x-tollgate-tag (Claude Code: ANTHROPIC_CUSTOM_HEADERS) overrides the
    // key's tag.
    const QByteArray tag = headers.value(QByteArrayLiteral("x-tollgate-tag")).trimmed();
    if (!tag.isEmpty())
        return QString::fromUtf8(tag);
    return state ? state->key.billingTag : m_config.billingTag;
}

RequestRecord ProxyServer::newRecord(const QByteArray &method, const QByteArray &target,
                                     const HeaderList &headers, const VirtualKeyState *state)
{
    RequestRecord record;
    record.id = m_nextId++;
    record.startedAt = QDateTime::currentDateTimeUtc();
    record.method = method;
    record.target = target;
    record.sessionId = headers.value(QByteArrayLiteral("x-claude-code-session-id"));
    record.userAgent = headers.value(QByteArrayLiteral("user-agent"));
    record.billingTag = billingTagFor(headers, state);
    if (state)
        record.virtualKeyAlias = state->key.alias;
    return record;
}

void ProxyServer::emitLocalRecord(RequestRecord record, int status, qint64 receivedAtUs,
                                  const QString &error)
{
    record.status = status;
    record.isComplete = error.isEmpty();
    record.error = error;
    if (!error.isEmpty())
        record.errorType = QString::fromLatin1(ErrorResponse::typeForStatus(status));
    record.ttfbUs = 0;
    record.totalUs = monotonicUs() - receivedAtUs;
    addRecord(record);
}

void ProxyServer::onExchangeFinished(Exchange *exchange, const RequestRecord &record)
{
    if (const std::shared_ptr<VirtualKeyState> state = m_limitedExchanges.take(exchange))
        state->limiter.release();
    if (m_exchanges.value(exchange->client()) == exchange)
        m_exchanges.remove(exchange->client());
    m_finishedExchanges.append(exchange);
    addRecord(record);
}

void ProxyServer::deleteFinishedExchanges()
{
    qDeleteAll(m_finishedExchanges);
    m_finishedExchanges.clear();
    finishDrainIfIdle();
}

void ProxyServer::addRecord(const RequestRecord &record)
{
    m_records.append(record);
    if (m_recordTimer && !m_recordTimer->isActive())
        m_recordTimer->start();
}

void ProxyServer::deliverRecords()
{
    if (m_records.isEmpty())
        return;
    if (m_backlog)
        m_backlog->add(m_records.size());
    emit requestsFinished(m_records);
    m_records.clear();
}

void ProxyServer::chargeUsage(const QList<RequestRecord> &records)
{
    const qint64 now = monotonicUs();
    const qint64 wallNow = QDateTime::currentMSecsSinceEpoch();
    for (const RequestRecord &record : records) {
        if (record.costPicoUsd)
            m_spend.add(record.virtualKeyAlias, record.billingTag, *record.costPicoUsd,
                        record.startedAt.toMSecsSinceEpoch(), wallNow);
        if (!record.usage.hasUsage)
            continue;
        const std::shared_ptr<VirtualKeyState> state = m_virtualKeys.value(record.virtualKeyAlias);
        if (state)
            state->limiter.charge(record.usage.inputTokens + record.usage.cacheWriteTokens(),
                                  record.usage.outputTokens, now);
    }
}

bool ProxyServer::refuseVirtualKeyRequest(ClientConnection *connection, const HttpRequest &request,
                                          VirtualKeyState &state, const QString &tag)
{
    const VirtualKey &key = state.key;
    // Logs the refusal and sends the answer responseFor makes with the record's request id.
    const auto refuse = [&](const auto &responseFor) {
        RequestRecord refused = newRecord(request.method, request.target, request.headers, &state);
        const auto [status, response, message] = responseFor(refused.localRequestId());
        emitLocalRecord(std::move(refused), status, request.receivedAtUs, message);
        connection->sendResponse(response, false);
        return true;
    };
    const auto error = [](int status, const QString &message) {
        return [status, message](const QByteArray &requestId) {
            return std::tuple(
                status, ErrorResponse::httpResponse(status, message, requestId, false), message);
        };
    };
    if (!key.isEnabled) {
        const QString message =
            QStringLiteral("The Tollgate virtual key \"%1\" is disabled").arg(key.alias);
        return refuse(error(401, message));
    }
    if (!key.models.isEmpty()) {
        const QStringList models = requestedModels(request);
        for (const QString &model : models) {
            if (key.allowsModel(model))
                continue;
            const QString message = model.isEmpty()
                ? QStringLiteral("The Tollgate virtual key \"%1\" may use only the models %2; "
                                 "this request names none")
                      .arg(key.alias, key.models.join(QStringLiteral(", ")))
                : QStringLiteral("The Tollgate virtual key \"%1\" may not use the model "
                                 "%2 (allowed: %3)")
                      .arg(key.alias, model.left(200), key.models.join(QStringLiteral(", ")));
            return refuse(error(403, message));
        }
    }
    if (const auto refusal = m_spend.check(key.alias, tag, QDateTime::currentMSecsSinceEpoch())) {
        return refuse([&](const QByteArray &requestId) {
            const RateLimiter::Reply reply = refusal->guard.reply(refusal->verdict, requestId);
            return std::tuple(reply.status, reply.toHttpResponse(),
                              refusal->guard.message(refusal->verdict));
        });
    }
    const RateLimiter::Admission admission = state.limiter.admit(monotonicUs());
    if (!admission.isAllowed()) {
        return refuse([&](const QByteArray &requestId) {
            const RateLimiter::Reply reply = state.limiter.reply(admission, requestId);
            return std::tuple(reply.status, reply.toHttpResponse(),
                              state.limiter.message(admission));
        });
    }
    return false;
}

void ProxyServer::setVirtualKeys(const QList<VirtualKey> &keys)
{
    QHash<QString, std::shared_ptr<VirtualKeyState>> states;
    QList<QByteArray> credentials;
    QList<std::shared_ptr<VirtualKeyState>> credentialStates;
    const qint64 now = monotonicUs();
    for (const VirtualKey &key : keys) {
        std::shared_ptr<VirtualKeyState> state = states.value(key.alias);
        if (!state) {
            state = m_virtualKeys.value(key.alias);
            if (!state)
                state = std::make_shared<VirtualKeyState>();
            state->key = key;
            state->key.secret.clear(); // the authenticator holds the secrets
            state->limiter.setLimits(key.limits, now);
            states.insert(key.alias, state);
            m_spend.setKeyCaps(key.alias, key.budget);
        }
        credentials.append(key.secret);
        credentialStates.append(state);
    }
    for (auto it = m_virtualKeys.cbegin(); it != m_virtualKeys.cend(); ++it) {
        if (!states.contains(it.key()))
            m_spend.setKeyCaps(it.key(), {});
    }
    m_virtualKeys = states;
    m_credentialStates = credentialStates;
    m_authenticator = ClientAuthenticator(credentials, m_config.passthroughAuth);
}

void ProxyServer::addUpstreamKey(const QString &alias, const QByteArray &secret)
{
    if (!m_keys.replaceSecret(alias, secret))
        m_keys.addKey(alias, secret);
}

void ProxyServer::removeUpstreamKey(const QString &alias)
{
    m_keys.removeKey(alias);
}

void ProxyServer::setUpstreamKeyEnabled(const QString &alias, bool isEnabled)
{
    m_keys.setEnabled(alias, isEnabled);
}

void ProxyServer::setCacheInjection(const CacheInjector::Policy &policy)
{
    m_config.cacheInjection = policy;
}

void ProxyServer::requestKeyStatus()
{
    const qint64 now = monotonicUs();
    emit keyStatus(m_keys.snapshot(now), m_keys.headroom(now),
                   m_spend.status(QDateTime::currentMSecsSinceEpoch()));
    for (const auto &runtime : std::as_const(m_providers)) {
        const QList<KeyPool::KeySnapshot> keys = runtime->keys->snapshot(now);
        int healthy = 0;
        int resting = 0;
        int failing = 0;
        for (const KeyPool::KeySnapshot &key : keys) {
            const bool answeredBadly =
                key.lastStatus == KeyPool::kConnectFailure || key.lastStatus >= 500;
            if (key.state == KeyPool::State::Disabled || !key.isEnabled || answeredBadly)
                ++failing;
            else if (key.state == KeyPool::State::CoolingDown)
                ++resting;
            else
                ++healthy;
        }
        QString state = QStringLiteral("ok");
        if (keys.isEmpty())
            state = QStringLiteral("no keys");
        else if (healthy == 0 && resting > 0)
            state = QStringLiteral("limited");
        else if (healthy == 0)
            state = QStringLiteral("failing");
        const QString detail = keys.isEmpty()
            ? QStringLiteral("no key configured")
            : QStringLiteral("%1 key(s): %2 healthy, %3 resting after 429/529, %4 refused or "
                             "failing")
                  .arg(keys.size())
                  .arg(healthy)
                  .arg(resting)
                  .arg(failing);
        emit providerHealth(runtime->provider.name, state, detail);
    }
}

void ProxyServer::connectionClosed(ClientConnection *connection)
{
    m_connections.remove(connection);
    m_bodyLayouts.remove(connection);
    m_arriving.remove(connection);
    if (const std::shared_ptr<PendingExchange> pending = m_injecting.take(connection)) {
        // Gone while its body was being prepared: logged, and its stream slot is free.
        if (pending->state)
            pending->state->limiter.release();
        emitLocalRecord(std::move(pending->record), 0, pending->request.receivedAtUs,
                        QStringLiteral("the client closed the connection before the request "
                                       "was forwarded"));
    }
    m_held.removeIf(
        [connection](const HeldRequest &held) { return held.connection == connection; });
    if (Exchange *exchange = m_exchanges.value(connection))
        exchange->clientGone();
}

void ProxyServer::sweep()
{
    const qint64 now = monotonicUs();
    const QList<Exchange *> exchanges = m_exchanges.values();
    for (Exchange *exchange : exchanges)
        exchange->checkTimeouts(now);
    const QList<ClientConnection *> connections = m_connections.values();
    for (ClientConnection *connection : connections) {
        if (m_connections.contains(connection))
            connection->checkTimeouts(now);
    }
    m_pool->closeIdle(now, qint64(m_config.upstreamIdleTimeoutMs) * 1000);
    deleteFinishedExchanges(); // in case the loop never got to wait
    m_journals.removeIf(
        [now](const KeptJournal &kept) { return now - kept.keptAtUs > kJournalLifetimeUs; });
}

std::shared_ptr<PromptLayoutBuilder> ProxyServer::newLayoutBuilder(const HeaderList &headers) const
{
    auto builder = std::make_shared<PromptLayoutBuilder>();
    if (m_journals.isEmpty())
        return builder;
    const QByteArray owner = journalOwner(headers);
    QList<std::shared_ptr<const PromptLayoutBuilder::Journal>> journals;
    for (const KeptJournal &kept : m_journals) {
        if (kept.owner == owner)
            journals.append(kept.journal);
    }
    builder->reuseFrom(std::move(journals));
    return builder;
}

void ProxyServer::keepJournal(const HeaderList &headers, const PromptLayoutBuilder &builder,
                              const QByteArray &body, const CacheInjector::Result &markers)
{
    qsizetype unchanged = body.size();
    for (const CacheInjector::Insertion &insertion : markers.insertions)
        unchanged = std::min(unchanged, insertion.offset);
    std::shared_ptr<const PromptLayoutBuilder::Journal> journal = builder.journal(body, unchanged);
    if (!journal || PromptLayoutBuilder::bytesHeldBy(*journal) > m_config.scanJournalBytes)
        return;
    // The journal this body's scan came from is superseded: this one begins the same way.
    const std::shared_ptr<const PromptLayoutBuilder::Journal> &superseded = builder.reusedJournal();
    m_journals.removeIf([&](const KeptJournal &kept) { return kept.journal == superseded; });
    m_journals.prepend({std::move(journal), journalOwner(headers), monotonicUs()});
    qsizetype held = 0;
    for (qsizetype i = 0; i < m_journals.size(); ++i) {
        held += PromptLayoutBuilder::bytesHeldBy(*m_journals.at(i).journal);
        if (i >= m_config.scanJournalCount || held > m_config.scanJournalBytes) {
            m_journals.resize(i);
            break;
        }
    }
}

} // namespace tollgate
