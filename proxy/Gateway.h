#pragma once

#include "RequestRecord.h"
#include "config/GatewayConfig.h"

#include <QObject>
#include <QPointer>
#include <QThread>

namespace tollgate {

class ProxyServer;

// The one object the app and the tests start and stop. It owns the proxy thread: every
// socket lives there, never on the caller's (GUI) thread. Signals arrive queued on the
// thread that owns the Gateway.
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

    bool isRunning() const { return m_isRunning; }
    quint16 port() const { return m_port; }
    const GatewayConfig &config() const { return m_config; }

signals:
    void started(quint16 port);
    void startFailed(const QString &error);
    void stopped();
    void requestFinished(const tollgate::RequestRecord &record);

private:
    void onServerStarted(quint16 port);
    void onServerStartFailed(const QString &error);
    void onServerStopped();
    void onRecords(const QList<tollgate::RequestRecord> &records);
    void shutDownThread();

    GatewayConfig m_config;
    QThread m_thread;
    QPointer<ProxyServer> m_server;
    bool m_isRunning = false;
    quint16 m_port = 0;
};

} // namespace tollgate
