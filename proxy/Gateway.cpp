#include "Gateway.h"

#include "ProxyServer.h"

#ifdef TOLLGATE_HAVE_EPOLL_DISPATCHER
#include "EpollEventDispatcher.h"
#endif

namespace tollgate {

Gateway::Gateway(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<tollgate::RequestRecord>();
    qRegisterMetaType<QList<tollgate::RequestRecord>>();
    m_thread.setObjectName(QStringLiteral("tollgate-proxy"));
}

Gateway::~Gateway()
{
    if (m_server) {
        // Last chance to close sockets on their own thread before it ends.
        QMetaObject::invokeMethod(m_server, &ProxyServer::stop, Qt::BlockingQueuedConnection);
    }
    shutDownThread();
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
    m_config = config;
#ifdef TOLLGATE_HAVE_EPOLL_DISPATCHER
    // Owned by the thread, which deletes it when it finishes; a restart needs a new one.
    m_thread.setEventDispatcher(new EpollEventDispatcher);
#endif
    m_thread.start();
    m_server = new ProxyServer(config);
    m_server->moveToThread(&m_thread);
    // Queued: these come from the proxy thread.
    connect(m_server, &ProxyServer::started, this, &Gateway::onServerStarted);
    connect(m_server, &ProxyServer::startFailed, this, &Gateway::onServerStartFailed);
    connect(m_server, &ProxyServer::stopped, this, &Gateway::onServerStopped);
    connect(m_server, &ProxyServer::requestsFinished, this, &Gateway::onRecords);
    QMetaObject::invokeMethod(m_server, &ProxyServer::start, Qt::QueuedConnection);
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
    emit startFailed(error);
}

void Gateway::onServerStopped()
{
    shutDownThread();
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

} // namespace tollgate
