#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPair>
#include <functional>

class QSslCertificate;
class QSslKey;
class QTcpSocket;

namespace tollgate::test {

// One request as the mock upstream received it, header names and values exactly as sent.
struct MockRequest
{
    QByteArray method;
    QByteArray target; // path and query
    QList<QPair<QByteArray, QByteArray>> headers; // in order, case as sent
    QByteArray body; // de-chunked
    QByteArray rawHead; // request line and header block, bytes exactly as received

    // First header with this name (case-insensitive); null when absent.
    QByteArray header(const QByteArray &name) const;
    int headerCount(const QByteArray &name) const;
};

// One SSE event the mock sends, after waiting delayMs since the previous one.
struct MockEvent
{
    QByteArray name; // empty: no "event:" line
    QByteArray data;
    int delayMs = 0;
};

// What the mock answers. Defaults: 200, JSON body, Content-Length framing.
struct MockResponse
{
    int status = 200;
    QByteArray reason; // empty: the standard phrase
    QList<QPair<QByteArray, QByteArray>> headers; // sent as given, before framing headers
    QByteArray body; // non-SSE body
    QList<MockEvent> events; // when non-empty: text/event-stream, chunked, one chunk per event
    bool chunked = false; // body sent chunked (in chunks of chunkSize bytes)
    int chunkSize = 1024;
    bool gzip = false; // gzip the body (or the whole event stream) and say Content-Encoding: gzip
    int firstByteDelayMs = 0; // wait before the status line
    int closeAfterEvents = -1; // >= 0: reset the connection after this many events
    bool closeWithoutResponse = false; // close the connection as soon as the request arrived
    bool neverRespond = false; // read the request and never answer
    bool closeConnection = false; // send Connection: close and close after the response
};

// Scriptable Anthropic-like upstream on 127.0.0.1 (any free port), running on the thread
// that creates it; plain HTTP after listen(), HTTPS after listenTls(). By default it
// answers POST /v1/messages like the Messages API (JSON, or SSE when the body holds
// "stream":true), /v1/messages/count_tokens with {"input_tokens":N}, GET /v1/models with
// a model list. A handler replaces that.
class MockUpstream : public QObject
{
    Q_OBJECT

public:
    using Handler = std::function<MockResponse(const MockRequest &)>;

    explicit MockUpstream(QObject *parent = nullptr);
    ~MockUpstream() override;

    bool listen(); // on 127.0.0.1, port 0
    // Same, but every connection is TLS with this certificate (the client's is not asked
    // for). A connection counts, and its requests are read, once the handshake is done;
    // one whose handshake fails is dropped and only shows in tlsHandshakeFailures().
    // False when already listening.
    bool listenTls(const QSslCertificate &certificate, const QSslKey &privateKey);
    quint16 port() const;
    bool isTls() const;
    QByteArray baseUrl() const; // http://127.0.0.1:PORT, or https:// after listenTls()
    int tlsHandshakeFailures() const; // TLS connections dropped before the handshake finished

    void setHandler(Handler handler); // empty handler: the default Anthropic-like answers
    // Answer the next request with this response, then go back to the handler/defaults.
    void enqueue(const MockResponse &response);

    const QList<MockRequest> &requests() const { return m_requests; }
    int connectionCount() const { return m_connectionCount; } // accepted so far
    int openConnections() const; // connected right now
    // Forgets requests, queued responses, connectionCount and tlsHandshakeFailures; keeps
    // the handler.
    void clear();

    // Ready-made answers.
    static MockResponse messageJson(const QByteArray &model = "claude-opus-4-8");
    static MockResponse messageStream(const QByteArray &model = "claude-opus-4-8", int deltas = 3,
                                      int delayMs = 0);
    static QByteArray errorBody(const QByteArray &type, const QByteArray &message);

signals:
    void requestReceived(const tollgate::test::MockRequest &request);
    void clientDisconnected(); // a connection from the proxy closed

private:
    // implementation defined
    struct Connection;
    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);
    void respond(QTcpSocket *socket, const MockRequest &request);
    void requestComplete(Connection *conn);
    MockResponse defaultResponse(const MockRequest &request) const;
    void startNext(Connection *conn);
    void sendResponse(Connection *conn);
    void sendEvents(Connection *conn);
    void resetConnection(Connection *conn);
    void finishResponse(Connection *conn);

    class Server;
    Server *m_server = nullptr;
    QHash<QTcpSocket *, Connection *>
        m_connections; // open ones; each Connection is a child of its socket
    Handler m_handler;
    QList<MockResponse> m_queue;
    QList<MockRequest> m_requests;
    int m_connectionCount = 0;
};

} // namespace tollgate::test
