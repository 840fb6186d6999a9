// TcpStream sends a request's head and its body of megabytes as two shared arrays: the
// peer gets exactly head + body, in order, whether the connection is still being made
// when they are written, is already up, or the kernel takes the body in many pieces.
#include "http/TcpStream.h"

#include <QHostAddress>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace tollgate;

namespace {

QByteArray pattern(qsizetype size, char seed)
{
    QByteArray out(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        out[i] = char(seed + i % 251);
    return out;
}

// Reads from the accepted socket until `expected` bytes came or the time is up.
QByteArray readAll(QTcpSocket *peer, qsizetype expected)
{
    QByteArray received;
    // The caller compares sizes: a short read shows there, with what arrived.
    (void)QTest::qWaitFor(
        [&] {
            received += peer->readAll();
            return received.size() >= expected;
        },
        20000);
    return received;
}

} // namespace

class tst_TcpStream final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void sendsHeadThenBodyWrittenWhileConnecting();
    void sendsHeadThenBodyOnAConnectedStream();
    void keepsLaterWritesBehindAQueuedBody();
    void sendsTheTailOfASharedArray();

private:
    // The accepted end of m_stream's connection.
    QTcpSocket *accept();
    // Checks that the peer received exactly expected.
    void expectReceived(QTcpSocket *peer, const QByteArray &expected);

    QTcpServer *m_server = nullptr;
    TcpStream *m_stream = nullptr;
};

void tst_TcpStream::init()
{
    m_server = new QTcpServer(this);
    QVERIFY(m_server->listen(QHostAddress::LocalHost));
    QString error;
    m_stream = TcpStream::connectTo(QHostAddress::LocalHost, m_server->serverPort(), this, &error);
    QVERIFY2(m_stream, qPrintable(error));
}

void tst_TcpStream::cleanup()
{
    delete m_stream;
    delete m_server;
}

QTcpSocket *tst_TcpStream::accept()
{
    return m_server->waitForNewConnection(5000) ? m_server->nextPendingConnection() : nullptr;
}

void tst_TcpStream::expectReceived(QTcpSocket *peer, const QByteArray &expected)
{
    QVERIFY(peer);
    const QByteArray received = readAll(peer, expected.size());
    QCOMPARE(received.size(), expected.size());
    QVERIFY(received == expected);
    QTRY_COMPARE(m_stream->bytesToWrite(), 0);
}

void tst_TcpStream::sendsHeadThenBodyWrittenWhileConnecting()
{
    const QByteArray head = "POST /v1/messages HTTP/1.1\r\nContent-Length: 8388608\r\n\r\n";
    const QByteArray body = pattern(8 << 20, 'a');
    m_stream->write(head, body); // before the handshake is known to be done
    expectReceived(accept(), head + body);
}

void tst_TcpStream::sendsHeadThenBodyOnAConnectedStream()
{
    QSignalSpy connected(m_stream, &TcpStream::connected);
    QTcpSocket *peer = accept();
    QVERIFY(connected.wait(5000));
    // Two requests in a row: the second's head waits behind the first's unsent body.
    const QByteArray head1 = "POST /a HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n";
    const QByteArray body1 = pattern(4 << 20, 'b');
    const QByteArray head2 = "POST /b HTTP/1.1\r\nContent-Length: 3145728\r\n\r\n";
    const QByteArray body2 = pattern(3 << 20, 'c');
    m_stream->write(head1, body1);
    m_stream->write(head2, body2);
    expectReceived(peer, head1 + body1 + head2 + body2);
}

void tst_TcpStream::keepsLaterWritesBehindAQueuedBody()
{
    const QByteArray head = "HEAD\r\n";
    const QByteArray body = pattern(6 << 20, 'd');
    m_stream->write(head, body);
    const char tail[] = "tail bytes";
    m_stream->write(tail, qint64(sizeof(tail) - 1)); // copied, after the shared body
    const QByteArray more = pattern(1 << 20, 'e');
    m_stream->write(more); // shared, after that
    expectReceived(accept(), head + body + QByteArray(tail) + more);
}

// A body sent on as it arrived: its first part went out earlier; the rest of the same array
// follows, from where it is, also when the kernel does not take it at once and when other
// bytes still wait ahead of it.
void tst_TcpStream::sendsTheTailOfASharedArray()
{
    QSignalSpy connected(m_stream, &TcpStream::connected);
    QTcpSocket *peer = accept();
    QVERIFY(connected.wait(5000));
    const QByteArray body = pattern(6 << 20, 'f');
    const qsizetype sentBefore = 1 << 20;
    m_stream->write(body.constData(), sentBefore);
    m_stream->write(body, sentBefore); // the kernel takes part; the rest is kept shared
    QVERIFY(m_stream->bytesToWrite() > 0);
    const QByteArray second = pattern(5 << 20, 'g');
    m_stream->write(second, 3); // behind what waits: copied from its offset
    expectReceived(peer, body + second.sliced(3));
}

QTEST_GUILESS_MAIN(tst_TcpStream)
#include "tst_TcpStream.moc"
