#pragma once

#include <QTcpServer>

namespace tollgate {

// The listening socket. It hands each accepted connection on as a bare descriptor (for a
// TcpStream) instead of building a QTcpSocket for it.
class HttpListener : public QTcpServer
{
    Q_OBJECT

public:
    using QTcpServer::QTcpServer;

signals:
    void accepted(qintptr descriptor);

protected:
    void incomingConnection(qintptr descriptor) override { emit accepted(descriptor); }
};

} // namespace tollgate
