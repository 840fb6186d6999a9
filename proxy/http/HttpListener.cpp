#include "HttpListener.h"

#include "NativeSocket.h"

#include <QSocketNotifier>

namespace tollgate {

using namespace nativesocket;

namespace {
// Connections taken per readiness of the listening socket.
constexpr int kAcceptsPerPass = 16;
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
    ensureStarted();
    sockaddr_storage storage;
    socklen_t length = toSocketAddress(address, port, &storage);
    if (length == 0) {
        m_error = QStringLiteral("not an IP address: %1").arg(address.toString());
        return false;
    }
    const bool isIpv6 = storage.ss_family == AF_INET6;
    const qintptr fd = openStreamSocket(storage.ss_family);
    if (fd < 0) {
        m_error = errorText(lastError());
        return false;
    }
#ifndef _WIN32
    // A restart must not fail on connections of the previous run still in TIME_WAIT.
    const int one = 1;
    setsockopt(int(fd), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#endif
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&storage), length) != 0
        || ::listen(fd, backlog) != 0) {
        m_error = errorText(lastError());
        closeDescriptor(fd);
        return false;
    }
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
