#include "TcpStream.h"

#include "NativeSocket.h"

#include <QSocketNotifier>

namespace tollgate {

using namespace nativesocket;

TcpStream::TcpStream(qintptr descriptor, QObject *parent)
    : QObject(parent)
    , m_descriptor(descriptor)
{
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
    sockaddr_storage storage;
    const socklen_t length = toSocketAddress(address, port, &storage);
    if (length == 0) {
        *error = QStringLiteral("not an IP address: %1").arg(address.toString());
        return nullptr;
    }
    ensureStarted();
    const qintptr descriptor = openStreamSocket(storage.ss_family);
    if (descriptor < 0) {
        *error = errorText(lastError());
        return nullptr;
    }
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

QHostAddress TcpStream::peerAddress() const
{
    return m_descriptor >= 0 ? nativesocket::peerAddress(m_descriptor) : QHostAddress();
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
    send(data, size, nullptr);
}

void TcpStream::write(const QByteArray &data)
{
    send(data.constData(), data.size(), &data);
}

void TcpStream::write(const QByteArray &data, qsizetype from)
{
    send(data.constData() + from, data.size() - from, &data);
}

void TcpStream::write(const QByteArray &head, const QByteArray &body)
{
    if (m_descriptor >= 0 && !m_isConnecting && bytesToWrite() == 0 && !m_isWriteShutDown
        && !head.isEmpty() && !body.isEmpty()) {
        // Both in one call, as one segment when they fit: no second wake-up for the peer.
        const qint64 n =
            transmitTwo(m_descriptor, head.constData(), head.size(), body.constData(), body.size());
        if (n < 0 && !wouldBlock()) {
            m_hasWriteFailed = true;
            return; // the peer is gone; the read side reports it as the end of the connection
        }
        const qint64 sent = qMax<qint64>(n, 0);
        if (sent == head.size() + body.size())
            return;
        // The rest waits, shared: what is left of the head, then the body.
        if (sent < head.size()) {
            enqueue(head.constData() + sent, head.size() - sent, &head);
            enqueue(body.constData(), body.size(), &body);
        } else {
            enqueue(body.constData() + (sent - head.size()), body.size() - (sent - head.size()),
                    &body);
        }
        m_writeNotifier->setEnabled(true);
        return;
    }
    send(head.constData(), head.size(), &head);
    send(body.constData(), body.size(), &body);
}

// What the kernel does not take at once is kept: by reference when the bytes are a byte
// array's (shared, so a request of megabytes is not copied), else copied.
void TcpStream::send(const char *data, qint64 size, const QByteArray *shared)
{
    if (m_descriptor < 0 || size <= 0 || m_isWriteShutDown)
        return;
    if (bytesToWrite() == 0 && m_isConnecting) {
        // On loopback and fast links the handshake is often done by now: try at once
        // instead of waiting a loop pass for writability. Any failure just waits for it.
        const qint64 n = transmit(m_descriptor, data, size);
        if (n > 0) {
            if (n < size)
                enqueue(data + n, size - n, shared);
            markConnected();
            return;
        }
        // A connect that failed meanwhile reports its error here, once: the kernel hands
        // it to this send() and clears it, so SO_ERROR reads 0 afterwards. Kept for
        // onWritable(), which fires for the failed socket.
        if (n < 0 && !wouldBlock() && !isNotConnectedYet(lastError()))
            m_connectError = lastError();
        enqueue(data, size, shared);
        return;
    }
    if (bytesToWrite() == 0 && !m_isConnecting) {
        const qint64 n = transmit(m_descriptor, data, size);
        if (n == size)
            return;
        if (n < 0 && !wouldBlock()) {
            // The peer is gone; the read side reports it as the end of the connection.
            m_hasWriteFailed = true;
            return;
        }
        const qint64 sent = n > 0 ? n : 0;
        enqueue(data + sent, size - sent, shared);
    } else {
        enqueue(data, size, shared); // behind what waits
    }
    if (!m_isConnecting)
        m_writeNotifier->setEnabled(true);
}

// Bytes of `shared` (data points into it) are kept by reference; others are copied, onto the
// last copy of our own when there is one.
void TcpStream::enqueue(const char *data, qint64 size, const QByteArray *shared)
{
    if (size <= 0)
        return;
    m_queuedBytes += size;
    if (shared) {
        m_queue.push_back({*shared, qsizetype(data - shared->constData()), false});
        return;
    }
    if (!m_queue.empty() && m_queue.back().isOwn) {
        m_queue.back().bytes.append(data, qsizetype(size));
        return;
    }
    m_queue.push_back({QByteArray(data, qsizetype(size)), 0, true});
}

void TcpStream::clearQueue()
{
    m_queue.clear();
    m_queuedBytes = 0;
}

void TcpStream::sendQueued()
{
    while (!m_queue.empty()) {
        Chunk &front = m_queue.front();
        const qint64 n = transmit(m_descriptor, front.bytes.constData() + front.offset,
                                  front.bytes.size() - front.offset);
        if (n < 0) {
            if (wouldBlock())
                return;
            clearQueue();
            m_hasWriteFailed = true;
            break;
        }
        front.offset += qsizetype(n);
        m_queuedBytes -= n;
        if (front.offset == front.bytes.size())
            m_queue.pop_front();
    }
    m_writeNotifier->setEnabled(false);
}

void TcpStream::onWritable()
{
    if (m_isConnecting) {
        int code = 0;
        socklen_t size = sizeof(code);
        getsockopt(m_descriptor, SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&code), &size);
        if (code == 0)
            code = m_connectError;
        if (code != 0) {
            m_error = errorText(code);
            finishClose();
            return;
        }
        markConnected();
        if (bytesToWrite() > 0)
            sendQueued();
        return;
    }
    sendQueued();
    emit bytesWritten();
    if (m_isClosing && bytesToWrite() == 0 && !m_isWriteShutDown)
        closeWhenWritten();
}

void TcpStream::markConnected()
{
    m_isConnecting = false;
    m_readNotifier->setEnabled(m_isReadEnabled);
    m_writeNotifier->setEnabled(bytesToWrite() > 0);
    emit connected();
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
        shutdown(m_descriptor, kShutdownWrite);
    }
}

void TcpStream::close()
{
    if (m_descriptor < 0)
        return;
    clearQueue();
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
