#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QString>
#include <deque>

class QSocketNotifier;

namespace tollgate {

// A connected, non-blocking TCP socket driven by the event loop, with none of
// QTcpSocket's per-connection set-up queries and per-read FIONREAD: reads go straight
// into the caller's buffer and writes straight to the kernel, and only what the kernel
// does not take at once is kept until the socket is writable again. Closing is graceful
// (the peer gets everything written, then FIN) unless close() says otherwise.
class TcpStream : public QObject
{
    Q_OBJECT

public:
    // Takes ownership of a connected, non-blocking socket descriptor.
    explicit TcpStream(qintptr descriptor, QObject *parent = nullptr);
    ~TcpStream() override;

    // Starts a non-blocking connect; the stream emits connected() or, on failure,
    // closed() with errorString() set. Returns null (and sets *error) when the connect
    // fails at once.
    static TcpStream *connectTo(const QHostAddress &address, quint16 port, QObject *parent,
                                QString *error);
    bool isConnecting() const { return m_isConnecting; }
    QString errorString() const { return m_error; }
    // Back-pressure: while disabled, nothing is read and the peer is held back by TCP.
    void setReadEnabled(bool enabled);

    // Up to size bytes: >0 read, 0 nothing available now, -1 the connection has ended.
    qint64 read(char *data, qint64 size);
    // Queues data for the peer; sends at once what the kernel accepts (also while
    // connecting: a request may leave with the handshake's completion).
    void write(const char *data, qint64 size);
    // The same; what the kernel does not take at once is kept by reference (the array is
    // shared, not copied), which spares a copy of most of a request body of megabytes.
    void write(const QByteArray &data);
    // The array's bytes from `from` on, kept by reference the same way.
    void write(const QByteArray &data, qsizetype from);
    // A request's head and its body: neither is copied into the other, and a body of
    // megabytes the kernel does not take at once is kept by reference, also while connecting.
    void write(const QByteArray &head, const QByteArray &body);
    qint64 bytesToWrite() const { return m_queuedBytes; }
    // A send failed for good (the peer reset or closed the connection): what was queued is
    // dropped. The read side reports the end too, unless reading is disabled.
    bool hasWriteFailed() const { return m_hasWriteFailed; }

    // Ends the connection once everything written has gone out; input that still
    // arrives is read and dropped meanwhile, so the peer sees our answer rather than a
    // reset. Emits closed() when done.
    void closeWhenWritten();
    // Ends the connection now (pending output is dropped).
    void close();
    bool isOpen() const { return m_descriptor >= 0; }
    QHostAddress peerAddress() const;

signals:
    void connected();
    void readyRead();
    void bytesWritten(); // queued output went out (some or all)
    void closed(); // the connection ended: peer close, error, or closeWhenWritten()

private:
    void send(const char *data, qint64 size, const QByteArray *shared);
    void onReadable();
    void onWritable();
    void markConnected();
    void sendQueued();
    void finishClose();

    qintptr m_descriptor;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    // Output the kernel has not taken yet, in order: arrays shared with the caller (a request
    // body of megabytes is never copied) from an offset, and copies of our own, which later
    // small writes are appended to.
    struct Chunk
    {
        QByteArray bytes;
        qsizetype offset = 0; // where the unsent part begins
        bool isOwn = false; // a copy made here: appending to it copies nobody's array
    };
    void enqueue(const char *data, qint64 size, const QByteArray *shared);
    void clearQueue();
    std::deque<Chunk> m_queue;
    qint64 m_queuedBytes = 0;
    QString m_error;
    bool m_isConnecting = false;
    int m_connectError = 0; // a failed connect() reported by an early send()
    bool m_isReadEnabled = true;
    bool m_isClosing = false;
    bool m_isWriteShutDown = false;
    bool m_hasWriteFailed = false;
};

} // namespace tollgate
