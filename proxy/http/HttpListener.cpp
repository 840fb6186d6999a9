#include "HttpListener.h"

#include <QSocketNotifier>
#include <cerrno>
#include <cstring>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
// Connections taken per readiness of the listening socket.
constexpr int kAcceptsPerPass = 4;

#ifdef _WIN32
// Winsock must be started before the first socket call; Qt does it only for its own sockets.
void ensureWinsock()
{
    static const bool started = [] {
        WSADATA data;
        return WSAStartup(MAKEWORD(2, 2), &data) == 0;
    }();
    Q_UNUSED(started);
}
QString lastErrorText()
{
    return QStringLiteral("socket error %1").arg(WSAGetLastError());
}
void closeDescriptor(qintptr d)
{
    closesocket(SOCKET(d));
}
qintptr acceptOne(qintptr listener)
{
    const SOCKET s = ::accept(SOCKET(listener), nullptr, nullptr);
    if (s == INVALID_SOCKET)
        return -1;
    u_long on = 1;
    ioctlsocket(s, FIONBIO, &on);
    return qintptr(s);
}
void makeNonBlocking(qintptr d)
{
    u_long on = 1;
    ioctlsocket(SOCKET(d), FIONBIO, &on);
}
#else
void ensureWinsock() { }
QString lastErrorText()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}
void closeDescriptor(qintptr d)
{
    ::close(int(d));
}
qintptr acceptOne(qintptr listener)
{
#if defined(__linux__)
    return ::accept4(int(listener), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    const int fd = ::accept(int(listener), nullptr, nullptr);
    if (fd >= 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
#endif
}
void makeNonBlocking(qintptr d)
{
    fcntl(int(d), F_SETFL, fcntl(int(d), F_GETFL) | O_NONBLOCK);
    fcntl(int(d), F_SETFD, FD_CLOEXEC);
}
#endif
} // namespace

HttpListener::HttpListener(QObject *parent)
    : QObject(parent)
{
}

HttpListener::~HttpListener()
{
    close();
}

bool HttpListener::listen(const QHostAddress &address, quint16 port, int backlog)
{
    ensureWinsock();
    sockaddr_storage storage = {};
    socklen_t length = 0;
    const bool isIpv6 = address.protocol() == QAbstractSocket::IPv6Protocol;
    if (isIpv6) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof(bytes.c));
        length = sizeof(sockaddr_in6);
    } else {
        auto *in = reinterpret_cast<sockaddr_in *>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        length = sizeof(sockaddr_in);
    }
    const qintptr fd = qintptr(::socket(storage.ss_family, SOCK_STREAM, IPPROTO_TCP));
    if (fd < 0) {
        m_error = lastErrorText();
        return false;
    }
#ifndef _WIN32
    // A restart must not fail on connections of the previous run still in TIME_WAIT.
    const int one = 1;
    setsockopt(int(fd), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#endif
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&storage), length) != 0
        || ::listen(fd, backlog) != 0) {
        m_error = lastErrorText();
        closeDescriptor(fd);
        return false;
    }
    makeNonBlocking(fd);
    getsockname(fd, reinterpret_cast<sockaddr *>(&storage), &length);
    m_port = ntohs(isIpv6 ? reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port
                          : reinterpret_cast<sockaddr_in *>(&storage)->sin_port);
    m_descriptor = fd;
    m_notifier = new QSocketNotifier(m_descriptor, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &HttpListener::onReadable);
    return true;
}

void HttpListener::onReadable()
{
    // Level-triggered: whatever is left in the backlog is announced again next pass.
    for (int i = 0; i < kAcceptsPerPass; ++i) {
        const qintptr fd = acceptOne(m_descriptor);
        if (fd < 0)
            return; // drained (EAGAIN), or a transient error such as EMFILE
        emit accepted(fd);
    }
}

void HttpListener::close()
{
    if (m_descriptor < 0)
        return;
    delete m_notifier;
    m_notifier = nullptr;
    closeDescriptor(m_descriptor);
    m_descriptor = -1;
}

} // namespace tollgate
