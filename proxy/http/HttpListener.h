#pragma once

#include <QElapsedTimer>
#include <QHostAddress>
#include <QObject>
#include <QString>

class QSocketNotifier;

namespace tollgate {

// The listening socket. Each readiness accepts only a few connections and hands them on
// as bare non-blocking descriptors (for a TcpStream): under a burst of new clients the
// loop keeps serving the streams already open between accepts, so nobody's first byte
// waits behind a whole wave of connection set-ups.
class HttpListener : public QObject
{
    Q_OBJECT

public:
    explicit HttpListener(QObject *parent = nullptr);
    ~HttpListener() override;

    bool listen(const QHostAddress &address, quint16 port, int backlog);
    quint16 port() const { return m_port; }
    QString errorString() const { return m_error; }
    void close();

signals:
    void accepted(qintptr descriptor);

private:
    void onReadable();
    void pauseAccepting(int error);

    qintptr m_descriptor = -1;
    quint16 m_port = 0;
    QString m_error;
    QSocketNotifier *m_notifier = nullptr;
    QElapsedTimer m_shortageClock; // since the last warning about running out of descriptors
};

} // namespace tollgate
