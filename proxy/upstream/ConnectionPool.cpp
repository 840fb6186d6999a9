#include "ConnectionPool.h"

#include "UpstreamConnection.h"

namespace tollgate {

ConnectionPool::ConnectionPool(QObject *parent)
    : QObject(parent)
{
}

ConnectionPool::~ConnectionPool()
{
    closeAll();
}

UpstreamConnection *ConnectionPool::acquire(const UpstreamTarget &target)
{
    auto it = m_idle.find(target.poolKey);
    if (it != m_idle.end()) {
        QList<UpstreamConnection *> &idle = it.value();
        while (!idle.isEmpty()) {
            UpstreamConnection *connection = idle.takeLast(); // the most recently used
            if (connection->isReusable())
                return connection;
            connection->abort();
        }
    }
    return connectNew(target);
}

UpstreamConnection *ConnectionPool::connectNew(const UpstreamTarget &target)
{
    auto *connection = new UpstreamConnection(target, this);
    connect(connection, &UpstreamConnection::closed, this, &ConnectionPool::forget);
    return connection;
}

void ConnectionPool::release(UpstreamConnection *connection)
{
    if (!connection->isReusable()) {
        connection->abort();
        return;
    }
    QList<UpstreamConnection *> &idle = m_idle[connection->target().poolKey];
    if (idle.size() >= m_maxIdlePerTarget) {
        connection->abort();
        return;
    }
    idle.append(connection);
}

void ConnectionPool::forget(UpstreamConnection *connection)
{
    auto it = m_idle.find(connection->target().poolKey);
    if (it != m_idle.end())
        it.value().removeOne(connection);
}

void ConnectionPool::closeIdle(qint64 nowUs, qint64 maxIdleUs)
{
    for (auto it = m_idle.begin(); it != m_idle.end(); ++it) {
        const QList<UpstreamConnection *> idle = it.value();
        for (UpstreamConnection *connection : idle) {
            if (nowUs - connection->lastActivityUs() > maxIdleUs)
                connection->abort(); // emits closed(), which removes it from the list
        }
    }
}

void ConnectionPool::closeAll()
{
    const QList<UpstreamConnection *> all = findChildren<UpstreamConnection *>();
    for (UpstreamConnection *connection : all)
        connection->abort();
    m_idle.clear();
}

} // namespace tollgate
