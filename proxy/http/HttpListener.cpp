#include "HttpListener.h"

#include "NativeSocket.h"

#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimer>

namespace tollgate {

using namespace nativesocket;

namespace {
// Connections taken per readiness of the listening socket.
constexpr int kAcceptsPerPass = 16;
// Out of descriptors, accepting pauses this long: the listening socket stays readable, and
// retrying at once would spin the proxy thread until a descriptor is free.
constexpr int kShortagePauseMs = 100;
// One warning per this many ms while the shortage lasts.
constexpr qint64 kShortageWarningMs = 10'000;
} // namespace

Q_LOGGING_CATEGORY(lcListener, "tollgate.http")

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
        if (fd >= 0) {
            emit accepted(fd);
            continue;
        }
        if (wouldBlock())
            return; // drained
        if (isResourceShortage()) {
            pauseAccepting(lastError());
            return;
        }
        // Anything else (a client that reset before it was accepted) concerns that client.
    }
}

void HttpListener::pauseAccepting(int error)
{
    if (!m_shortageClock.isValid() || m_shortageClock.elapsed() > kShortageWarningMs) {
        m_shortageClock.start();
        qCWarning(lcListener).noquote()
            << QStringLiteral("cannot accept connections: %1 (open connections keep being "
                              "served; accepting resumes when descriptors are free)")
                   .arg(errorText(error));
    }
    m_notifier->setEnabled(false);
    QTimer::singleShot(kShortagePauseMs, this, [this] {
        if (m_notifier)
            m_notifier->setEnabled(true);
    });
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
