#pragma once

#include "Gateway.h"

#include <QObject>
#include <cstdio>

namespace tollgate {

// Runs the gateway without a window: prints the Claude Code setup lines once it listens
// and one line per finished request, and quits the app when the gateway stops.
class HeadlessRunner : public QObject
{
    Q_OBJECT

public:
    HeadlessRunner(const GatewayConfig &config, bool logRequests, QObject *parent = nullptr);

    void start();
    void stop();
    // Settings read again (SIGHUP): the running gateway takes them without cutting what is
    // in flight (Gateway::reconfigure); one line says whether they are in use.
    void reconfigure(const GatewayConfig &config);

    static void appendRecord(QByteArray &log, const RequestRecord &record);

private:
    void onStarted(quint16 port);
    void printSetupLines(quint16 port);
    void onStartFailed(const QString &error);
    void onRequestFinished(const RequestRecord &record);
    void flushLog();

    Gateway m_gateway;
    GatewayConfig m_config;
    bool m_logRequests;
    bool m_isStopping = false;
    QByteArray m_log; // lines not yet written
};

} // namespace tollgate
