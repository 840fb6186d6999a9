#pragma once

#include "../http/HttpParser.h"
#include "UpstreamTarget.h"

#include <QHostInfo>
#include <QObject>
#include <QString>

class QSslSocket;

namespace tollgate {

// One keep-alive HTTP/1.1 connection to the vendor, carrying one exchange at a time: TLS
// through QSslSocket, plain TCP through a TcpStream. It writes the request, parses the
// response and hands the head and every body read to its Listener as they arrive; it
// never buffers a response.
class UpstreamConnection : public QObject
{
    Q_OBJECT

public:
    enum class Phase { Idle, Connecting, AwaitingResponse, Receiving };
    enum class Failure { Connect, Tls, Reset, Protocol };

    class Listener
    {
    public:
        virtual ~Listener() = default;
        virtual void upstreamHead(const HttpParser &head) = 0;
        virtual void upstreamBody(const QByteArray &data) = 0;
        // Everything one read brought has been delivered (a good moment to flush).
        virtual void upstreamReadProcessed() = 0;
        virtual void upstreamComplete() = 0;
        virtual void upstreamFailed(Failure failure, const QString &message) = 0;
    };

    UpstreamConnection(const UpstreamTarget &target, QObject *parent = nullptr);
    ~UpstreamConnection() override;

    const UpstreamTarget &target() const { return m_target; }
    // Sends one request, its head and its body (shared, never copied into one buffer);
    // connects first when needed.
    void send(const QByteArray &head, const QByteArray &body, Listener *listener);
    // More of the body of the request send() began, for a body that goes out as it arrives
    // (its head announced the whole length).
    void appendBody(const char *data, qsizetype size);
    // The last of it: body's bytes from `from` on, kept by reference where the connection does
    // not take them at once.
    void appendBody(const QByteArray &body, qsizetype from);
    // Request bytes written but not yet taken by the connection.
    qint64 bytesToWrite() const;
    // The listener is gone (client left, timeout): the connection cannot be reused.
    void abort();

    Phase phase() const { return m_phase; }
    // Connecting over TLS, the TCP connection is up and the handshake has not finished.
    bool isTlsHandshaking() const;
    // Since the last read, connection step or resumed reading (see pauseReading()).
    qint64 lastActivityUs() const { return m_lastActivityUs; }
    bool isReused() const { return m_exchangeCount > 1; }
    bool hasResponseBytes() const { return m_hasResponseBytes; }
    // Connected, idle, nothing unexpected pending: may carry the next request.
    bool isReusable() const;

    // Back-pressure: stop reading while the client has not taken what it was sent. A paused
    // connection's silence is Tollgate's doing, not the vendor's.
    bool isPaused() const { return m_isPaused; }
    void pauseReading();
    void resumeReading();

signals:
    // The connection is gone; the pool forgets it.
    void closed(tollgate::UpstreamConnection *connection);

private:
    void startConnecting();
    bool refusesUnresolvableName();
    void connectPlain();
    void onHostLookedUp(const QHostInfo &info);
    void onConnected();
    void onTlsReadyRead();
    void onPlainReadyRead();
    void onPlainClosed();
    void onTlsDisconnected();
    void onTlsError();
    void writeRequest();
    void failIfWriteFailed();
    void process(const char *data, qsizetype size);
    void handleEof();
    void finishExchange();
    void fail(Failure failure, const QString &message);
    void shutDown();

    UpstreamTarget m_target;
    QSslSocket *m_tls = nullptr; // https
    class TcpStream *m_plain = nullptr; // http
    HttpParser m_parser;
    Listener *m_listener = nullptr;
    QByteArray m_requestHead; // the request being sent, kept until the connection has it
    QByteArray m_requestBody;
    QList<QHostAddress> m_addresses; // still to try, in the resolver's order
    Phase m_phase = Phase::Idle;
    bool m_isConnected = false;
    bool m_isRequestHandedOver = false; // given to the plain stream before it connected
    bool m_isHeadDelivered = false;
    bool m_hasResponseBytes = false;
    bool m_isReusable = false;
    bool m_isPaused = false;
    bool m_isShutDown = false;
    int m_exchangeCount = 0;
    qint64 m_lastActivityUs = 0;
};

} // namespace tollgate
