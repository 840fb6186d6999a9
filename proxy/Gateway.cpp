#include "Gateway.h"

#include "DescriptorBudget.h"
#include "ProxyServer.h"
#include "store/LedgerBacklog.h"
#include "store/LedgerWriter.h"
#include "usage/UsageMetrics.h"

#include <QDateTime>

#ifdef TOLLGATE_HAVE_EPOLL_DISPATCHER
#include "EpollEventDispatcher.h"
#endif

namespace tollgate {

// Lives on the proxy thread, where its pointers are read and written: the ledger's answers
// go to the server that serves new requests (usage charges), or to the one starting or
// taking over (the spend it waits for).
class ProxyRelay : public QObject
{
public:
    QPointer<ProxyServer> current;
    QPointer<ProxyServer> incoming;
};

namespace {

// What the ledger needs of a config: prices (each provider's too), the store, retention,
// the body log and the secrets to redact. Empty, with the reason, for invalid prices.
std::optional<LedgerWriter::Settings> ledgerSettingsFor(const GatewayConfig &config, QString *error)
{
    LedgerWriter::Settings ledger;
    ledger.prices = PriceTable::builtIn();
    QString priceError;
    if (!config.priceOverrides.isEmpty()
        && !ledger.prices.applyOverrides(config.priceOverrides, &priceError)) {
        *error = QStringLiteral("invalid price override: %1").arg(priceError);
        return std::nullopt;
    }
    // What other providers' models cost, as their settings give it: an Anthropic-dialect
    // provider starts from Anthropic's prices, an OpenAI-dialect one from none.
    for (const Provider &provider : config.providers) {
        PriceTable prices =
            provider.kind == Provider::Kind::Anthropic ? ledger.prices : PriceTable();
        if (!provider.prices.isEmpty() && !prices.applyOverrides(provider.prices, &priceError)) {
            *error = QStringLiteral("invalid price of provider \"%1\": %2")
                         .arg(provider.name, priceError);
            return std::nullopt;
        }
        ledger.providerPrices.insert(provider.name, prices);
    }
    ledger.store = config.store;
    ledger.retentionDays = config.retentionDays;
    ledger.bodyLogCapBytes = config.bodyLogCapBytes;
    for (const VirtualKey &key : config.allVirtualKeys())
        ledger.secrets.append(key.secret);
    for (const UpstreamKey &key : config.allUpstreamKeys())
        ledger.secrets.append(key.secret);
    for (const Provider &provider : config.providers) {
        for (const UpstreamKey &key : provider.keys)
            ledger.secrets.append(key.secret);
    }
    return ledger;
}

// Where the day and the month that budgets count began: the sums the ledger reads back.
struct SpendPeriods
{
    qint64 dayStartMs = 0;
    qint64 monthStartMs = 0;
};

SpendPeriods currentSpendPeriods()
{
    const SpendTracker periods;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    return {periods.dayStartMs(now), periods.monthStartMs(now)};
}

} // namespace

Gateway::Gateway(QObject *parent)
    : QObject(parent)
{
    // Before this gateway starts its threads (main() has normally done it already).
    reserveDescriptors();
    qRegisterMetaType<tollgate::RequestRecord>();
    qRegisterMetaType<QList<tollgate::RequestRecord>>();
    qRegisterMetaType<tollgate::SpendTotals>();
    qRegisterMetaType<tollgate::SpendTracker::Status>();
    qRegisterMetaType<QList<tollgate::SpendTracker::Status>>();
    qRegisterMetaType<tollgate::KeyPool::KeySnapshot>();
    qRegisterMetaType<QList<tollgate::KeyPool::KeySnapshot>>();
    qRegisterMetaType<tollgate::KeyPool::Headroom>();
    m_thread.setObjectName(QStringLiteral("tollgate-proxy"));
    m_ledgerThread.setObjectName(QStringLiteral("tollgate-ledger"));
    m_launcher.setObjectName(QStringLiteral("tollgate-launcher"));
    m_launcherContext = new QObject;
    m_launcherContext->moveToThread(&m_launcher);
    connect(&m_launcher, &QThread::finished, m_launcherContext, &QObject::deleteLater);
    m_launcher.start();
}

void Gateway::startThread(QThread &thread, QThread::Priority priority)
{
    QMetaObject::invokeMethod(
        m_launcherContext, [&thread, priority] { thread.start(priority); },
        Qt::BlockingQueuedConnection);
}

Gateway::~Gateway()
{
    QList<QPointer<ProxyServer>> servers = m_draining;
    servers.append(m_successor);
    servers.append(m_server);
    for (const QPointer<ProxyServer> &server : std::as_const(servers)) {
        // Last chance to close sockets on their own thread before it ends.
        if (server)
            QMetaObject::invokeMethod(server, &ProxyServer::stop, Qt::BlockingQueuedConnection);
    }
    shutDownThread();
    if (m_ledger) {
        // The proxy's last records are queued ahead of this: they reach the log too.
        QMetaObject::invokeMethod(m_ledger, &LedgerWriter::flush, Qt::BlockingQueuedConnection);
    }
    shutDownLedger();
    m_launcher.quit();
    m_launcher.wait();
}

void Gateway::start(const GatewayConfig &config)
{
    if (m_server) {
        emit startFailed(QStringLiteral("the gateway is already running"));
        return;
    }
    const QString problem = config.validate();
    if (!problem.isEmpty()) {
        emit startFailed(problem);
        return;
    }
    QString settingsError;
    std::optional<LedgerWriter::Settings> settings = ledgerSettingsFor(config, &settingsError);
    if (!settings) {
        emit startFailed(settingsError);
        return;
    }
    LedgerWriter::Settings ledger = std::move(*settings);
    m_metrics = std::make_shared<UsageMetrics>();
    ledger.metrics = m_metrics;
    m_backlog = std::make_shared<LedgerBacklog>();
    ledger.backlog = m_backlog;
    if (config.hasBudgets()) {
        const SpendPeriods periods = currentSpendPeriods();
        ledger.spendDayStartMs = periods.dayStartMs;
        ledger.spendMonthStartMs = periods.monthStartMs;
    }
    m_config = config;

    // SCHED_IDLE on Linux (QThread's LowPriority changes nothing there): whenever the proxy
    // thread wakes up it takes the CPU from the ledger at once, so logging never delays a
    // forwarded byte. The ledger runs on any idle core; should it fall far behind, the
    // proxy holds new requests back (LedgerBacklog).
    startThread(m_ledgerThread, QThread::IdlePriority);
    m_ledger = new LedgerWriter(std::move(ledger));
    m_ledger->moveToThread(&m_ledgerThread);
    connect(&m_ledgerThread, &QThread::finished, m_ledger, &QObject::deleteLater);
    // Queued: these come from the ledger thread.
    connect(m_ledger, &LedgerWriter::accounted, this, &Gateway::onRecords);
    connect(m_ledger, &LedgerWriter::storeFailed, this, &Gateway::storeFailed);
    connect(m_ledger, &LedgerWriter::storeRecovered, this, &Gateway::storeRecovered);
    connect(m_ledger, &LedgerWriter::flushed, this, &Gateway::onLedgerFlushed);

#ifdef TOLLGATE_HAVE_EPOLL_DISPATCHER
    // Owned by the thread, which deletes it when it finishes; a restart needs a new one.
    m_thread.setEventDispatcher(new EpollEventDispatcher);
#endif
    startThread(m_thread, QThread::InheritPriority);
    m_relay = new ProxyRelay;
    m_server = newServer(config);
    connect(m_server, &ProxyServer::started, this, &Gateway::onServerStarted);
    connect(m_server, &ProxyServer::startFailed, this, &Gateway::onServerStartFailed);
    m_relay->incoming = m_server; // before it lives on the proxy thread
    m_relay->moveToThread(&m_thread);
    // Queued to the proxy thread, in the order the ledger sent them.
    connect(m_ledger, &LedgerWriter::spendLoaded, m_relay, [relay = m_relay](const SpendTotals &t) {
        if (ProxyServer *server = relay->incoming ? relay->incoming : relay->current)
            server->seedSpend(t);
    });
    // Token limits learn each response's usage.
    connect(m_ledger, &LedgerWriter::accounted, m_relay,
            [relay = m_relay](const QList<RequestRecord> &records) {
                if (relay->current)
                    relay->current->chargeUsage(records);
            });
    // Once everything it answers to is connected (spendLoaded above).
    QMetaObject::invokeMethod(m_ledger, &LedgerWriter::open, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_server, &ProxyServer::start, Qt::QueuedConnection);
}

ProxyServer *Gateway::newServer(const GatewayConfig &config)
{
    auto *server = new ProxyServer(config);
    server->setMetrics(m_metrics);
    server->setLedgerBacklog(m_backlog);
    server->setWaitsForSpend(config.hasBudgets());
    server->moveToThread(&m_thread);
    // Queued: these come from the proxy thread.
    connect(server, &ProxyServer::upstreamKeyDisabled, this, &Gateway::upstreamKeyDisabled);
    connect(server, &ProxyServer::budgetChanged, this, &Gateway::budgetChanged);
    connect(server, &ProxyServer::keyStatus, this, &Gateway::keyStatus);
    connect(server, &ProxyServer::providerHealth, this, &Gateway::providerHealth);
    // Straight from the proxy thread to the ledger thread: a busy GUI thread is not on
    // the way of the request log.
    connect(server, &ProxyServer::requestsFinished, m_ledger, &LedgerWriter::account);
    // Direct, on the proxy thread as it starts to listen: usage charges go to it from the
    // ledger's next answer on.
    connect(
        server, &ProxyServer::started, m_relay,
        [relay = m_relay, server](quint16) {
            relay->current = server;
            if (relay->incoming == server)
                relay->incoming = nullptr;
        },
        Qt::DirectConnection);
    return server;
}

void Gateway::reconfigure(const GatewayConfig &config)
{
    // While a server starts or takes over (the one it takes over may have drained away
    // already), the newest settings wait for it.
    if (!m_isStopping && (m_successor || (m_server && !m_isRunning))) {
        m_queuedConfig = config;
        return;
    }
    if (!m_server || !m_isRunning || m_isStopping) {
        m_config = config;
        return;
    }
    QString error = config.validate();
    std::optional<LedgerWriter::Settings> ledger =
        error.isEmpty() ? ledgerSettingsFor(config, &error) : std::nullopt;
    if (!ledger) {
        emit reconfigureFailed(error);
        return;
    }
    m_successorLedger = std::move(*ledger); // metrics and backlog stay the running ones
    m_successorConfig = config;
    m_successor = newServer(config);
    connect(m_successor, &ProxyServer::started, this, &Gateway::onSuccessorStarted);
    connect(m_successor, &ProxyServer::startFailed, this, &Gateway::onSuccessorFailed);
    QMetaObject::invokeMethod(
        m_successor, [relay = m_relay, successor = m_successor.data(), previous = m_server] {
            relay->incoming = successor;
            successor->takeOver(previous);
        });
    if (config.hasBudgets()) {
        // Posted after the takeover: the spend reaches the successor, which waits for it.
        QMetaObject::invokeMethod(m_ledger,
                                  [ledger = m_ledger.data(), periods = currentSpendPeriods()] {
                                      ledger->reloadSpend(periods.dayStartMs, periods.monthStartMs);
                                  });
    }
}

void Gateway::onSuccessorStarted(quint16 port)
{
    if (!m_successor)
        return; // stopped meanwhile
    if (m_server) {
        // It drains on its own and deletes itself, on the proxy thread, maybe already: only
        // that thread can tell, so it is cut off from this gateway there. Its records still
        // reach the ledger.
        QMetaObject::invokeMethod(m_relay,
                                  [previous = m_server, gateway = QPointer<Gateway>(this)] {
                                      if (previous && gateway)
                                          QObject::disconnect(previous, nullptr, gateway, nullptr);
                                  });
        m_draining.removeIf([](const QPointer<ProxyServer> &server) { return !server; });
        m_draining.append(m_server);
    }
    m_server = m_successor;
    m_successor = nullptr;
    disconnect(m_server, &ProxyServer::started, this, &Gateway::onSuccessorStarted);
    disconnect(m_server, &ProxyServer::startFailed, this, &Gateway::onSuccessorFailed);
    m_config = m_successorConfig;
    m_port = port;
    QMetaObject::invokeMethod(m_ledger, [ledger = m_ledger.data(), settings = m_successorLedger] {
        ledger->reconfigure(settings);
    });
    emit reconfigured(port);
    applyQueuedConfig();
}

void Gateway::onSuccessorFailed(const QString &error)
{
    if (!m_successor)
        return;
    disconnect(m_successor, nullptr, this, nullptr);
    m_successor->deleteLater(); // on the proxy thread; it never listened
    m_successor = nullptr;
    emit reconfigureFailed(error);
    applyQueuedConfig();
}

void Gateway::applyQueuedConfig()
{
    if (!m_queuedConfig)
        return;
    const GatewayConfig next = *m_queuedConfig;
    m_queuedConfig.reset();
    reconfigure(next);
}

// Through the relay, which knows on the proxy thread which servers are alive: the one
// being taken over may delete itself there at any moment. The current server and the one
// starting or taking over get the call; one draining away does not need it.
void Gateway::forLiveServers(const std::function<void(ProxyServer *)> &call)
{
    if (!m_relay || (!m_server && !m_successor))
        return;
    ++m_changesSent;
    QMetaObject::invokeMethod(m_relay, [relay = m_relay, call, gateway = QPointer<Gateway>(this)] {
        if (relay->current)
            call(relay->current);
        if (relay->incoming && relay->incoming != relay->current)
            call(relay->incoming);
        // Answered once the change is in force.
        QMetaObject::invokeMethod(gateway, [gateway] {
            if (gateway)
                ++gateway->m_changesApplied;
        });
    });
}

void Gateway::setVirtualKeys(const QList<VirtualKey> &namedKeys)
{
    m_config.namedVirtualKeys = namedKeys;
    m_successorConfig.namedVirtualKeys = namedKeys;
    if (!m_server)
        return;
    const QList<VirtualKey> all = m_config.allVirtualKeys();
    forLiveServers([all](ProxyServer *server) { server->setVirtualKeys(all); });
    QList<QByteArray> secrets;
    for (const VirtualKey &key : namedKeys)
        secrets.append(key.secret);
    QMetaObject::invokeMethod(m_ledger,
                              [ledger = m_ledger.data(), secrets] { ledger->addSecrets(secrets); });
}

void Gateway::addUpstreamKey(const QString &alias, const QByteArray &secret)
{
    for (GatewayConfig *config : {&m_config, &m_successorConfig}) {
        config->upstreamKeys.removeIf([&](const UpstreamKey &key) { return key.alias == alias; });
        config->upstreamKeys.append({alias, secret});
    }
    if (!m_server)
        return;
    forLiveServers([alias, secret](ProxyServer *server) { server->addUpstreamKey(alias, secret); });
    QMetaObject::invokeMethod(m_ledger,
                              [ledger = m_ledger.data(), secret] { ledger->addSecrets({secret}); });
}

void Gateway::removeUpstreamKey(const QString &alias)
{
    for (GatewayConfig *config : {&m_config, &m_successorConfig})
        config->upstreamKeys.removeIf([&](const UpstreamKey &key) { return key.alias == alias; });
    forLiveServers([alias](ProxyServer *server) { server->removeUpstreamKey(alias); });
}

void Gateway::setUpstreamKeyEnabled(const QString &alias, bool isEnabled)
{
    forLiveServers([alias, isEnabled](ProxyServer *server) {
        server->setUpstreamKeyEnabled(alias, isEnabled);
    });
}

void Gateway::setCacheInjection(const CacheInjector::Policy &policy)
{
    m_config.cacheInjection = policy;
    m_successorConfig.cacheInjection = policy;
    forLiveServers([policy](ProxyServer *server) { server->setCacheInjection(policy); });
}

void Gateway::requestKeyStatus()
{
    if (m_relay && m_server)
        QMetaObject::invokeMethod(m_relay, [relay = m_relay] {
            if (relay->current)
                relay->current->requestKeyStatus();
        });
}

void Gateway::stop()
{
    m_queuedConfig.reset();
    if (!m_relay) {
        emit stopped(); // not running
        return;
    }
    if (m_isStopping)
        return; // stopped() is on its way
    m_isStopping = true;
    // Which servers are still alive, and which of them listens, only the proxy thread can
    // tell: one that was taken over drains and deletes itself there, maybe before this thread
    // heard that the one taking over listens. So all of them are stopped there, and the run
    // ends once every one has closed its sockets and handed its last records to the ledger.
    QList<QPointer<ProxyServer>> servers = m_draining;
    servers.append(m_successor);
    servers.append(m_server);
    m_draining.clear();
    m_successor = nullptr; // a started() still on its way here changes nothing now
    QMetaObject::invokeMethod(m_relay, [servers, gateway = QPointer<Gateway>(this)] {
        for (const QPointer<ProxyServer> &server : servers) {
            if (!server)
                continue;
            if (gateway)
                QObject::disconnect(server, nullptr, gateway, nullptr);
            server->stop();
        }
        if (gateway)
            QMetaObject::invokeMethod(gateway, &Gateway::onServerStopped, Qt::QueuedConnection);
    });
}

void Gateway::onServerStarted(quint16 port)
{
    m_isRunning = true;
    m_port = port;
    emit started(port);
    applyQueuedConfig();
}

void Gateway::onServerStartFailed(const QString &error)
{
    shutDownThread();
    shutDownLedger();
    emit startFailed(error);
}

void Gateway::onServerStopped()
{
    if (!m_isStopping)
        return; // the run ended before: its server could not listen
    shutDownThread();
    m_changesApplied = m_changesSent; // what did not reach it went with it
    // Queued behind the proxy's last records: stopped() comes once they are in the log.
    QMetaObject::invokeMethod(m_ledger, &LedgerWriter::flush, Qt::QueuedConnection);
}

void Gateway::onLedgerFlushed()
{
    if (m_server || !m_ledger)
        return; // a flush while running
    shutDownLedger();
    emit stopped();
}

void Gateway::onRecords(const QList<RequestRecord> &records)
{
    for (const RequestRecord &record : records)
        emit requestFinished(record);
}

void Gateway::shutDownThread()
{
    m_isRunning = false;
    m_isStopping = false;
    m_port = 0;
    m_thread.quit();
    // The proxy thread has nothing left to do once its server stopped: this returns at once.
    m_thread.wait();
    delete m_server.data(); // only left when it never started; a stopped one deleted itself
    m_server = nullptr;
    delete m_successor.data();
    m_successor = nullptr;
    m_draining.clear(); // each deleted itself as it stopped or drained
    delete m_relay; // the thread it lived on is over
    m_relay = nullptr;
}

void Gateway::shutDownLedger()
{
    m_ledgerThread.quit();
    m_ledgerThread.wait(); // the writer is deleted as the thread finishes
    m_ledger = nullptr;
}

} // namespace tollgate
