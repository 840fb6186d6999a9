#include "UpstreamConnection.h"

#include "../MonotonicClock.h"

#include <QSslSocket>
#include <QTcpSocket>

namespace tollgate {

namespace {
// Reads stop at this much unread data while paused, so a slow client pushes back on the
// vendor through TCP instead of growing memory.
constexpr qint64 kReadBufferBytes = 256 * 1024;
} // namespace

UpstreamConnection::UpstreamConnection(const UpstreamTarget &target, QObject *parent)
    : QObject(parent)
    , m_target(target)
    , m_parser(HttpParser::Kind::Response)
{
    if (m_target.isTls) {
        auto *ssl = new QSslSocket(this);
        ssl->setSslConfiguration(m_target.tls);
        ssl->setPeerVerifyName(m_target.host);
        connect(ssl, &QSslSocket::encrypted, this, &UpstreamConnection::onConnected);
        m_socket = ssl;
    } else {
        m_socket = new QTcpSocket(this);
        connect(m_socket, &QTcpSocket::connected, this, &UpstreamConnection::onConnected);
    }
    m_socket->setReadBufferSize(kReadBufferBytes);
    connect(m_socket, &QTcpSocket::readyRead, this, &UpstreamConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &UpstreamConnection::onDisconnected);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &UpstreamConnection::onErrorOccurred);
}

UpstreamConnection::~UpstreamConnection() = default;

bool UpstreamConnection::isReusable() const
{
    return m_isReusable && m_isConnected && !m_isShutDown && m_phase == Phase::Idle
        && m_socket->state() == QAbstractSocket::ConnectedState && m_socket->bytesAvailable() == 0;
}

void UpstreamConnection::send(const QByteArray &request, Listener *listener)
{
    m_listener = listener;
    m_isHeadDelivered = false;
    m_hasResponseBytes = false;
    m_isReusable = false;
    m_isPaused = false;
    ++m_exchangeCount;
    m_parser.reset();
    m_lastActivityUs = monotonicUs();
    if (m_isConnected) {
        m_phase = Phase::AwaitingResponse;
        m_socket->write(request);
        m_socket->flush();
        return;
    }
    m_request = request;
    m_phase = Phase::Connecting;
    if (m_target.isTls)
        static_cast<QSslSocket *>(m_socket)->connectToHostEncrypted(m_target.host, m_target.port);
    else
        m_socket->connectToHost(m_target.host, m_target.port);
}

void UpstreamConnection::onConnected()
{
    m_isConnected = true;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_lastActivityUs = monotonicUs();
    if (m_phase != Phase::Connecting)
        return;
    m_phase = Phase::AwaitingResponse;
    m_socket->write(m_request);
    m_socket->flush();
    m_request.clear();
}

void UpstreamConnection::onReadyRead()
{
    if (m_isPaused || m_isShutDown)
        return;
    const QByteArray data = m_socket->readAll();
    if (data.isEmpty())
        return;
    if (!m_listener) {
        // Bytes nobody asked for: the connection is out of step; drop it.
        shutDown();
        return;
    }
    process(data);
}

void UpstreamConnection::process(const QByteArray &data)
{
    m_hasResponseBytes = true;
    m_phase = Phase::Receiving;
    m_lastActivityUs = monotonicUs();
    const qsizetype consumed = m_parser.feed(data.constData(), data.size());
    Listener *const listener = m_listener;
    if (m_parser.isHeadComplete() && !m_isHeadDelivered) {
        m_isHeadDelivered = true;
        listener->upstreamHead(m_parser);
        if (m_listener != listener)
            return; // the listener let go of us from inside the callback
    }
    if (m_parser.bodySize() > 0) {
        listener->upstreamBody(m_parser.takeBody());
        if (m_listener != listener)
            return;
    }
    if (m_parser.hasError()) {
        fail(Failure::Protocol,
             QStringLiteral("Malformed response from upstream: %1").arg(m_parser.errorString()));
        return;
    }
    if (m_parser.isMessageComplete()) {
        // Anything after the response on this connection means it is out of step.
        m_isReusable = m_parser.shouldKeepAlive() && consumed == data.size();
        finishExchange();
        return;
    }
    listener->upstreamReadProcessed();
}

void UpstreamConnection::finishExchange()
{
    Listener *const listener = m_listener;
    m_listener = nullptr;
    m_phase = Phase::Idle;
    m_lastActivityUs = monotonicUs();
    if (!m_isReusable)
        shutDown();
    listener->upstreamComplete();
}

void UpstreamConnection::pauseReading()
{
    m_isPaused = true;
}

void UpstreamConnection::resumeReading()
{
    if (!m_isPaused)
        return;
    m_isPaused = false;
    if (m_socket->bytesAvailable() > 0)
        onReadyRead();
}

void UpstreamConnection::onDisconnected()
{
    if (m_isShutDown)
        return;
    if (m_listener) {
        // Whatever is still buffered belongs to the response: deliver it before the end.
        if (m_socket->bytesAvailable() > 0) {
            m_isPaused = false;
            process(m_socket->readAll());
        }
        if (m_listener && m_isHeadDelivered) {
            m_parser.feedEof(); // completes a close-delimited body
            if (m_parser.isMessageComplete()) {
                m_isReusable = false;
                finishExchange();
                return;
            }
        }
        if (m_listener) {
            fail(m_hasResponseBytes || m_isConnected ? Failure::Reset : Failure::Connect,
                 m_hasResponseBytes ? QStringLiteral("Upstream closed the connection mid-response")
                                    : QStringLiteral("Upstream closed the connection"));
            return;
        }
    }
    shutDown();
}

void UpstreamConnection::onErrorOccurred()
{
    if (m_isShutDown)
        return;
    const QAbstractSocket::SocketError error = m_socket->error();
    if (error == QAbstractSocket::RemoteHostClosedError && m_isConnected)
        return; // handled by onDisconnected, which sees the buffered tail first
    if (!m_listener) {
        shutDown();
        return;
    }
    Failure failure = Failure::Reset;
    if (error == QAbstractSocket::SslHandshakeFailedError
        || error == QAbstractSocket::SslInternalError
        || error == QAbstractSocket::SslInvalidUserDataError)
        failure = Failure::Tls;
    else if (!m_isConnected)
        failure = Failure::Connect;
    fail(failure, m_socket->errorString());
}

void UpstreamConnection::fail(Failure failure, const QString &message)
{
    Listener *const listener = m_listener;
    m_listener = nullptr;
    shutDown();
    if (listener)
        listener->upstreamFailed(failure, message);
}

void UpstreamConnection::abort()
{
    m_listener = nullptr;
    shutDown();
}

void UpstreamConnection::shutDown()
{
    if (m_isShutDown)
        return;
    m_isShutDown = true;
    m_isReusable = false;
    m_phase = Phase::Idle;
    m_socket->abort();
    emit closed(this);
    deleteLater();
}

} // namespace tollgate
