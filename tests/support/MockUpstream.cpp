#include "MockUpstream.h"

#include "ChunkedDecoder.h"
#include "GzipEncoder.h"
#include "HttpHead.h"

#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QHostAddress>
#include <QJsonArray>
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

#if __has_include(<sys/socket.h>)
#include <sys/socket.h>
#endif

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

// A Messages usage object. The detailed form, as JSON answers and message_start carry it,
// adds the 5m/1h split of the cache writes and the service tier; message_delta has the short
// one.
QByteArray usageJson(const MockUsage &usage, bool isDetailed)
{
    QByteArray out = "{\"input_tokens\":" + QByteArray::number(usage.inputTokens)
        + ",\"cache_creation_input_tokens\":" + QByteArray::number(usage.cacheCreationTokens())
        + ",\"cache_read_input_tokens\":" + QByteArray::number(usage.cacheReadTokens);
    if (isDetailed) {
        out += ",\"cache_creation\":{\"ephemeral_5m_input_tokens\":"
            + QByteArray::number(usage.cacheWrite5mTokens) + ",\"ephemeral_1h_input_tokens\":"
            + QByteArray::number(usage.cacheWrite1hTokens) + '}';
    }
    out += ",\"output_tokens\":" + QByteArray::number(usage.outputTokens);
    if (isDetailed)
        out += ",\"service_tier\":\"standard\"";
    return out + '}';
}

MockResponse messageJsonWith(const QByteArray &model, const QByteArray &text,
                             const QByteArray &usage)
{
    MockResponse response;
    response.headers.emplaceBack("content-type", "application/json");
    response.body = "{\"id\":\"" + nextMessageId()
        + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + jsonString(model)
        + ",\"content\":[{\"type\":\"text\",\"text\":" + jsonString(text)
        + "}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":" + usage + '}';
    return response;
}

// A text reply streamed as `pieces` deltas, with these usage objects in message_start and
// message_delta.
MockResponse messageStreamWith(const QByteArray &model, const QList<QByteArray> &pieces,
                               int delayMs, const QByteArray &startUsage,
                               const QByteArray &endUsage)
{
    MockResponse response;
    auto add = [&](const QByteArray &name, const QByteArray &data) {
        response.events.append(MockEvent {name, data, delayMs});
    };
    add("message_start",
        "{\"type\":\"message_start\",\"message\":{\"id\":\"" + nextMessageId()
            + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + jsonString(model)
            + ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":" + startUsage
            + "}}");
    add("content_block_start",
        "{\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    add("ping", "{\"type\":\"ping\"}");
    for (const QByteArray &piece : pieces) {
        add("content_block_delta",
            "{\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":"
                + jsonString(piece) + "}}");
    }
    add("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
    add("message_delta",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
        "\"stop_sequence\":null},\"usage\":"
            + endUsage + '}');
    add("message_stop", "{\"type\":\"message_stop\"}");
    return response;
}

// The text in up to `count` pieces of about equal size, never cut inside a UTF-8 sequence.
QList<QByteArray> splitText(const QByteArray &text, int count)
{
    QList<QByteArray> pieces;
    qsizetype from = 0;
    for (int i = 1; i <= count && from < text.size(); ++i) {
        qsizetype to = i == count ? text.size() : qMax(from + 1, text.size() * i / count);
        while (to < text.size() && (static_cast<unsigned char>(text.at(to)) & 0xC0) == 0x80)
            ++to;
        pieces.append(text.mid(from, to - from));
        from = to;
    }
    return pieces;
}

// The prompt-cache rules the simulation follows (Anthropic's prompt-caching guide, see
// research/protocol.md section 5).
constexpr int kMaxCacheMarkers = 4; // "A maximum of 4 blocks with cache_control ..."
constexpr int kLookbackBlocks = 20; // a breakpoint finds earlier entries 20 blocks back at most
constexpr qint64 kBytesPerToken = 4; // the mock's stand-in for a tokenizer

// One block of the prompt prefix as the cache sees it.
struct PrefixBlock
{
    QByteArray hash; // of the model and every block up to and including this one
    qint64 tokens = 0; // of the prefix up to and including this one
    bool isBreakpoint = false; // carries cache_control (or is the top-level marker's target)
    bool isOneHour = false; // its marker asks for "ttl":"1h"
};

struct Prefix
{
    QList<PrefixBlock> blocks; // tools, then system, then messages
    int markers = 0; // cache_control markers, a top-level one included
};

bool isOneHourMarker(const QJsonValue &marker)
{
    return marker.toObject().value(QLatin1String("ttl")).toString() == QLatin1String("1h");
}

// The block without its cache_control markers (a tool_result's inner blocks included): the
// markers say where to cache, they are not part of what is cached.
QJsonObject withoutMarkers(QJsonObject block)
{
    block.remove(QLatin1String("cache_control"));
    const QJsonValue content = block.value(QLatin1String("content"));
    if (content.isArray()) {
        QJsonArray inner;
        for (const QJsonValue &element : content.toArray())
            inner.append(element.isObject() ? QJsonValue(withoutMarkers(element.toObject()))
                                            : element);
        block.insert(QLatin1String("content"), inner);
    }
    return block;
}

// Walks the prefix in the order the API caches it: tools -> system -> messages.
class PrefixWalker
{
public:
    explicit PrefixWalker(const QJsonObject &body)
        : m_hash(QCryptographicHash::hash(
            QByteArray("model\n" + body.value(QLatin1String("model")).toString().toUtf8()),
            QCryptographicHash::Sha256))
    {
        for (const QJsonValue &tool : body.value(QLatin1String("tools")).toArray())
            add("tools", tool);
        const QJsonValue system = body.value(QLatin1String("system"));
        if (system.isString()) {
            add("system", system);
        } else {
            for (const QJsonValue &block : system.toArray())
                add("system", block);
        }
        for (const QJsonValue &value : body.value(QLatin1String("messages")).toArray()) {
            const QJsonObject message = value.toObject();
            const QByteArray role = message.value(QLatin1String("role")).toString().toUtf8();
            const QJsonValue content = message.value(QLatin1String("content"));
            if (content.isString()) {
                add(role, content);
            } else {
                for (const QJsonValue &block : content.toArray())
                    add(role, block);
            }
        }
        // Automatic caching: a top-level marker takes one of the 4 slots and lands on the
        // last block.
        const QJsonValue topLevel = body.value(QLatin1String("cache_control"));
        if (topLevel.isObject()) {
            ++m_prefix.markers;
            if (!m_prefix.blocks.isEmpty()) {
                m_prefix.blocks.last().isBreakpoint = true;
                m_prefix.blocks.last().isOneHour = isOneHourMarker(topLevel);
            }
        }
    }

    const Prefix &prefix() const { return m_prefix; }

private:
    // A string system prompt or message content counts as one text block.
    void add(const QByteArray &section, const QJsonValue &value)
    {
        QJsonObject block = value.toObject();
        if (value.isString()) {
            block.insert(QLatin1String("type"), QLatin1String("text"));
            block.insert(QLatin1String("text"), value);
        }
        PrefixBlock out;
        noteMarker(block, &out);
        if (block.value(QLatin1String("type")).toString() == QLatin1String("tool_result")) {
            for (const QJsonValue &inner : block.value(QLatin1String("content")).toArray())
                noteMarker(inner.toObject(), &out);
        }
        const QByteArray canonical =
            QJsonDocument(withoutMarkers(block)).toJson(QJsonDocument::Compact);
        QCryptographicHash step(QCryptographicHash::Sha256);
        step.addData(m_hash);
        step.addData(section);
        step.addData("\n");
        step.addData(canonical);
        m_hash = step.result();
        m_bytes += canonical.size();
        out.hash = m_hash;
        out.tokens = m_bytes / kBytesPerToken;
        m_prefix.blocks.append(out);
    }

    void noteMarker(const QJsonObject &block, PrefixBlock *out)
    {
        const QJsonValue marker = block.value(QLatin1String("cache_control"));
        if (!marker.isObject())
            return;
        ++m_prefix.markers;
        out->isBreakpoint = true;
        out->isOneHour = isOneHourMarker(marker);
    }

    QByteArray m_hash;
    qint64 m_bytes = 0;
    Prefix m_prefix;
};

} // namespace

// The entries earlier requests wrote, and what one request reads and writes (the rules are
// in MockUpstream::enablePromptCache()).
class MockUpstream::PromptCache
{
public:
    explicit PromptCache(int minimumTokens)
        : m_minimumTokens(minimumTokens)
    {
    }

    MockCacheReport process(const QJsonObject &body)
    {
        const Prefix prefix = PrefixWalker(body).prefix();
        MockCacheReport report;
        report.markers = prefix.markers;
        if (prefix.markers > kMaxCacheMarkers) {
            report.status = 400;
            return report;
        }
        const QList<PrefixBlock> &blocks = prefix.blocks;
        QList<int> breakpoints;
        for (int i = 0; i < blocks.size(); ++i) {
            if (blocks.at(i).isBreakpoint && blocks.at(i).tokens >= m_minimumTokens)
                breakpoints.append(i);
        }
        report.breakpoints = int(breakpoints.size());
        // Reads first: only what earlier requests wrote counts.
        for (const int breakpoint : breakpoints) {
            for (int at = breakpoint; at >= 0 && breakpoint - at < kLookbackBlocks; --at) {
                if (isLive(blocks.at(at).hash)) {
                    report.hitBlock = qMax(report.hitBlock, at);
                    break;
                }
            }
        }
        const qint64 read = report.hitBlock >= 0 ? blocks.at(report.hitBlock).tokens : 0;
        if (report.hitBlock >= 0)
            refresh(blocks.at(report.hitBlock).hash);
        // Writes: 1h entries up to the last 1h breakpoint, 5m ones from there on.
        qint64 oneHourEnd = read;
        qint64 end = read;
        for (const int breakpoint : breakpoints) {
            const PrefixBlock &block = blocks.at(breakpoint);
            end = qMax(end, block.tokens);
            if (block.isOneHour)
                oneHourEnd = qMax(oneHourEnd, block.tokens);
            write(block.hash, block.isOneHour);
        }
        const qint64 total = blocks.isEmpty() ? 0 : blocks.last().tokens;
        report.usage.cacheReadTokens = read;
        report.usage.cacheWrite1hTokens = oneHourEnd - read;
        report.usage.cacheWrite5mTokens = end - oneHourEnd;
        report.usage.inputTokens = total - end;
        return report;
    }

    // The answer to a request the report was made for: the API's 400, or a reply whose
    // text depends only on the prompt (not on what was cached).
    static MockResponse answer(const MockCacheReport &report, const QByteArray &model,
                               bool isStreaming)
    {
        if (report.status != 200) {
            MockResponse refusal;
            refusal.status = report.status;
            refusal.headers.emplaceBack("content-type", "application/json");
            refusal.body = MockUpstream::errorBody(
                "invalid_request_error",
                "A maximum of 4 blocks with cache_control may be provided. Found "
                    + QByteArray::number(report.markers) + '.');
            return refusal;
        }
        const MockUsage &usage = report.usage;
        const qint64 promptTokens =
            usage.inputTokens + usage.cacheCreationTokens() + usage.cacheReadTokens;
        const QByteArray text = "Mock reply to a prompt of " + QByteArray::number(promptTokens)
            + " tokens. Noted; please go on with the next step.";
        MockUsage withOutput = usage;
        withOutput.outputTokens = qMax<qint64>(1, text.size() / kBytesPerToken);
        return isStreaming ? MockUpstream::messageStream(model, withOutput, text)
                           : MockUpstream::messageJson(model, withOutput, text);
    }

private:
    struct Entry
    {
        QDeadlineTimer expiry; // monotonic: wall-clock changes neither expire nor keep it
        bool isOneHour = false;
    };

    static QDeadlineTimer lifetime(bool isOneHour)
    {
        return QDeadlineTimer(isOneHour ? std::chrono::minutes(60) : std::chrono::minutes(5));
    }

    bool isLive(const QByteArray &hash) const
    {
        const auto it = m_entries.constFind(hash);
        return it != m_entries.constEnd() && !it->expiry.hasExpired();
    }

    // A hit refreshes the entry for free, with its own ttl.
    void refresh(const QByteArray &hash)
    {
        Entry &entry = m_entries[hash];
        entry.expiry = lifetime(entry.isOneHour);
    }

    void write(const QByteArray &hash, bool isOneHour)
    {
        Entry &entry = m_entries[hash];
        entry.isOneHour = entry.isOneHour || isOneHour;
        entry.expiry = lifetime(entry.isOneHour);
    }

    int m_minimumTokens;
    QHash<QByteArray, Entry> m_entries;
};

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
    // A burst of connections (500 streams opened at once) fits in the accept queue: with
    // Qt's default of 50, the kernel drops the rest and their connects wait for SYN
    // retries, seconds apart.
    m_server->setListenBacklogSize(1024);
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
    m_bytesReceived = 0;
    m_server->clearHandshakeFailures();
    m_cacheReports.clear();
}

void MockUpstream::enablePromptCache(int minimumTokens)
{
    m_promptCache = std::make_unique<PromptCache>(minimumTokens);
}

MockResponse MockUpstream::messageJson(const QByteArray &model)
{
    return messageJsonWith(model, "Hello from the mock",
                           usageJson(MockUsage {12, 0, 0, 0, 7}, false));
}

MockResponse MockUpstream::messageStream(const QByteArray &model, int deltas, int delayMs)
{
    static const QByteArray words[] = {"Hello", " from", " the", " mock"};
    QList<QByteArray> pieces;
    for (int i = 0; i < deltas; ++i)
        pieces.append(words[i % 4]);
    return messageStreamWith(model, pieces, delayMs,
                             usageJson(MockUsage {12, 0, 300, 5000, 1}, true),
                             usageJson(MockUsage {12, 0, 300, 5000, 7}, false));
}

MockResponse MockUpstream::messageJson(const QByteArray &model, const MockUsage &usage,
                                       const QByteArray &text)
{
    return messageJsonWith(model, text, usageJson(usage, true));
}

MockResponse MockUpstream::messageStream(const QByteArray &model, const MockUsage &usage,
                                         const QByteArray &text, int delayMs)
{
    MockUsage start = usage;
    start.outputTokens = 1; // as the API's message_start reports it
    return messageStreamWith(model, splitText(text, 3), delayMs, usageJson(start, true),
                             usageJson(usage, false));
}

QByteArray MockUpstream::errorBody(const QByteArray &type, const QByteArray &message)
{
    return "{\"type\":\"error\",\"error\":{\"type\":" + jsonString(type)
        + ",\"message\":" + jsonString(message) + "},\"request_id\":\"req_mock\"}";
}

MockResponse MockUpstream::errorJson(int status, const QByteArray &type, const QByteArray &message)
{
    MockResponse response;
    response.status = status;
    response.headers.emplaceBack("content-type", "application/json");
    response.body = errorBody(type, message);
    return response;
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
    const QByteArray bytes = socket->readAll();
    m_bytesReceived += bytes.size();
    conn->in += bytes;
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

MockResponse MockUpstream::defaultResponse(const MockRequest &request)
{
    const qsizetype query = request.target.indexOf('?');
    const QByteArray path = query < 0 ? request.target : request.target.left(query);
    MockResponse response;
    if (request.method == "POST" && path == "/v1/messages") {
        const QJsonObject body = QJsonDocument::fromJson(request.body).object();
        QByteArray model = body.value(QLatin1String("model")).toString().toUtf8();
        if (model.isEmpty())
            model = "claude-opus-4-8";
        const bool isStreaming = asksForStream(request.body);
        if (m_promptCache) {
            m_cacheReports.append(m_promptCache->process(body));
            response = PromptCache::answer(m_cacheReports.last(), model, isStreaming);
        } else {
            response = isStreaming ? messageStream(model) : messageJson(model);
        }
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
    if (response.raw) {
        conn->eventIndex = 0;
        conn->waitedEvent = -1;
        sendRaw(conn);
        return;
    }
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

void MockUpstream::sendRaw(Connection *conn)
{
    const MockRaw &raw = *conn->current.response.raw;
    while (!conn->closed) {
        if (conn->eventIndex >= raw.pieces.size()) {
            switch (raw.ending) {
            case MockEnding::Close:
                conn->reading = Connection::Reading::Stopped;
                conn->pending.clear();
                conn->socket->disconnectFromHost();
                break;
            case MockEnding::Reset:
                resetConnection(conn, true);
                break;
            case MockEnding::Stall:
                break; // busy for good, like neverRespond
            }
            return;
        }
        const MockRawPiece &piece = raw.pieces.at(conn->eventIndex);
        if (piece.delayMs > 0 && conn->waitedEvent != conn->eventIndex) {
            conn->waitedEvent = conn->eventIndex;
            QTimer::singleShot(piece.delayMs, conn, [this, conn] { sendRaw(conn); });
            return;
        }
        conn->socket->write(piece.bytes);
        ++conn->eventIndex;
    }
}

void MockUpstream::resetConnection(Connection *conn, bool isHardReset)
{
    // abort() drops unsent bytes: hand what was written to the kernel first.
    conn->reading = Connection::Reading::Stopped;
    conn->pending.clear();
    QTcpSocket *socket = conn->socket;
    const auto abort = [socket, isHardReset] {
#if __has_include(<sys/socket.h>)
        // A zero linger time makes close() send RST instead of FIN.
        if (isHardReset && socket->socketDescriptor() >= 0) {
            const linger noLinger {1, 0};
            ::setsockopt(int(socket->socketDescriptor()), SOL_SOCKET, SO_LINGER, &noLinger,
                         sizeof(noLinger));
        }
#else
        Q_UNUSED(isHardReset)
#endif
        socket->abort();
    };
    socket->flush();
    if (socket->bytesToWrite() == 0) {
        abort();
        return;
    }
    connect(socket, &QTcpSocket::bytesWritten, conn, [socket, abort] {
        if (socket->bytesToWrite() == 0)
            abort();
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
