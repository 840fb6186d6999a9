#include "MockUpstream.h"

#include "ChunkedDecoder.h"
#include "GzipEncoder.h"
#include "HttpHead.h"

#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <atomic>
#include <memory>

namespace tollgate::test {

namespace {

QByteArray standardReason(int status)
{
    switch (status) {
    case 100:
        return QByteArrayLiteral("Continue");
    case 200:
        return QByteArrayLiteral("OK");
    case 201:
        return QByteArrayLiteral("Created");
    case 202:
        return QByteArrayLiteral("Accepted");
    case 204:
        return QByteArrayLiteral("No Content");
    case 301:
        return QByteArrayLiteral("Moved Permanently");
    case 302:
        return QByteArrayLiteral("Found");
    case 304:
        return QByteArrayLiteral("Not Modified");
    case 400:
        return QByteArrayLiteral("Bad Request");
    case 401:
        return QByteArrayLiteral("Unauthorized");
    case 403:
        return QByteArrayLiteral("Forbidden");
    case 404:
        return QByteArrayLiteral("Not Found");
    case 405:
        return QByteArrayLiteral("Method Not Allowed");
    case 408:
        return QByteArrayLiteral("Request Timeout");
    case 413:
        return QByteArrayLiteral("Payload Too Large");
    case 429:
        return QByteArrayLiteral("Too Many Requests");
    case 500:
        return QByteArrayLiteral("Internal Server Error");
    case 502:
        return QByteArrayLiteral("Bad Gateway");
    case 503:
        return QByteArrayLiteral("Service Unavailable");
    case 504:
        return QByteArrayLiteral("Gateway Timeout");
    case 529:
        return QByteArrayLiteral("Overloaded");
    default:
        return QByteArrayLiteral("Unknown");
    }
}

QByteArray chunk(const QByteArray &data)
{
    return QByteArray::number(qlonglong(data.size()), 16) + "\r\n" + data + "\r\n";
}

// JSON string literal for arbitrary bytes (assumed UTF-8).
QByteArray jsonString(const QByteArray &text)
{
    QByteArray out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                out += "\\u00" + QByteArray::number(int(c), 16).rightJustified(2, '0');
            else
                out += c;
        }
    }
    return out + '"';
}

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// "stream": true somewhere in the body, whitespace tolerated.
bool asksForStream(const QByteArray &body)
{
    static const QByteArray key = QByteArrayLiteral("\"stream\"");
    for (qsizetype at = body.indexOf(key); at >= 0; at = body.indexOf(key, at + 1)) {
        qsizetype i = at + key.size();
        while (i < body.size() && isSpace(body.at(i)))
            ++i;
        if (i >= body.size() || body.at(i) != ':')
            continue;
        ++i;
        while (i < body.size() && isSpace(body.at(i)))
            ++i;
        if (body.mid(i, 4) == "true")
            return true;
    }
    return false;
}

QByteArray nextMessageId()
{
    static std::atomic<int> counter {0};
    return "msg_mock_" + QByteArray::number(++counter).rightJustified(6, '0');
}

bool bodyless(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

} // namespace

QByteArray MockRequest::header(const QByteArray &name) const
{
    return HttpHead::value(headers, name);
}

int MockRequest::headerCount(const QByteArray &name) const
{
    return HttpHead::count(headers, name);
}

// Per-connection state: request parsing, responses waiting their turn, the one being sent.
// A child of its socket, so it goes with it; timers use it as their context object.
struct MockUpstream::Connection : public QObject
{
    enum class Reading { Head, Body, ChunkedBody, Stopped };

    struct Pending
    {
        MockResponse response;
        bool head = false; // HEAD request: no body
        bool close = false; // close after this response
    };

    explicit Connection(QTcpSocket *s)
        : QObject(s)
        , socket(s)
    {
    }

    QTcpSocket *socket;
    QByteArray in;
    Reading reading = Reading::Head;
    MockRequest request; // the one being read
    qint64 bodyLeft = 0;
    ChunkedDecoder chunks;

    QList<Pending> pending;
    bool busy = false; // a response is being sent (or never will be)
    bool closed = false;
    Pending current;
    int eventIndex = 0;
    int waitedEvent = -1; // the event whose delay has already passed
    std::unique_ptr<GzipEncoder> gzip;
};

// A QTcpServer that, in TLS mode, hands out QSslSockets once their handshake is done (and
// emits newConnection then), so the rest of the mock reads and writes plain HTTP either way.
class MockUpstream::Server : public QTcpServer
{
public:
    using QTcpServer::QTcpServer;

    bool isTls() const { return m_tls; }
    void setTls(const QSslConfiguration &configuration)
    {
        m_tls = true;
        m_configuration = configuration;
    }
    int handshakeFailures() const { return m_handshakeFailures; }
    void clearHandshakeFailures() { m_handshakeFailures = 0; }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        if (!m_tls) {
            QTcpServer::incomingConnection(descriptor);
            return;
        }
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        socket->setSslConfiguration(m_configuration);
        // Until the handshake is done the socket is ours: whichever of these comes first
        // cuts all three, so the socket is handed out or dropped exactly once.
        auto *handshake = new QObject(socket);
        auto done = [socket, handshake] {
            QObject::disconnect(socket, nullptr, handshake, nullptr);
            handshake->deleteLater();
        };
        connect(socket, &QSslSocket::encrypted, handshake, [this, socket, done] {
            done();
            addPendingConnection(socket);
            emit newConnection();
        });
        auto fail = [this, socket, done] {
            done();
            ++m_handshakeFailures;
            socket->abort();
            socket->deleteLater();
        };
        connect(socket, &QSslSocket::errorOccurred, handshake, fail);
        connect(socket, &QSslSocket::disconnected, handshake, fail);
        socket->startServerEncryption();
    }

private:
    bool m_tls = false;
    QSslConfiguration m_configuration;
    int m_handshakeFailures = 0;
};

MockUpstream::MockUpstream(QObject *parent)
    : QObject(parent)
    , m_server(new Server(this))
{
    connect(m_server, &QTcpServer::newConnection, this, &MockUpstream::onNewConnection);
}

MockUpstream::~MockUpstream()
{
    m_server->close();
    const QList<QTcpSocket *> sockets = m_connections.keys();
    m_connections.clear();
    for (QTcpSocket *socket : sockets) {
        socket->disconnect(this);
        socket->abort();
        delete socket; // its Connection and that one's timers go with it
    }
}

bool MockUpstream::listen()
{
    if (m_server->isListening())
        return true;
    return m_server->listen(QHostAddress::LocalHost, 0);
}

bool MockUpstream::listenTls(const QSslCertificate &certificate, const QSslKey &privateKey)
{
    if (m_server->isListening() || certificate.isNull() || privateKey.isNull())
        return false;
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setLocalCertificate(certificate);
    configuration.setPrivateKey(privateKey);
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    m_server->setTls(configuration);
    return m_server->listen(QHostAddress::LocalHost, 0);
}

quint16 MockUpstream::port() const
{
    return m_server->serverPort();
}

bool MockUpstream::isTls() const
{
    return m_server->isTls();
}

QByteArray MockUpstream::baseUrl() const
{
    return (isTls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + QByteArray::number(port());
}

int MockUpstream::tlsHandshakeFailures() const
{
    return m_server->handshakeFailures();
}

void MockUpstream::setHandler(Handler handler)
{
    m_handler = std::move(handler);
}

void MockUpstream::enqueue(const MockResponse &response)
{
    m_queue.append(response);
}

int MockUpstream::openConnections() const
{
    return int(m_connections.size());
}

void MockUpstream::clear()
{
    m_requests.clear();
    m_queue.clear();
    m_connectionCount = 0;
    m_server->clearHandshakeFailures();
}

MockResponse MockUpstream::messageJson(const QByteArray &model)
{
    MockResponse response;
    response.headers.emplaceBack("content-type", "application/json");
    response.body = "{\"id\":\"" + nextMessageId()
        + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + jsonString(model)
        + ",\"content\":[{\"type\":\"text\",\"text\":\"Hello from the mock\"}],"
          "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
          "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,"
          "\"cache_read_input_tokens\":0,\"output_tokens\":7}}";
    return response;
}

MockResponse MockUpstream::messageStream(const QByteArray &model, int deltas, int delayMs)
{
    static const QByteArray words[] = {"Hello", " from", " the", " mock"};
    MockResponse response;
    auto add = [&](const QByteArray &name, const QByteArray &data) {
        response.events.append(MockEvent {name, data, delayMs});
    };
    add("message_start",
        "{\"type\":\"message_start\",\"message\":{\"id\":\"" + nextMessageId()
            + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + jsonString(model)
            + ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
              "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":300,"
              "\"cache_read_input_tokens\":5000,\"cache_creation\":"
              "{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":300},"
              "\"output_tokens\":1,\"service_tier\":\"standard\"}}}");
    add("content_block_start",
        "{\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    add("ping", "{\"type\":\"ping\"}");
    for (int i = 0; i < deltas; ++i) {
        add("content_block_delta",
            "{\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":"
                + jsonString(words[i % 4]) + "}}");
    }
    add("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
    add("message_delta",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
        "\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,"
        "\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":5000,"
        "\"output_tokens\":7}}");
    add("message_stop", "{\"type\":\"message_stop\"}");
    return response;
}

QByteArray MockUpstream::errorBody(const QByteArray &type, const QByteArray &message)
{
    return "{\"type\":\"error\",\"error\":{\"type\":" + jsonString(type)
        + ",\"message\":" + jsonString(message) + "},\"request_id\":\"req_mock\"}";
}

void MockUpstream::onNewConnection()
{
    while (m_server->hasPendingConnections()) {
        QTcpSocket *socket = m_server->nextPendingConnection();
        ++m_connectionCount;
        m_connections.insert(socket, new Connection(socket));
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
            Connection *conn = m_connections.take(socket);
            if (!conn)
                return;
            conn->closed = true;
            socket->deleteLater();
            emit clientDisconnected();
        });
        if (socket->bytesAvailable() > 0)
            onReadyRead(socket);
    }
}

void MockUpstream::onReadyRead(QTcpSocket *socket)
{
    Connection *conn = m_connections.value(socket);
    if (!conn)
        return;
    conn->in += socket->readAll();
    QPointer<QTcpSocket> guard(socket);

    while (guard && !conn->closed) {
        switch (conn->reading) {
        case Connection::Reading::Stopped:
            conn->in.clear();
            return;
        case Connection::Reading::Head: {
            // Tolerate stray line ends between requests.
            while (conn->in.startsWith('\n') || conn->in.startsWith("\r\n"))
                conn->in.remove(0, conn->in.startsWith('\n') ? 1 : 2);
            const qsizetype end = HttpHead::endOf(conn->in);
            if (end < 0)
                return;
            HttpHead head;
            const QByteArray raw = conn->in.left(end);
            conn->in.remove(0, end);
            const bool ok = HttpHead::parse(raw, &head);
            const qint64 length = head.contentLength();
            if (!ok || (length == -2 && !head.isChunked())) {
                conn->reading = Connection::Reading::Stopped;
                MockResponse bad;
                bad.status = 400;
                bad.body = errorBody("invalid_request_error", "Malformed HTTP request");
                bad.closeConnection = true;
                conn->pending.append(Connection::Pending {bad, false, true});
                if (!conn->busy)
                    startNext(conn);
                return;
            }
            conn->request = MockRequest();
            conn->request.method = head.first;
            conn->request.target = head.second;
            conn->request.headers = head.headers;
            conn->request.rawHead = raw;
            if (head.isChunked()) {
                conn->chunks.reset();
                conn->reading = Connection::Reading::ChunkedBody;
            } else if (length > 0) {
                conn->bodyLeft = length;
                conn->reading = Connection::Reading::Body;
            } else {
                requestComplete(conn);
                break;
            }
            if (HttpHead::hasToken(head.headers, "expect", "100-continue"))
                socket->write("HTTP/1.1 100 Continue\r\n\r\n");
            break;
        }
        case Connection::Reading::Body: {
            if (conn->in.isEmpty())
                return;
            const qsizetype n = qMin<qint64>(conn->bodyLeft, conn->in.size());
            conn->request.body += conn->in.left(n);
            conn->in.remove(0, n);
            conn->bodyLeft -= n;
            if (conn->bodyLeft == 0)
                requestComplete(conn);
            break;
        }
        case Connection::Reading::ChunkedBody: {
            if (conn->in.isEmpty())
                return;
            const qsizetype used =
                conn->chunks.feed(conn->in.constData(), conn->in.size(), &conn->request.body);
            conn->in.remove(0, used);
            if (conn->chunks.hasError()) {
                conn->reading = Connection::Reading::Stopped;
                conn->socket->abort();
                return;
            }
            if (conn->chunks.isDone())
                requestComplete(conn);
            break;
        }
        }
    }
}

void MockUpstream::requestComplete(Connection *conn)
{
    conn->reading = Connection::Reading::Head;
    const MockRequest request = conn->request;
    conn->request = MockRequest();
    m_requests.append(request);
    QPointer<QTcpSocket> guard(conn->socket);
    emit requestReceived(request);
    if (guard && !conn->closed)
        respond(conn->socket, request);
}

MockResponse MockUpstream::defaultResponse(const MockRequest &request) const
{
    const qsizetype query = request.target.indexOf('?');
    const QByteArray path = query < 0 ? request.target : request.target.left(query);
    MockResponse response;
    if (request.method == "POST" && path == "/v1/messages") {
        QByteArray model = QJsonDocument::fromJson(request.body)
                               .object()
                               .value(QLatin1String("model"))
                               .toString()
                               .toUtf8();
        if (model.isEmpty())
            model = "claude-opus-4-8";
        response = asksForStream(request.body) ? messageStream(model) : messageJson(model);
    } else if (request.method == "POST" && path == "/v1/messages/count_tokens") {
        response.headers.emplaceBack("content-type", "application/json");
        response.body = "{\"input_tokens\":42}";
    } else if (request.method == "GET" && path == "/v1/models") {
        response.headers.emplaceBack("content-type", "application/json");
        response.body = "{\"data\":[{\"type\":\"model\",\"id\":\"claude-opus-4-8\","
                        "\"display_name\":\"Claude Opus 4.8\","
                        "\"created_at\":\"2026-01-01T00:00:00Z\"}],\"has_more\":false,"
                        "\"first_id\":\"claude-opus-4-8\",\"last_id\":\"claude-opus-4-8\"}";
    } else {
        response.status = 404;
        response.headers.emplaceBack("content-type", "application/json");
        response.body = errorBody("not_found_error", "Not found: " + request.method + ' ' + path);
    }
    response.headers.prepend({"request-id", "req_mock_" + QByteArray::number(m_requests.size())});
    return response;
}

void MockUpstream::respond(QTcpSocket *socket, const MockRequest &request)
{
    Connection *conn = m_connections.value(socket);
    if (!conn)
        return;
    MockResponse response;
    if (!m_queue.isEmpty())
        response = m_queue.takeFirst();
    else if (m_handler)
        response = m_handler(request);
    else
        response = defaultResponse(request);

    Connection::Pending pending;
    pending.head = request.method == "HEAD";
    pending.close =
        response.closeConnection || HttpHead::hasToken(request.headers, "connection", "close");
    pending.response = response;
    conn->pending.append(pending);
    if (!conn->busy)
        startNext(conn);
}

void MockUpstream::startNext(Connection *conn)
{
    if (conn->closed || conn->pending.isEmpty())
        return;
    conn->busy = true;
    conn->current = conn->pending.takeFirst();
    const MockResponse &response = conn->current.response;
    if (response.closeWithoutResponse) {
        conn->reading = Connection::Reading::Stopped;
        conn->pending.clear();
        conn->socket->disconnectFromHost();
        return;
    }
    if (response.neverRespond)
        return; // busy for good: later requests on this connection wait forever too
    if (response.firstByteDelayMs > 0)
        QTimer::singleShot(response.firstByteDelayMs, conn, [this, conn] { sendResponse(conn); });
    else
        sendResponse(conn);
}

void MockUpstream::sendResponse(Connection *conn)
{
    if (conn->closed)
        return;
    const MockResponse &response = conn->current.response;
    const bool sse = !response.events.isEmpty();
    const bool noBody = conn->current.head || bodyless(response.status);

    QByteArray payload;
    if (!sse)
        payload = response.gzip ? GzipEncoder::compress(response.body) : response.body;

    QByteArray head = "HTTP/1.1 " + QByteArray::number(response.status) + ' '
        + (response.reason.isEmpty() ? standardReason(response.status) : response.reason) + "\r\n";
    for (const auto &header : response.headers)
        head += header.first + ": " + header.second + "\r\n";
    if (!bodyless(response.status)) {
        if (!HttpHead::has(response.headers, "content-type") && (sse || !response.body.isEmpty()))
            head +=
                sse ? "Content-Type: text/event-stream\r\n" : "Content-Type: application/json\r\n";
        if (response.gzip)
            head += "Content-Encoding: gzip\r\n";
        if (sse || response.chunked)
            head += "Transfer-Encoding: chunked\r\n";
        else if (!HttpHead::has(response.headers, "content-length"))
            head += "Content-Length: " + QByteArray::number(payload.size()) + "\r\n";
    }
    if (conn->current.close)
        head += "Connection: close\r\n";
    head += "\r\n";
    conn->socket->write(head);

    if (noBody) {
        finishResponse(conn);
        return;
    }
    if (sse) {
        conn->eventIndex = 0;
        conn->waitedEvent = -1;
        conn->gzip.reset(response.gzip ? new GzipEncoder : nullptr);
        sendEvents(conn);
        return;
    }
    if (response.chunked) {
        QByteArray out;
        const qsizetype step = qMax(1, response.chunkSize);
        for (qsizetype at = 0; at < payload.size(); at += step)
            out += chunk(payload.mid(at, step));
        out += "0\r\n\r\n";
        conn->socket->write(out);
    } else {
        conn->socket->write(payload);
    }
    finishResponse(conn);
}

void MockUpstream::sendEvents(Connection *conn)
{
    const MockResponse &response = conn->current.response;
    while (!conn->closed) {
        if (response.closeAfterEvents >= 0 && conn->eventIndex >= response.closeAfterEvents) {
            resetConnection(conn);
            return;
        }
        if (conn->eventIndex >= response.events.size()) {
            QByteArray out;
            if (conn->gzip)
                out += chunk(conn->gzip->finish());
            conn->gzip.reset();
            conn->socket->write(out + "0\r\n\r\n");
            finishResponse(conn);
            return;
        }
        const MockEvent &event = response.events.at(conn->eventIndex);
        if (event.delayMs > 0 && conn->waitedEvent != conn->eventIndex) {
            conn->waitedEvent = conn->eventIndex;
            QTimer::singleShot(event.delayMs, conn, [this, conn] { sendEvents(conn); });
            return;
        }
        QByteArray text;
        if (!event.name.isEmpty())
            text += "event: " + event.name + '\n';
        text += "data: " + event.data + "\n\n";
        conn->socket->write(chunk(conn->gzip ? conn->gzip->flush(text) : text));
        ++conn->eventIndex;
    }
}

void MockUpstream::resetConnection(Connection *conn)
{
    // abort() drops unsent bytes: hand what was written to the kernel first.
    conn->reading = Connection::Reading::Stopped;
    conn->pending.clear();
    QTcpSocket *socket = conn->socket;
    socket->flush();
    if (socket->bytesToWrite() == 0) {
        socket->abort();
        return;
    }
    connect(socket, &QTcpSocket::bytesWritten, conn, [socket] {
        if (socket->bytesToWrite() == 0)
            socket->abort();
    });
}

void MockUpstream::finishResponse(Connection *conn)
{
    conn->busy = false;
    if (conn->closed)
        return;
    if (conn->current.close) {
        conn->reading = Connection::Reading::Stopped;
        conn->pending.clear();
        conn->socket->disconnectFromHost();
        return;
    }
    startNext(conn);
}

} // namespace tollgate::test
