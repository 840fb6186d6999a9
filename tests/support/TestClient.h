#pragma once

#include "ChunkedDecoder.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QPair>
#include <functional>

class QTcpSocket;

namespace tollgate::test {

// Raw HTTP/1.1 client over one TCP connection to 127.0.0.1, for integration tests that need
// the exact bytes: it sends what it is given and parses the responses as they arrive
// (pipelined ones in order, 1xx interim ones apart). Runs on the thread that creates it.
class TestClient : public QObject
{
    Q_OBJECT

public:
    using Headers = QList<QPair<QByteArray, QByteArray>>;

    // Decoded body bytes that one read from the socket delivered.
    struct BodyRead
    {
        qint64 atUs = 0; // elapsedUs() when they arrived
        QByteArray data;
    };

    struct Response
    {
        QByteArray version; // "HTTP/1.1"
        int status = 0;
        QByteArray reason;
        Headers headers; // in order, case as received
        QByteArray rawHead; // status line and header block as received
        QByteArray body; // de-chunked (still Content-Encoded)
        QByteArray rawBody; // as received, chunk framing included
        bool chunked = false;
        bool complete = false; // framing satisfied; false: cut short by the connection's end
        bool connectionClosed = false; // the server closed the connection after (or during) it
        qint64 headAtUs = -1;
        qint64 endAtUs = -1;
        QList<BodyRead> bodyReads; // one per read that carried body bytes

        QByteArray
        header(const QByteArray &name) const; // first one, case-insensitive; null if absent
        int headerCount(const QByteArray &name) const;
        // An error in Anthropic's shape, {"type":"error","error":{"type":T,"message":M}}, with
        // this status, T the API's type for it, M not empty, and a JSON content type.
        bool isAnthropicError(int expectedStatus) const;
    };

    explicit TestClient(QObject *parent = nullptr);
    ~TestClient() override;

    void connectTo(quint16 port); // asynchronous; sendRaw() may be called right away
    void sendRaw(const QByteArray &bytes);
    void send(const QByteArray &method, const QByteArray &target, const Headers &headers = {},
              const QByteArray &body = {}); // sendRaw(request(...))
    void close(); // graceful close from our side
    void abort(); // close from our side at once, unsent bytes dropped
    void reset(); // abortive close (SO_LINGER 0): the peer gets a TCP RST, not a FIN

    bool isConnected() const;
    bool closedByServer() const { return m_closedByServer; }
    bool parseError() const { return m_parseError; } // the server's bytes were not HTTP

    const QList<Response> &responses() const { return m_responses; } // finished ones
    const QList<Response> &interimResponses() const { return m_interim; } // 1xx
    const Response *partialResponse() const; // head received, body still coming; else nullptr
    const QByteArray &received() const { return m_received; } // every byte, as received
    qint64 elapsedUs() const { return m_clock.nsecsElapsed() / 1000; } // since construction

    // These spin a local event loop (no sleeping) until done or timeoutMs passed.
    bool waitForConnected(int timeoutMs = 5000);
    bool waitForResponses(int n, int timeoutMs = 5000); // false early if the connection ended
    bool waitForClose(int timeoutMs = 5000);
    bool waitUntil(const std::function<bool()> &condition, int timeoutMs = 5000);

    // "METHOD target HTTP/1.1" with the headers as given, plus Host: 127.0.0.1 and
    // Content-Length when absent (Content-Length only for a body, or POST/PUT/PATCH).
    static QByteArray request(const QByteArray &method, const QByteArray &target,
                              const Headers &headers = {}, const QByteArray &body = {});
    // Inflates a gzip (or zlib) stream; *ok is false if it is malformed or incomplete.
    static QByteArray gunzip(const QByteArray &data, bool *ok = nullptr);

signals:
    void connected();
    void headReceived(); // of a final response
    void bodyReceived(const QByteArray &data); // decoded body bytes
    void responseFinished();
    void connectionEnded(); // closed by either side, or could not connect
    void progress(); // any of the above, or an interim response

private:
    enum class Framing { None, Length, Chunked, UntilClose };

    void onReadyRead();
    void onEnded();
    void parseIncoming(qint64 nowUs);
    void finishResponse(qint64 nowUs, bool complete);
    void trackOutgoing();

    QTcpSocket *m_socket = nullptr;
    QElapsedTimer m_clock;
    QByteArray m_in;
    QByteArray m_received;
    QList<Response> m_responses;
    QList<Response> m_interim;
    bool m_parseError = false;
    bool m_ended = false;
    bool m_closedByServer = false;
    bool m_closedByUs = false;
    bool m_wasConnected = false;
    bool m_parsing = false;
    bool m_endPending = false;

    // The response being received.
    bool m_inResponse = false;
    Response m_current;
    Framing m_framing = Framing::None;
    qint64 m_bodyLeft = 0;
    ChunkedDecoder m_dechunker;

    // Requests sent, to know which responses answer HEAD.
    QByteArray m_out;
    QList<QByteArray> m_sentMethods;
    qint64 m_outBodyLeft = 0;
    bool m_outChunked = false;
    bool m_outBroken = false;
    ChunkedDecoder m_outDechunker;
};

} // namespace tollgate::test
