#include "UpstreamConnection.h"

#include "../MonotonicClock.h"
#include "../http/TcpStream.h"

#include <QSslSocket>
#include <QTimer>

namespace tollgate {

namespace {
// A paused TLS socket stops reading at this much decrypted data, so a slow client pushes
// back on the vendor through TCP instead of growing memory.
constexpr qint64 kTlsReadBufferBytes = 256 * 1024;
constexpr qint64 kReadChunk = 64 * 1024;
} // namespace

UpstreamConnection::UpstreamConnection(const UpstreamTarget &target, QObject *parent)
    : QObject(parent)
    , m_target(target)
    , m_parser(HttpParser::Kind::Response)
{
}

UpstreamConnection::~UpstreamConnection() = default;

bool UpstreamConnection::isReusable() const
{
    if (!m_isReusable || !m_isConnected || m_isShutDown || m_phase != Phase::Idle)
        return false;
    if (m_tls)
        return m_tls->state() == QAbstractSocket::ConnectedState && m_tls->bytesAvailable() == 0;
    return m_plain && m_plain->isOpen();
}

bool UpstreamConnection::isTlsHandshaking() const
{
    return m_phase == Phase::Connecting && m_tls
        && m_tls->state() == QAbstractSocket::ConnectedState && !m_tls->isEncrypted();
}

void UpstreamConnection::send(const QByteArray &head, const QByteArray &body, Listener *listener)
{
    m_listener = listener;
    m_isHeadDelivered = false;
    m_hasResponseBytes = false;
    m_isReusable = false;
    m_isPaused = false;
    ++m_exchangeCount;
    m_parser.reset();
    m_lastActivityUs = monotonicUs();
    m_requestHead = head;
    m_requestBody = body;
    if (m_isConnected) {
        m_phase = Phase::AwaitingResponse;
        writeRequest();
        return;
    }
    m_phase = Phase::Connecting;
    startConnecting();
}

void UpstreamConnection::appendBody(const char *data, qsizetype size)
{
    if (m_isShutDown || size <= 0)
        return;
    if (!m_isConnected) {
        // Kept for the next address, or for the end of the TLS handshake; a plain stream
        // that has the request already queues this behind it.
        m_requestBody.append(data, size);
        if (m_plain && m_isRequestHandedOver)
            m_plain->write(data, size);
        return;
    }
    if (m_plain) {
        m_plain->write(data, size);
        failIfWriteFailed();
    } else if (m_tls) {
        m_tls->write(data, size);
    }
}

void UpstreamConnection::appendBody(const QByteArray &body, qsizetype from)
{
    if (!m_plain || !m_isConnected || m_isShutDown || from >= body.size()) {
        appendBody(body.constData() + from, body.size() - from);
        return;
    }
    m_plain->write(body, from);
    failIfWriteFailed();
}

// Reading waits while a body arrives, so a vendor that hung up shows on the write side first.
void UpstreamConnection::failIfWriteFailed()
{
    if (m_plain->hasWriteFailed())
        fail(Failure::Reset,
             QStringLiteral("the upstream closed the connection while the "
                            "request body was being sent"));
}

qint64 UpstreamConnection::bytesToWrite() const
{
    if (!m_isConnected)
        return m_requestHead.size() + m_requestBody.size();
    if (m_plain)
        return m_plain->bytesToWrite();
    return m_tls ? m_tls->bytesToWrite() : 0;
}

void UpstreamConnection::startConnecting()
{
    if (refusesUnresolvableName())
        return;
    if (m_target.isTls) {
        m_tls = new QSslSocket(this);
        m_tls->setSslConfiguration(
            m_target.tls.value_or(QSslConfiguration::defaultConfiguration()));
        m_tls->setPeerVerifyName(m_target.host);
        m_tls->setReadBufferSize(kTlsReadBufferBytes);
        connect(m_tls, &QSslSocket::encrypted, this, &UpstreamConnection::onConnected);
        connect(m_tls, &QSslSocket::readyRead, this, &UpstreamConnection::onTlsReadyRead);
        connect(m_tls, &QSslSocket::disconnected, this, &UpstreamConnection::onTlsDisconnected);
        connect(m_tls, &QSslSocket::errorOccurred, this, &UpstreamConnection::onTlsError);
        m_tls->connectToHostEncrypted(m_target.host, m_target.port);
        return;
    }
    QHostAddress address;
    if (address.setAddress(m_target.host)) {
        m_addresses = {address};
        connectPlain();
        return;
    }
    // Names are resolved off the proxy thread (QHostInfo's pool, with its cache).
    QHostInfo::lookupHost(m_target.host, this, &UpstreamConnection::onHostLookedUp);
}

// RFC 6761 (6.4): names under "invalid." never resolve, and resolver libraries should
// answer them negatively at once; the system resolver may instead ask the network and wait.
bool UpstreamConnection::refusesUnresolvableName()
{
    QString host = m_target.host.toLower();
    if (host.endsWith(QLatin1Char('.')))
        host.chop(1);
    if (host != QLatin1String("invalid") && !host.endsWith(QLatin1String(".invalid")))
        return false;
    // Answered from the event loop, as a resolver would: the caller is still in send().
    QTimer::singleShot(0, this, [this] {
        if (m_isShutDown)
            return;
        fail(Failure::Connect,
             QStringLiteral("cannot resolve %1: names under .invalid never resolve (RFC 6761)")
                 .arg(m_target.host));
    });
    return true;
}

void UpstreamConnection::onHostLookedUp(const QHostInfo &info)
{
    if (m_isShutDown)
        return;
    if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
        fail(Failure::Connect,
             QStringLiteral("cannot resolve %1: %2").arg(m_target.host, info.errorString()));
        return;
    }
    m_addresses = info.addresses();
    connectPlain();
}

// Tries the resolved addresses in order (a name may come first as IPv6 where the
// vendor only listens on IPv4) until one accepts.
void UpstreamConnection::connectPlain()
{
    QString error;
    while (!m_plain && !m_addresses.isEmpty())
        m_plain = TcpStream::connectTo(m_addresses.takeFirst(), m_target.port, this, &error);
    if (!m_plain) {
        fail(Failure::Connect, error);
        return;
    }
    connect(m_plain, &TcpStream::connected, this, &UpstreamConnection::onConnected);
    connect(m_plain, &TcpStream::readyRead, this, &UpstreamConnection::onPlainReadyRead);
    connect(m_plain, &TcpStream::closed, this, &UpstreamConnection::onPlainClosed);
    if (m_isPaused)
        m_plain->setReadEnabled(false); // paused before there was a stream to pause
    // Handed over now: the stream sends it as soon as the connection allows.
    m_isRequestHandedOver = true; // before write(): it may report the connection at once
    // Kept until connected: should this address fail, the next one gets it again. Passed
    // as copies (shared, not copied bytes): write() may report the connection at once, and
    // onConnected() lets go of the members.
    const QByteArray head = m_requestHead;
    const QByteArray body = m_requestBody;
    m_plain->write(head, body);
}

void UpstreamConnection::onConnected()
{
    m_isConnected = true;
    m_lastActivityUs = monotonicUs();
    if (m_phase != Phase::Connecting)
        return;
    m_phase = Phase::AwaitingResponse;
    if (!m_isRequestHandedOver)
        writeRequest();
    m_requestHead.clear();
    m_requestBody.clear();
}

void UpstreamConnection::writeRequest()
{
    if (m_plain) {
        m_plain->write(m_requestHead, m_requestBody);
    } else {
        m_tls->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_tls->write(m_requestHead);
        m_tls->write(m_requestBody);
        m_tls->flush();
    }
    m_requestHead.clear();
    m_requestBody.clear();
}

void UpstreamConnection::onTlsReadyRead()
{
    if (m_isPaused || m_isShutDown)
        return;
    const QByteArray data = m_tls->readAll();
    if (data.isEmpty())
        return;
    if (!m_listener) {
        // Bytes nobody asked for: the connection is out of step; drop it.
        shutDown();
        return;
    }
    process(data.constData(), data.size());
}

void UpstreamConnection::onPlainReadyRead()
{
    if (m_isPaused || m_isShutDown)
        return;
    char buffer[kReadChunk];
    const qint64 n = m_plain->read(buffer, sizeof(buffer));
    if (n < 0) {
        handleEof();
        return;
    }
    if (n == 0)
        return;
    if (!m_listener) {
        shutDown();
        return;
    }
    process(buffer, qsizetype(n));
}

void UpstreamConnection::process(const char *data, qsizetype size)
{
    m_hasResponseBytes = true;
    m_phase = Phase::Receiving;
    m_lastActivityUs = monotonicUs();
    const qsizetype consumed = m_parser.feed(data, size);
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
             QStringLiteral("the response is not valid HTTP (%1)").arg(m_parser.errorString()));
        return;
    }
    if (m_parser.isMessageComplete()) {
        // Anything after the response on this connection means it is out of step.
        m_isReusable = m_parser.shouldKeepAlive() && consumed == size;
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
    if (m_plain)
        m_plain->setReadEnabled(false);
}

void UpstreamConnection::resumeReading()
{
    if (!m_isPaused)
        return;
    m_isPaused = false;
    m_lastActivityUs = monotonicUs(); // the idle timeout counts the vendor's silence only
    if (m_plain) {
        m_plain->setReadEnabled(true);
        return;
    }
    if (m_tls && m_tls->bytesAvailable() > 0)
        onTlsReadyRead();
}

void UpstreamConnection::onPlainClosed()
{
    if (m_isShutDown)
        return;
    if (!m_isConnected) {
        if (!m_addresses.isEmpty()) {
            m_plain->deleteLater();
            m_plain = nullptr;
            m_isRequestHandedOver = false;
            connectPlain();
            return;
        }
        fail(Failure::Connect, m_plain->errorString());
        return;
    }
    handleEof();
}

void UpstreamConnection::onTlsDisconnected()
{
    if (m_isShutDown)
        return;
    // Whatever is still buffered belongs to the response: deliver it before the end.
    if (m_listener && m_tls->bytesAvailable() > 0) {
        m_isPaused = false;
        const QByteArray tail = m_tls->readAll();
        process(tail.constData(), tail.size());
    }
    handleEof();
}

void UpstreamConnection::handleEof()
{
    if (m_isShutDown)
        return;
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
             QStringLiteral("it closed the connection"));
        return;
    }
    shutDown();
}

void UpstreamConnection::onTlsError()
{
    if (m_isShutDown)
        return;
    const QAbstractSocket::SocketError error = m_tls->error();
    if (error == QAbstractSocket::RemoteHostClosedError && m_isConnected)
        return; // handled by onTlsDisconnected, which sees the buffered tail first
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
    fail(failure, m_tls->errorString());
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
    if (m_tls)
        m_tls->abort();
    if (m_plain)
        m_plain->close();
    emit closed(this);
    deleteLater();
}

} // namespace tollgate
