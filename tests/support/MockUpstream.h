#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPair>
#include <functional>
#include <memory>
#include <optional>

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

// How a raw answer (MockResponse::raw) ends once its bytes are written.
enum class MockEnding {
    Close, // an orderly close (FIN)
    Reset, // a TCP reset (RST): the peer's reads fail with "connection reset"
    Stall, // nothing more, the connection stays open
};

// One piece of a raw answer, written after waiting delayMs since the previous one.
struct MockRawPiece
{
    QByteArray bytes;
    int delayMs = 0;
};

// Bytes no well-behaved server sends: written exactly as given (no status line, headers or
// framing of the mock's own), then the connection ends as `ending` says.
struct MockRaw
{
    QList<MockRawPiece> pieces;
    MockEnding ending = MockEnding::Close;
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
    std::optional<MockRaw> raw; // set: this instead of everything above (after firstByteDelayMs)
};

// The usage block of a Messages answer, in tokens.
struct MockUsage
{
    qint64 inputTokens = 0; // uncached input
    qint64 cacheWrite5mTokens = 0; // cache_creation.ephemeral_5m_input_tokens
    qint64 cacheWrite1hTokens = 0; // cache_creation.ephemeral_1h_input_tokens
    qint64 cacheReadTokens = 0; // cache_read_input_tokens
    qint64 outputTokens = 0;

    // cache_creation_input_tokens: the 5m plus the 1h writes.
    qint64 cacheCreationTokens() const { return cacheWrite5mTokens + cacheWrite1hTokens; }
};

// What the prompt-cache simulation (MockUpstream::enablePromptCache()) made of one
// POST /v1/messages: the markers it received and the usage it answered with.
struct MockCacheReport
{
    int markers = 0; // cache_control markers in the body, a top-level one included
    int status = 200; // 400 when there were more than 4 markers
    int breakpoints = 0; // markers long enough to cache (see enablePromptCache())
    int hitBlock = -1; // the prefix block the longest read ended at; -1: nothing read
    MockUsage usage; // zero output tokens and no cache traffic when status is 400
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
    // Opt-in: the default POST /v1/messages answers follow the API's prompt-cache rules
    // (a queued response or a handler still wins). The prompt prefix is walked in the
    // API's order, tools -> system -> messages, one block per tool definition, system
    // block and message content block (a string system or content is one text block).
    // A block carrying cache_control (or the last block, for a top-level cache_control)
    // ends a breakpoint. The mock's "tokens" are the bytes of the canonical compact JSON
    // (sorted keys, cache_control left out) of the prefix blocks, divided by 4; a breakpoint
    // whose prefix is shorter than minimumTokens neither reads nor writes (the API's
    // minimum cacheable length: 1024 for Sonnet 4.6). Each breakpoint reads the longest
    // prefix an earlier request wrote among its own block and the 19 before it (the API's
    // 20-block lookback window), matched by a hash of the model and the prefix content;
    // then every breakpoint writes an entry, for 5 minutes (1 hour with "ttl":"1h") on a
    // monotonic clock, a hit refreshing its entry. The answer's usage: cache reads up to
    // the longest hit, cache writes from there to the last breakpoint (1h ones up to the
    // last 1h breakpoint, 5m after it), input tokens for the rest, output tokens for the
    // reply text / 4. More than 4 markers is the API's 400 invalid_request_error "A maximum
    // of 4 blocks with cache_control may be provided. Found N.", which reads and writes
    // nothing. Each answer is recorded in cacheReports().
    void enablePromptCache(int minimumTokens = 0);
    const QList<MockCacheReport> &cacheReports() const { return m_cacheReports; }
    // Answer the next request with this response, then go back to the handler/defaults.
    void enqueue(const MockResponse &response);

    const QList<MockRequest> &requests() const { return m_requests; }
    int connectionCount() const { return m_connectionCount; } // accepted so far
    // Request bytes read so far, heads and bodies, of requests whole or not yet.
    qint64 bytesReceived() const { return m_bytesReceived; }
    int openConnections() const; // connected right now
    // Forgets requests, queued responses, connectionCount, bytesReceived, tlsHandshakeFailures and
    // cacheReports; keeps the handler and the prompt-cache entries.
    void clear();

    // Ready-made answers.
    static MockResponse messageJson(const QByteArray &model = "claude-opus-4-8");
    static MockResponse messageStream(const QByteArray &model = "claude-opus-4-8", int deltas = 3,
                                      int delayMs = 0);
    // The same two shapes with this reply text and usage (the stream sends the text in up
    // to 3 deltas, and the usage in message_start and again in message_delta).
    static MockResponse messageJson(const QByteArray &model, const MockUsage &usage,
                                    const QByteArray &text);
    static MockResponse messageStream(const QByteArray &model, const MockUsage &usage,
                                      const QByteArray &text, int delayMs = 0);
    static QByteArray errorBody(const QByteArray &type, const QByteArray &message);
    // An Anthropic error answer: this status, content-type application/json, errorBody().
    static MockResponse errorJson(int status, const QByteArray &type, const QByteArray &message);

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
    MockResponse defaultResponse(const MockRequest &request);
    void startNext(Connection *conn);
    void sendResponse(Connection *conn);
    void sendEvents(Connection *conn);
    void sendRaw(Connection *conn);
    void resetConnection(Connection *conn, bool isHardReset = false);
    void finishResponse(Connection *conn);

    class Server;
    class PromptCache;
    Server *m_server = nullptr;
    QHash<QTcpSocket *, Connection *>
        m_connections; // open ones; each Connection is a child of its socket
    Handler m_handler;
    QList<MockResponse> m_queue;
    QList<MockRequest> m_requests;
    qint64 m_bytesReceived = 0;
    int m_connectionCount = 0;
    std::unique_ptr<PromptCache> m_promptCache; // null until enablePromptCache()
    QList<MockCacheReport> m_cacheReports;
};

} // namespace tollgate::test
