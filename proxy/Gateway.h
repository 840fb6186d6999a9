#pragma once

#include "RequestRecord.h"
#include "config/GatewayConfig.h"
#include "keys/SpendTracker.h"
#include "rewrite/CacheInjector.h"
#include "store/LedgerWriter.h"
#include "upstream/KeyPool.h"

#include <QObject>
#include <QPointer>
#include <QThread>
#include <functional>
#include <memory>
#include <optional>

namespace tollgate {

class LedgerBacklog;
class ProxyServer;
class ProxyRelay;
class UsageMetrics;

// The one object the app and the tests start and stop. It owns two threads: the proxy
// thread, where every socket lives (never the caller's GUI thread), and the ledger thread,
// which accounts finished requests and writes the request log. Signals arrive queued on
// the thread that owns the Gateway.
class Gateway : public QObject
{
    Q_OBJECT

public:
    explicit Gateway(QObject *parent = nullptr);
    ~Gateway() override;

    // Starts listening with this config; answers with started() or startFailed().
    void start(const GatewayConfig &config);
    // Stops listening and closes every connection; answers with stopped().
    void stop();
    // New settings for a running gateway, without cutting what is in flight: a new proxy
    // server takes the listening socket over (or listens on the new address first), and
    // the old one finishes the requests and streams it has and hands each client
    // connection over between requests (ProxyServer::takeOver). Requests read from then on
    // use the new settings.
    // Answers with reconfigured(); or, when the settings cannot be used (invalid, or the
    // new port is taken), with reconfigureFailed(), and the gateway runs on with the
    // settings it had. Without a running gateway only config() changes.
    void reconfigure(const GatewayConfig &config);

    // Keys while running (the window's Keys page); each also changes config(), so a restart
    // keeps it. Without a running gateway only config() changes.
    void setVirtualKeys(const QList<tollgate::VirtualKey> &namedKeys);
    void addUpstreamKey(const QString &alias, const QByteArray &secret);
    void removeUpstreamKey(const QString &alias);
    void setUpstreamKeyEnabled(const QString &alias, bool isEnabled);
    // The prompt-cache policy (the Settings page saved it): a running proxy uses it, without
    // a restart, for the requests it reads once the change reached its thread (at its next
    // events); config() changes as well, so a restart keeps it.
    void setCacheInjection(const tollgate::CacheInjector::Policy &policy);
    // Answers with keyStatus() when running.
    void requestKeyStatus();

    bool isRunning() const { return m_isRunning; }
    quint16 port() const { return m_port; }
    const GatewayConfig &config() const { return m_config; }

    // Changes (keys, policy) sent to the proxy thread that it has not applied yet: a request
    // sent once there are none meets all of them.
    bool hasChangesInFlight() const { return m_changesApplied != m_changesSent; }

signals:
    void started(quint16 port);
    void startFailed(const QString &error);
    void stopped(); // after the last request of the run reached the request log
    void reconfigured(quint16 port);
    void reconfigureFailed(const QString &error);
    // One per finished request, with its tokens and cost.
    void requestFinished(const tollgate::RequestRecord &record);
    // The request log cannot be written (locked, read-only, full disk, database down):
    // rows are kept in memory and retried; the proxy keeps serving.
    void storeFailed(const QString &error);
    void storeRecovered();
    // The upstream refused one of the pooled keys (401/402/403): requests go to the other
    // keys, this one waits for the user. reason never holds the key.
    void upstreamKeyDisabled(const QString &alias, const QString &reason);
    // A virtual key's or billing tag's budget reached 80 %, ran out, or reset.
    void budgetChanged(const tollgate::SpendTracker::Status &status);
    // The upstream keys' health and recorded rate-limit headers, the pool's combined
    // headroom, and the budgets' spend so far.
    void keyStatus(const QList<tollgate::KeyPool::KeySnapshot> &upstream,
                   const tollgate::KeyPool::Headroom &headroom,
                   const QList<tollgate::SpendTracker::Status> &budgets);
    // With keyStatus: each provider's health (see ProxyServer::providerHealth).
    void providerHealth(const QString &provider, const QString &state, const QString &detail);

private:
    // A ProxyServer for config on the proxy thread, wired to this gateway and its ledger.
    ProxyServer *newServer(const GatewayConfig &config);
    void onSuccessorStarted(quint16 port);
    void onSuccessorFailed(const QString &error);
    void applyQueuedConfig();
    quint64 m_changesSent = 0;
    quint64 m_changesApplied = 0;
    // call on the proxy thread with the server that serves new requests, and with the one
    // about to take over from it, if any.
    void forLiveServers(const std::function<void(ProxyServer *)> &call);
    void onServerStarted(quint16 port);
    void onServerStartFailed(const QString &error);
    void onServerStopped();
    void onRecords(const QList<tollgate::RequestRecord> &records);
    void onLedgerFlushed();
    void shutDownThread();
    void shutDownLedger();
    void startThread(QThread &thread, QThread::Priority priority);

    GatewayConfig m_config;
    QThread m_thread;
    QPointer<ProxyServer> m_server;
    // reconfigure(): the server taking over, with its settings; servers that were taken
    // over and still finish their requests; settings that came while one was taking over.
    QPointer<ProxyServer> m_successor;
    GatewayConfig m_successorConfig;
    LedgerWriter::Settings m_successorLedger;
    QList<QPointer<ProxyServer>> m_draining;
    std::optional<GatewayConfig> m_queuedConfig;
    // On the proxy thread: hands the ledger's answers to the server that takes them.
    ProxyRelay *m_relay = nullptr;
    std::shared_ptr<LedgerBacklog> m_backlog;
    QThread m_ledgerThread;
    // Starts the other two. On Linux a new thread inherits its creator's nice value, and
    // the app may lower its own (GUI) thread's priority: threads started from here keep
    // the priority the process began with, however often the proxy is restarted.
    QThread m_launcher;
    QObject *m_launcherContext = nullptr; // lives on m_launcher
    QPointer<LedgerWriter> m_ledger;
    std::shared_ptr<UsageMetrics> m_metrics;
    bool m_isRunning = false;
    bool m_isStopping = false; // stop() was called, stopped() not yet emitted
    quint16 m_port = 0;
};

} // namespace tollgate
