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
    if (m_server) {
        // Last chance to close sockets on their own thread before it ends.
        QMetaObject::invokeMethod(m_server, &ProxyServer::stop, Qt::BlockingQueuedConnection);
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
    LedgerWriter::Settings ledger;
    ledger.prices = PriceTable::builtIn();
    QString priceError;
    if (!config.priceOverrides.isEmpty()
        && !ledger.prices.applyOverrides(config.priceOverrides, &priceError)) {
        emit startFailed(QStringLiteral("invalid price override: %1").arg(priceError));
        return;
    }
    // What other providers' models cost, as their settings give it: an Anthropic-dialect
    // provider starts from Anthropic's prices, an OpenAI-dialect one from none.
    for (const Provider &provider : config.providers) {
        PriceTable prices =
            provider.kind == Provider::Kind::Anthropic ? ledger.prices : PriceTable();
        if (!provider.prices.isEmpty() && !prices.applyOverrides(provider.prices, &priceError)) {
            emit startFailed(QStringLiteral("invalid price of provider \"%1\": %2")
                                 .arg(provider.name, priceError));
            return;
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
    m_metrics = std::make_shared<UsageMetrics>();
    ledger.metrics = m_metrics;
    auto backlog = std::make_shared<LedgerBacklog>();
    ledger.backlog = backlog;
    const bool hasBudgets = config.hasBudgets();
    if (hasBudgets) {
        const SpendTracker periods;
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        ledger.spendDayStartMs = periods.dayStartMs(now);
        ledger.spendMonthStartMs = periods.monthStartMs(now);
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
    m_server = new ProxyServer(config);
    m_server->setMetrics(m_metrics);
    m_server->setLedgerBacklog(backlog);
    m_server->setWaitsForSpend(hasBudgets);
    m_server->moveToThread(&m_thread);
    // Queued: these come from the proxy thread.
    connect(m_server, &ProxyServer::started, this, &Gateway::onServerStarted);
    connect(m_server, &ProxyServer::startFailed, this, &Gateway::onServerStartFailed);
    connect(m_server, &ProxyServer::stopped, this, &Gateway::onServerStopped);
    connect(m_server, &ProxyServer::upstreamKeyDisabled, this, &Gateway::upstreamKeyDisabled);
    connect(m_server, &ProxyServer::budgetChanged, this, &Gateway::budgetChanged);
    connect(m_server, &ProxyServer::keyStatus, this, &Gateway::keyStatus);
    connect(m_server, &ProxyServer::providerHealth, this, &Gateway::providerHealth);
    connect(m_ledger, &LedgerWriter::spendLoaded, m_server, &ProxyServer::seedSpend);
    // Straight from the proxy thread to the ledger thread: a busy GUI thread is not on
    // the way of the request log.
    connect(m_server, &ProxyServer::requestsFinished, m_ledger, &LedgerWriter::account);
    // Queued to the proxy thread: token limits learn each response's usage.
    connect(m_ledger, &LedgerWriter::accounted, m_server, &ProxyServer::chargeUsage);
    // Once everything it answers to is connected (spendLoaded above).
    QMetaObject::invokeMethod(m_ledger, &LedgerWriter::open, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_server, &ProxyServer::start, Qt::QueuedConnection);
}

void Gateway::setVirtualKeys(const QList<VirtualKey> &namedKeys)
{
    m_config.namedVirtualKeys = namedKeys;
    if (!m_server)
        return;
    const QList<VirtualKey> all = m_config.allVirtualKeys();
    QMetaObject::invokeMethod(m_server,
                              [server = m_server.data(), all] { server->setVirtualKeys(all); });
    QList<QByteArray> secrets;
    for (const VirtualKey &key : namedKeys)
        secrets.append(key.secret);
    QMetaObject::invokeMethod(m_ledger,
                              [ledger = m_ledger.data(), secrets] { ledger->addSecrets(secrets); });
}

void Gateway::addUpstreamKey(const QString &alias, const QByteArray &secret)
{
    m_config.upstreamKeys.removeIf([&](const UpstreamKey &key) { return key.alias == alias; });
    m_config.upstreamKeys.append({alias, secret});
    if (!m_server)
        return;
    QMetaObject::invokeMethod(m_server, [server = m_server.data(), alias, secret] {
        server->addUpstreamKey(alias, secret);
    });
    QMetaObject::invokeMethod(m_ledger,
                              [ledger = m_ledger.data(), secret] { ledger->addSecrets({secret}); });
}

void Gateway::removeUpstreamKey(const QString &alias)
{
    m_config.upstreamKeys.removeIf([&](const UpstreamKey &key) { return key.alias == alias; });
    if (m_server)
        QMetaObject::invokeMethod(
            m_server, [server = m_server.data(), alias] { server->removeUpstreamKey(alias); });
}

void Gateway::setUpstreamKeyEnabled(const QString &alias, bool isEnabled)
{
    if (m_server)
        QMetaObject::invokeMethod(m_server, [server = m_server.data(), alias, isEnabled] {
            server->setUpstreamKeyEnabled(alias, isEnabled);
        });
}

void Gateway::setCacheInjection(const CacheInjector::Policy &policy)
{
    m_config.cacheInjection = policy;
    if (m_server)
        QMetaObject::invokeMethod(
            m_server, [server = m_server.data(), policy] { server->setCacheInjection(policy); });
}

void Gateway::requestKeyStatus()
{
    if (m_server)
        QMetaObject::invokeMethod(m_server, &ProxyServer::requestKeyStatus);
}

void Gateway::stop()
{
    if (!m_server) {
        emit stopped();
        return;
    }
    QMetaObject::invokeMethod(m_server, &ProxyServer::stop, Qt::QueuedConnection);
}

void Gateway::onServerStarted(quint16 port)
{
    m_isRunning = true;
    m_port = port;
    emit started(port);
}

void Gateway::onServerStartFailed(const QString &error)
{
    shutDownThread();
    shutDownLedger();
    emit startFailed(error);
}

void Gateway::onServerStopped()
{
    shutDownThread();
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
    m_port = 0;
    m_thread.quit();
    // The proxy thread has nothing left to do once its server stopped: this returns at once.
    m_thread.wait();
    delete m_server.data(); // only left when it never started; a stopped one deleted itself
    m_server = nullptr;
}

void Gateway::shutDownLedger()
{
    m_ledgerThread.quit();
    m_ledgerThread.wait(); // the writer is deleted as the thread finishes
    m_ledger = nullptr;
}

} // namespace tollgate
