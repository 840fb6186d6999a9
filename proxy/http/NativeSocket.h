#pragma once

// The few socket calls TcpStream and HttpListener make, the same on POSIX systems and
// with Winsock. Internal to proxy/http.

#include <QHostAddress>
#include <QString>
#include <QtGlobal>
#include <cerrno>
#include <cstring>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

namespace tollgate::nativesocket {

#ifdef _WIN32
constexpr int kShutdownWrite = SD_SEND;

// Winsock must be started before the first socket call; Qt does it only for its own sockets.
inline void ensureStarted()
{
    static const bool started = [] {
        WSADATA data;
        return WSAStartup(MAKEWORD(2, 2), &data) == 0;
    }();
    Q_UNUSED(started);
}
inline int lastError()
{
    return WSAGetLastError();
}
inline bool wouldBlock()
{
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
inline bool connectInProgress()
{
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
// A send() on a socket whose connect() has not finished yet.
inline bool isNotConnectedYet(int error)
{
    return error == WSAENOTCONN;
}
// accept() failed for want of descriptors or buffers, not because of the peer.
inline bool isResourceShortage()
{
    const int code = WSAGetLastError();
    return code == WSAEMFILE || code == WSAENOBUFS;
}
inline QString errorText(int code)
{
    return QStringLiteral("socket error %1").arg(code);
}
inline void closeDescriptor(qintptr d)
{
    closesocket(SOCKET(d));
}
inline void makeNonBlocking(qintptr d)
{
    u_long on = 1;
    ioctlsocket(SOCKET(d), FIONBIO, &on);
}
inline qint64 receive(qintptr d, char *data, qint64 size)
{
    return recv(SOCKET(d), data, int(size), 0);
}
inline qint64 transmit(qintptr d, const char *data, qint64 size)
{
    return send(SOCKET(d), data, int(size), 0);
}
// Two buffers in one call (a request's head and body): one segment when they fit.
inline qint64 transmitTwo(qintptr d, const char *a, qint64 aSize, const char *b, qint64 bSize)
{
    WSABUF buffers[2] = {{ULONG(aSize), const_cast<char *>(a)},
                         {ULONG(bSize), const_cast<char *>(b)}};
    DWORD sent = 0;
    if (WSASend(SOCKET(d), buffers, 2, &sent, 0, nullptr, nullptr) != 0)
        return -1;
    return qint64(sent);
}
inline qintptr openStreamSocket(int family)
{
    const SOCKET s = ::socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return -1;
    makeNonBlocking(qintptr(s));
    return qintptr(s);
}
inline qintptr acceptOne(qintptr listener)
{
    const SOCKET s = ::accept(SOCKET(listener), nullptr, nullptr);
    if (s == INVALID_SOCKET)
        return -1;
    makeNonBlocking(qintptr(s));
    return qintptr(s);
}
#else
constexpr int kShutdownWrite = SHUT_WR;

inline void ensureStarted() { }
inline int lastError()
{
    return errno;
}
inline bool wouldBlock()
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}
inline bool connectInProgress()
{
    return errno == EINPROGRESS || errno == EINTR;
}
// A send() on a socket whose connect() has not finished yet.
inline bool isNotConnectedYet(int error)
{
    return error == ENOTCONN;
}
// accept() failed for want of descriptors or buffers, not because of the peer.
inline bool isResourceShortage()
{
    return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
}
inline QString errorText(int code)
{
    return QString::fromLocal8Bit(std::strerror(code));
}
inline void closeDescriptor(qintptr d)
{
    ::close(int(d));
}
inline void makeNonBlocking(qintptr d)
{
    const int flags = fcntl(int(d), F_GETFL);
    if (!(flags & O_NONBLOCK))
        fcntl(int(d), F_SETFL, flags | O_NONBLOCK);
    fcntl(int(d), F_SETFD, FD_CLOEXEC);
}
inline qint64 receive(qintptr d, char *data, qint64 size)
{
    return ::recv(int(d), data, size_t(size), 0);
}
inline qint64 transmit(qintptr d, const char *data, qint64 size)
{
#ifdef MSG_NOSIGNAL
    return ::send(int(d), data, size_t(size), MSG_NOSIGNAL); // a vanished peer is no SIGPIPE
#else
    return ::send(int(d), data, size_t(size), 0);
#endif
}
// Two buffers in one call (a request's head and body): one segment when they fit.
inline qint64 transmitTwo(qintptr d, const char *a, qint64 aSize, const char *b, qint64 bSize)
{
    iovec parts[2] = {{const_cast<char *>(a), size_t(aSize)},
                      {const_cast<char *>(b), size_t(bSize)}};
    msghdr message {};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
#ifdef MSG_NOSIGNAL
    return ::sendmsg(int(d), &message, MSG_NOSIGNAL);
#else
    return ::sendmsg(int(d), &message, 0);
#endif
}
// A non-blocking, close-on-exec TCP socket.
inline qintptr openStreamSocket(int family)
{
#if defined(__linux__)
    return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
#else
    const int fd = ::socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (fd >= 0)
        makeNonBlocking(fd);
    return fd;
#endif
}
// The next pending connection, non-blocking and close-on-exec; -1 when there is none.
inline qintptr acceptOne(qintptr listener)
{
#if defined(__linux__)
    return ::accept4(int(listener), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    const int fd = ::accept(int(listener), nullptr, nullptr);
    if (fd >= 0)
        makeNonBlocking(fd);
    return fd;
#endif
}
#endif

// Fills a socket address for an IPv4 or IPv6 address; returns its length, or 0 when the
// address is neither.
inline socklen_t toSocketAddress(const QHostAddress &address, quint16 port,
                                 sockaddr_storage *storage)
{
    *storage = {};
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        return sizeof(sockaddr_in);
    }
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof(bytes.c));
        return sizeof(sockaddr_in6);
    }
    return 0;
}

// The address of the connected peer; null when it cannot be read.
inline QHostAddress peerAddress(qintptr d)
{
    sockaddr_storage storage = {};
    socklen_t length = sizeof(storage);
    if (::getpeername(d, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return QHostAddress();
    QHostAddress address;
    address.setAddress(reinterpret_cast<const sockaddr *>(&storage));
    return address;
}

} // namespace tollgate::nativesocket
