#include "TcpStream.h"

#include <QSocketNotifier>
#include <cerrno>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
#ifdef _WIN32
using SocketLength = int;
bool wouldBlock()
{
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
bool connectInProgress()
{
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
int lastError()
{
    return WSAGetLastError();
}
QString errorText(int code)
{
    return QStringLiteral("socket error %1").arg(code);
}
void closeDescriptor(qintptr d)
{
    closesocket(SOCKET(d));
}
void makeNonBlocking(qintptr d)
{
    u_long on = 1;
    ioctlsocket(SOCKET(d), FIONBIO, &on);
}
qint64 receive(qintptr d, char *data, qint64 size)
{
    return recv(SOCKET(d), data, int(size), 0);
}
qint64 transmit(qintptr d, const char *data, qint64 size)
{
    return send(SOCKET(d), data, int(size), 0);
}
#define TOLLGATE_SHUT_WR SD_SEND
#else
bool wouldBlock()
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}
bool connectInProgress()
{
    return errno == EINPROGRESS || errno == EINTR;
}
int lastError()
{
    return errno;
}
QString errorText(int code)
{
    return QString::fromLocal8Bit(std::strerror(code));
}
void closeDescriptor(qintptr d)
{
    ::close(int(d));
}
void makeNonBlocking(qintptr d)
{
    const int flags = fcntl(int(d), F_GETFL);
    if (!(flags & O_NONBLOCK))
        fcntl(int(d), F_SETFL, flags | O_NONBLOCK);
}
qint64 receive(qintptr d, char *data, qint64 size)
{
    return ::recv(int(d), data, size_t(size), 0);
}
qint64 transmit(qintptr d, const char *data, qint64 size)
{
#ifdef MSG_NOSIGNAL
    return ::send(int(d), data, size_t(size), MSG_NOSIGNAL); // a vanished peer is no SIGPIPE
#else
    return ::send(int(d), data, size_t(size), 0);
#endif
}
#define TOLLGATE_SHUT_WR SHUT_WR
#endif
} // namespace

TcpStream::TcpStream(qintptr descriptor, QObject *parent)
    : QObject(parent)
    , m_descriptor(descriptor)
{
    makeNonBlocking(m_descriptor);
    // Every event goes out the moment it is written: no Nagle delay.
    int one = 1;
    setsockopt(m_descriptor, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char *>(&one),
               sizeof(one));
#if defined(SO_NOSIGPIPE)
    setsockopt(m_descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    m_readNotifier = new QSocketNotifier(m_descriptor, QSocketNotifier::Read, this);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &TcpStream::onReadable);
    m_writeNotifier = new QSocketNotifier(m_descriptor, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &TcpStream::onWritable);
}

TcpStream *TcpStream::connectTo(const QHostAddress &address, quint16 port, QObject *parent,
                                QString *error)
{
    sockaddr_storage storage = {};
    socklen_t length = 0;
    bool ok = false;
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address(&ok));
        length = sizeof(sockaddr_in);
    } else if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof(bytes.c));
        length = sizeof(sockaddr_in6);
        ok = true;
    }
    if (!ok) {
        *error = QStringLiteral("not an IP address: %1").arg(address.toString());
        return nullptr;
    }
    const qintptr descriptor = qintptr(::socket(storage.ss_family, SOCK_STREAM, IPPROTO_TCP));
    if (descriptor < 0) {
        *error = errorText(lastError());
        return nullptr;
    }
    makeNonBlocking(descriptor);
    if (::connect(descriptor, reinterpret_cast<const sockaddr *>(&storage), length) != 0
        && !connectInProgress()) {
        *error = errorText(lastError());
        closeDescriptor(descriptor);
        return nullptr;
    }
    auto *stream = new TcpStream(descriptor, parent);
    // Writable means connected (or failed: SO_ERROR tells which).
    stream->m_isConnecting = true;
    stream->m_readNotifier->setEnabled(false);
    stream->m_writeNotifier->setEnabled(true);
    return stream;
}

void TcpStream::setReadEnabled(bool enabled)
{
    m_isReadEnabled = enabled;
    if (m_descriptor >= 0 && !m_isConnecting)
        m_readNotifier->setEnabled(enabled);
}

TcpStream::~TcpStream()
{
    if (m_descriptor >= 0) {
        m_readNotifier->setEnabled(false);
        m_writeNotifier->setEnabled(false);
        closeDescriptor(m_descriptor);
    }
}

qint64 TcpStream::read(char *data, qint64 size)
{
    if (m_descriptor < 0)
        return -1;
    const qint64 n = receive(m_descriptor, data, size);
    if (n > 0)
        return n;
    if (n < 0 && wouldBlock())
        return 0;
    if (n < 0)
        m_error = errorText(lastError());
    return -1; // 0: orderly close by the peer; <0: reset or other failure
}

void TcpStream::write(const char *data, qint64 size)
{
    if (m_descriptor < 0 || size <= 0 || m_isWriteShutDown)
        return;
    if (bytesToWrite() == 0 && !m_isConnecting) {
        const qint64 n = transmit(m_descriptor, data, size);
        if (n == size)
            return;
        if (n < 0 && !wouldBlock()) {
            // The peer is gone; the read side reports it as the end of the connection.
            m_out.clear();
            m_outOffset = 0;
            return;
        }
        const qint64 sent = n > 0 ? n : 0;
        m_out = QByteArray(data + sent, qsizetype(size - sent));
        m_outOffset = 0;
    } else {
        m_out.append(data, qsizetype(size));
    }
    if (!m_isConnecting)
        m_writeNotifier->setEnabled(true);
}

void TcpStream::sendQueued()
{
    while (bytesToWrite() > 0) {
        const qint64 n = transmit(m_descriptor, m_out.constData() + m_outOffset, bytesToWrite());
        if (n < 0) {
            if (wouldBlock())
                return;
            m_out.clear();
            m_outOffset = 0;
            break;
        }
        m_outOffset += qsizetype(n);
    }
    m_out.clear();
    m_outOffset = 0;
    m_writeNotifier->setEnabled(false);
}

void TcpStream::onWritable()
{
    if (m_isConnecting) {
        int code = 0;
        socklen_t size = sizeof(code);
        getsockopt(m_descriptor, SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&code), &size);
        if (code != 0) {
            m_error = errorText(code);
            finishClose();
            return;
        }
        m_isConnecting = false;
        m_readNotifier->setEnabled(m_isReadEnabled);
        m_writeNotifier->setEnabled(bytesToWrite() > 0);
        emit connected();
        return;
    }
    sendQueued();
    emit bytesWritten();
    if (m_isClosing && bytesToWrite() == 0 && !m_isWriteShutDown)
        closeWhenWritten();
}

void TcpStream::onReadable()
{
    if (!m_isClosing) {
        emit readyRead();
        return;
    }
    // Lingering close: drop what still arrives until the peer closes its side too.
    char discard[16 * 1024];
    for (;;) {
        const qint64 n = read(discard, sizeof(discard));
        if (n == 0)
            return;
        if (n < 0) {
            finishClose();
            return;
        }
    }
}

void TcpStream::closeWhenWritten()
{
    if (m_descriptor < 0)
        return;
    m_isClosing = true;
    if (bytesToWrite() > 0)
        return; // onWritable() comes back here once the queue is empty
    if (!m_isWriteShutDown) {
        m_isWriteShutDown = true;
        shutdown(m_descriptor, TOLLGATE_SHUT_WR);
    }
}

void TcpStream::close()
{
    if (m_descriptor < 0)
        return;
    m_out.clear();
    m_outOffset = 0;
    finishClose();
}

void TcpStream::finishClose()
{
    if (m_descriptor < 0)
        return;
    m_readNotifier->setEnabled(false);
    m_writeNotifier->setEnabled(false);
    closeDescriptor(m_descriptor);
    m_descriptor = -1;
    emit closed();
}

} // namespace tollgate
