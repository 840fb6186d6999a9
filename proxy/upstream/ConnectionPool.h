#pragma once

#include "UpstreamTarget.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>

namespace tollgate {

class UpstreamConnection;

// Keep-alive connections to upstreams, as many at once as there are requests in flight:
// unlike QNetworkAccessManager (6 per host, the rest queued), nothing waits for a free
// connection, so 500 concurrent streams run as 500 concurrent connections.
class ConnectionPool : public QObject
{
    Q_OBJECT

public:
    explicit ConnectionPool(QObject *parent = nullptr);
    ~ConnectionPool() override;

    // An idle connection to the target if one is usable, otherwise a new one.
    UpstreamConnection *acquire(const UpstreamTarget &target);
    // Always a new connection (a retry after a kept-alive one turned out closed).
    UpstreamConnection *connectNew(const UpstreamTarget &target);
    // Gives a connection back after a complete response; unusable ones are closed.
    void release(UpstreamConnection *connection);
    // Closes connections idle for longer than maxIdleUs.
    void closeIdle(qint64 nowUs, qint64 maxIdleUs);
    void closeAll();

private:
    void forget(UpstreamConnection *connection);

    QHash<QByteArray, QList<UpstreamConnection *>> m_idle;
    int m_maxIdlePerTarget = 256;
};

} // namespace tollgate
