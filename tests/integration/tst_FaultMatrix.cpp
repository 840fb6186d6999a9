// Every way the upstream or the request log can fail, and for each the three things a user
// can see: what the client gets (never a hang, never a cut-short answer that looks complete),
// the one row the request log keeps for the request, and what the window is told (the record
// of requestFinished, the provider's health, the request log's failure and recovery).
#include "GatewayHarness.h"
#include "LedgerStoreChecks.h"
#include "MockUpstream.h"
#include "TestCertificate.h"
#include "TestClient.h"
#include "store/LedgerStore.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace tollgate;
using namespace tollgate::test;

namespace {

// Distinct, so that a message naming the wrong timeout fails the test.
constexpr int kConnectTimeoutMs = 700;
constexpr int kFirstByteTimeoutMs = 500;
constexpr int kIdleTimeoutMs = 300;
constexpr qint64 kInputTokens = 1234; // in message_start: the usage seen before any fault

enum class Fault {
    ConnectRefused,
    ConnectTimeout, // the listener's backlog is full: the handshake never completes
    TlsHandshakeTimeout, // TCP is accepted, the ServerHello never comes
    DnsFailure,
    TlsUntrusted,
    TlsWrongHost,
    FirstByteStall,
    IdleStallMidStream,
    ResetMidStream,
    ResetBeforeHead,
    GarbageStatusLine,
    BinaryJunk,
    BadChunkSizeMidStream,
    BadChunkSizeInJson,
    StreamClosedWithoutLastChunk,
    JsonClosedWithoutLastChunk,
    ClosedBeforeContentLength,
    InvalidSse,
    CorruptGzip,
};

// What reaches the client.
enum class Seen {
    ErrorBeforeHead, // Tollgate's error response, in Anthropic's error shape
    ErrorEvent, // 200, the stream so far, an `error` event, then a clean end of the body
    CutShort, // 200 whose framing is never satisfied: the connection ends first
    Unchanged, // exactly the upstream's bytes
};

enum class StoreFault { Locked, ReadOnly, DiskFull };

QByteArray chunk(const QByteArray &data)
{
    return QByteArray::number(qlonglong(data.size()), 16) + "\r\n" + data + "\r\n";
}

MockResponse stream(int delayMs = 0)
{
    return MockUpstream::messageStream("claude-sonnet-4-6", MockUsage {kInputTokens, 0, 0, 0, 56},
                                       "Hello from the mock", delayMs);
}

QByteArray eventText(const MockEvent &event)
{
    return "event: " + event.name + "\ndata: " + event.data + "\n\n";
}

// The status line and headers of a chunked event stream, then its first `events` events,
// one chunk each, as the mock would send them.
QByteArray rawStreamStart(int events)
{
    QByteArray out = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     "transfer-encoding: chunked\r\nrequest-id: req_raw\r\n\r\n";
    const MockResponse full = stream();
    for (int i = 0; i < events; ++i)
        out += chunk(eventText(full.events.at(i)));
    return out;
}

QByteArray rawJsonHead(const QByteArray &framing)
{
    return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + framing + "\r\n\r\n";
}

// Raw bytes, then a pause long enough for the gateway to forward them, then the ending.
MockResponse raw(const QByteArray &bytes, MockEnding ending)
{
    MockResponse response;
    MockRaw script;
    script.pieces = {{bytes, 0}, {QByteArray(), 100}};
    script.ending = ending;
    response.raw = script;
    return response;
}

// Data lines that are not JSON, in a stream whose framing is fine.
MockResponse invalidSse()
{
    MockResponse response;
    response.events = {{"message_start", "{not json", 0},
                       {"content_block_delta", "<html>oops</html>", 0},
                       {"message_stop", "{\"type\":\"message_stop\"}", 0}};
    return response;
}

QByteArray invalidSseText()
{
    QByteArray out;
    for (const MockEvent &event : invalidSse().events)
        out += eventText(event);
    return out;
}

// A gzip header, then bytes no inflater accepts.
QByteArray corruptGzip()
{
    return QByteArray::fromHex("1f8b0800000000000003") + QByteArray(64, '\xff');
}

quint16 closedPort()
{
    QTcpServer server;
    server.listen(QHostAddress::LocalHost, 0);
    return server.serverPort();
}

QList<RequestRecord> readRows(const QString &path)
{
    LedgerStore store(StoreConfig::sqlite(path));
    QString error;
    return store.open(&error) ? LedgerStoreChecks::readAll(store) : QList<RequestRecord>();
}

QJsonObject errorObjectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object().value(QLatin1String("error")).toObject();
}

bool runs(const QString &program, const QStringList &arguments)
{
    return QProcess::execute(program, arguments) == 0;
}

} // namespace

Q_DECLARE_METATYPE(Fault)
Q_DECLARE_METATYPE(Seen)
Q_DECLARE_METATYPE(StoreFault)

class tst_FaultMatrix final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void reportsEachUpstreamFault_data();
    void reportsEachUpstreamFault();
    void servesThroughEachStoreFaultAndLosesNoRow_data();
    void servesThroughEachStoreFaultAndLosesNoRow();

private:
    QByteArray upstreamFor(Fault fault);
    TestClient::Response post(bool isStream);
    bool mountScratchDisk();

    std::unique_ptr<TestCertificate> m_certificate; // localhost and 127.0.0.1
    std::unique_ptr<TestCertificate> m_localhostOnly;
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_dbPath;
    QString m_mountPoint; // a tmpfs of the test's own, when mounted
    GatewayHarness *m_gateway = nullptr;
    MockUpstream *m_mock = nullptr;
    QString m_caFile;
    QTcpServer *m_silent = nullptr; // accepts, never answers
    QTcpServer *m_fullBacklog = nullptr; // accepts nothing, its queue full
    QTcpSocket *m_backlogFiller = nullptr;
};

void tst_FaultMatrix::initTestCase()
{
    m_certificate = std::make_unique<TestCertificate>();
    QVERIFY2(m_certificate->isValid(), qPrintable(m_certificate->errorString()));
    m_localhostOnly =
        std::make_unique<TestCertificate>(QStringList {QStringLiteral("DNS:localhost")});
    QVERIFY2(m_localhostOnly->isValid(), qPrintable(m_localhostOnly->errorString()));
}

void tst_FaultMatrix::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_dbPath = m_dir->filePath(QStringLiteral("requests.sqlite"));
    m_gateway = new GatewayHarness(this);
    m_mock = new MockUpstream(this);
    m_caFile.clear();
}

void tst_FaultMatrix::cleanup()
{
    const bool isStopped = m_gateway->stop();
    delete m_gateway;
    m_gateway = nullptr;
    delete m_mock;
    m_mock = nullptr;
    delete m_backlogFiller;
    m_backlogFiller = nullptr;
    delete m_fullBacklog;
    m_fullBacklog = nullptr;
    delete m_silent;
    m_silent = nullptr;
    if (!m_mountPoint.isEmpty()) {
        runs(QStringLiteral("umount"), {QStringLiteral("-l"), m_mountPoint});
        m_mountPoint.clear();
    }
    m_dir.reset();
    QVERIFY(isStopped);
}

// Sets the fault up; returns the upstream base URL that leads to it.
QByteArray tst_FaultMatrix::upstreamFor(Fault fault)
{
    const auto local = [](const char *scheme, quint16 port) -> QByteArray {
        return QByteArray(scheme) + "://127.0.0.1:" + QByteArray::number(port);
    };
    switch (fault) {
    case Fault::ConnectRefused:
        return local("http", closedPort());
    case Fault::ConnectTimeout: {
        // Linux keeps backlog + 1 finished handshakes for accept(); with that queue full it
        // drops every further SYN, and the connection attempt waits.
        m_fullBacklog = new QTcpServer;
        m_fullBacklog->setListenBacklogSize(0);
        if (!m_fullBacklog->listen(QHostAddress::LocalHost, 0))
            return {};
        m_fullBacklog->pauseAccepting();
        m_backlogFiller = new QTcpSocket;
        QSignalSpy connected(m_backlogFiller, &QTcpSocket::connected);
        m_backlogFiller->connectToHost(QHostAddress::LocalHost, m_fullBacklog->serverPort());
        if (!connected.wait(2000))
            return {};
        return local("http", m_fullBacklog->serverPort());
    }
    case Fault::TlsHandshakeTimeout:
        m_silent = new QTcpServer;
        if (!m_silent->listen(QHostAddress::LocalHost, 0))
            return {};
        return local("https", m_silent->serverPort());
    case Fault::DnsFailure:
        return QByteArrayLiteral("https://api.tollgate-test.invalid");
    case Fault::TlsUntrusted:
        if (!m_mock->listenTls(m_certificate->serverCertificate(), m_certificate->serverKey()))
            return {};
        return m_mock->baseUrl(); // and no CA file: the certificate is nobody's
    case Fault::TlsWrongHost:
        if (!m_mock->listenTls(m_localhostOnly->serverCertificate(), m_localhostOnly->serverKey()))
            return {};
        m_caFile = m_localhostOnly->caCertificatePath();
        return m_mock->baseUrl(); // 127.0.0.1, which the certificate does not name
    case Fault::FirstByteStall: {
        MockResponse response;
        response.neverRespond = true;
        m_mock->enqueue(response);
        break;
    }
    case Fault::IdleStallMidStream: {
        MockResponse response = stream();
        response.events[4].delayMs = 10'000; // silence after the first delta
        m_mock->enqueue(response);
        break;
    }
    case Fault::ResetMidStream:
        m_mock->enqueue(raw(rawStreamStart(4), MockEnding::Reset));
        break;
    case Fault::ResetBeforeHead:
        m_mock->enqueue(raw(QByteArray(), MockEnding::Reset));
        break;
    case Fault::GarbageStatusLine:
        m_mock->enqueue(raw("HTTP/9 lol\r\n\r\n", MockEnding::Close));
        break;
    case Fault::BinaryJunk:
        m_mock->enqueue(
            raw(QByteArray::fromHex("00ff13f7c0de8badf00d0d0a0d0a"), MockEnding::Close));
        break;
    case Fault::BadChunkSizeMidStream:
        m_mock->enqueue(raw(rawStreamStart(4) + "zz\r\nevent: ping\r\n", MockEnding::Stall));
        break;
    case Fault::BadChunkSizeInJson:
        m_mock->enqueue(raw(rawJsonHead("transfer-encoding: chunked") + chunk("{\"id\":\"msg_1\",")
                                + "-5\r\n\"type\"\r\n",
                            MockEnding::Stall));
        break;
    case Fault::StreamClosedWithoutLastChunk:
        m_mock->enqueue(raw(rawStreamStart(4), MockEnding::Close));
        break;
    case Fault::JsonClosedWithoutLastChunk:
        m_mock->enqueue(raw(rawJsonHead("transfer-encoding: chunked") + chunk("{\"id\":\"msg_1\","),
                            MockEnding::Close));
        break;
    case Fault::ClosedBeforeContentLength:
        m_mock->enqueue(
            raw(rawJsonHead("content-length: 500") + "{\"id\":\"msg_1\",", MockEnding::Close));
        break;
    case Fault::InvalidSse:
        m_mock->enqueue(invalidSse());
        break;
    case Fault::CorruptGzip: {
        MockResponse response;
        response.headers = {{"content-type", "application/json"}, {"content-encoding", "gzip"}};
        response.body = corruptGzip(); // sent as it is: the mock's own gzip stays off
        m_mock->enqueue(response);
        break;
    }
    }
    return m_mock->baseUrl();
}

TestClient::Response tst_FaultMatrix::post(bool isStream)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", GatewayHarness::clientHeaders(),
                isStream ? "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"stream\":true,"
                           "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                         : "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,"
                           "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    // Never a hang: every fault ends the response well within the longest timeout.
    if (!client.waitUntil([&] { return !client.responses().isEmpty(); }, 5000))
        return {};
    return client.responses().first();
}

void tst_FaultMatrix::reportsEachUpstreamFault_data()
{
    QTest::addColumn<Fault>("fault");
    QTest::addColumn<bool>("isStream");
    QTest::addColumn<Seen>("seen");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("errorType");
    QTest::addColumn<QString>("cause"); // in the client's message and the row's error
    QTest::addColumn<bool>("isIncomplete"); // the row's usage is not final
    QTest::addColumn<bool>("isUsageSeen"); // the row keeps message_start's input tokens
    QTest::addColumn<QString>("health"); // the provider's, on the Routes page

    const QString api = QStringLiteral("api_error");
    const QString timeout = QStringLiteral("timeout_error");
    const QString failing = QStringLiteral("failing");
    const QString ok = QStringLiteral("ok");
    const auto add = [](const char *name, Fault fault, bool isStream, Seen seen, int status,
                        const QString &errorType, const char *cause, bool isIncomplete,
                        bool isUsageSeen, const QString &health) {
        QTest::newRow(name) << fault << isStream << seen << status << errorType
                            << QString::fromLatin1(cause) << isIncomplete << isUsageSeen << health;
    };
    using F = Fault;
    using S = Seen;
    add("connect refused", F::ConnectRefused, true, S::ErrorBeforeHead, 502, api,
        "could not connect to the upstream 127.0.0.1", false, false, failing);
    add("connect timeout", F::ConnectTimeout, true, S::ErrorBeforeHead, 504, timeout,
        "could not connect to the upstream 127.0.0.1 within 0.7 s (connect timeout)", false, false,
        failing);
    add("TLS handshake timeout", F::TlsHandshakeTimeout, true, S::ErrorBeforeHead, 504, timeout,
        "TLS handshake with the upstream 127.0.0.1 did not finish within 0.7 s (connect timeout)",
        false, false, failing);
    add("DNS failure", F::DnsFailure, true, S::ErrorBeforeHead, 502, api,
        "cannot resolve api.tollgate-test.invalid", false, false, failing);
    add("TLS untrusted certificate", F::TlsUntrusted, true, S::ErrorBeforeHead, 502, api,
        "TLS handshake with the upstream 127.0.0.1 failed", false, false, failing);
    add("TLS wrong host name", F::TlsWrongHost, true, S::ErrorBeforeHead, 502, api,
        "TLS handshake with the upstream 127.0.0.1 failed", false, false, failing);
    add("stall before the first byte", F::FirstByteStall, true, S::ErrorBeforeHead, 504, timeout,
        "did not answer within 0.5 s (first-byte timeout)", false, false, ok);
    add("stall mid-stream", F::IdleStallMidStream, true, S::ErrorEvent, 200, timeout,
        "sent nothing for 0.3 s mid-response (idle timeout)", true, true, ok);
    add("reset mid-stream", F::ResetMidStream, true, S::ErrorEvent, 200, api,
        "broke off mid-response", true, true, ok);
    add("reset before the head", F::ResetBeforeHead, true, S::ErrorBeforeHead, 502, api,
        "failed before answering: it closed the connection", false, false, failing);
    // A malformed answer is not held against the key: its health stays as it was.
    add("garbage status line", F::GarbageStatusLine, false, S::ErrorBeforeHead, 502, api,
        "failed before answering: the response is not valid HTTP", false, false, ok);
    add("binary junk", F::BinaryJunk, false, S::ErrorBeforeHead, 502, api,
        "failed before answering: the response is not valid HTTP", false, false, ok);
    add("bad chunk size mid-stream", F::BadChunkSizeMidStream, true, S::ErrorEvent, 200, api,
        "broke off mid-response: the response is not valid HTTP", true, true, ok);
    add("bad chunk size in JSON", F::BadChunkSizeInJson, false, S::CutShort, 200, api,
        "broke off mid-response: the response is not valid HTTP", true, false, ok);
    add("stream closed without the last chunk", F::StreamClosedWithoutLastChunk, true,
        S::ErrorEvent, 200, api, "broke off mid-response: it closed the connection", true, true,
        ok);
    add("JSON closed without the last chunk", F::JsonClosedWithoutLastChunk, false, S::CutShort,
        200, api, "broke off mid-response: it closed the connection", true, false, ok);
    add("closed before Content-Length", F::ClosedBeforeContentLength, false, S::CutShort, 200, api,
        "broke off mid-response: it closed the connection", true, false, ok);
    add("invalid SSE", F::InvalidSse, true, S::Unchanged, 200, QString(),
        "usage unknown: the message_start event is not JSON", true, false, ok);
    add("corrupt gzip body", F::CorruptGzip, false, S::Unchanged, 200, QString(),
        "usage unknown: gzip", true, false, ok);
}

void tst_FaultMatrix::reportsEachUpstreamFault()
{
    QFETCH(Fault, fault);
    QFETCH(bool, isStream);
    QFETCH(Seen, seen);
    QFETCH(int, status);
    QFETCH(QString, errorType);
    QFETCH(QString, cause);
    QFETCH(bool, isIncomplete);
    QFETCH(bool, isUsageSeen);
    QFETCH(QString, health);

    if (fault != Fault::TlsUntrusted && fault != Fault::TlsWrongHost)
        QVERIFY(m_mock->listen());
    const QByteArray upstream = upstreamFor(fault);
    QVERIFY(!upstream.isEmpty());
    GatewayConfig config = GatewayHarness::configFor(upstream);
    config.upstreamCaFile = m_caFile;
    config.connectTimeoutMs = kConnectTimeoutMs;
    config.firstByteTimeoutMs = kFirstByteTimeoutMs;
    config.idleTimeoutMs = kIdleTimeoutMs;
    config.store = StoreConfig::sqlite(m_dbPath);
    QVERIFY(m_gateway->start(config));

    // 1. What the client sees.
    QElapsedTimer clock;
    clock.start();
    const TestClient::Response r = post(isStream);
    QVERIFY2(r.status != 0, "no response within 5 s");
    QCOMPARE(r.status, seen == Seen::ErrorBeforeHead ? status : 200);
    switch (seen) {
    case Seen::ErrorBeforeHead: {
        QVERIFY(r.complete);
        QCOMPARE(GatewayHarness::errorType(r.body), errorType);
        const QString message = errorObjectOf(r.body).value(QLatin1String("message")).toString();
        QVERIFY2(message.contains(cause), qPrintable(message));
        QVERIFY(r.header("request-id").startsWith("req_tg_"));
        break;
    }
    case Seen::ErrorEvent: {
        // The stream so far, an error event in Anthropic's shape last, and a terminating
        // chunk: the client can tell this from a finished answer.
        QVERIFY(r.chunked);
        QVERIFY(r.complete);
        QVERIFY(r.body.startsWith("event: message_start\n"));
        QVERIFY(r.body.endsWith("\n\n"));
        const qsizetype at = r.body.lastIndexOf("event: error\ndata: ");
        QVERIFY2(at > 0, r.body.constData());
        const QByteArray data = r.body.mid(at + 19).trimmed();
        QCOMPARE(QJsonDocument::fromJson(data).object().value(QLatin1String("type")).toString(),
                 QStringLiteral("error"));
        QCOMPARE(GatewayHarness::errorType(data), errorType);
        const QString message = errorObjectOf(data).value(QLatin1String("message")).toString();
        QVERIFY2(message.contains(cause), qPrintable(message));
        QVERIFY(!r.body.contains("message_stop"));
        break;
    }
    case Seen::CutShort:
        QVERIFY(!r.complete);
        QVERIFY(r.connectionClosed);
        QVERIFY(r.body.startsWith("{\"id\":\"msg_1\","));
        QVERIFY(!r.body.contains("error"));
        break;
    case Seen::Unchanged:
        QVERIFY(r.complete);
        QCOMPARE(r.body, fault == Fault::InvalidSse ? invalidSseText() : corruptGzip());
        break;
    }
    // The connect timeout fires at its own limit; the first-byte one at its own; a name
    // under .invalid fails at once, without waiting for either.
    const qint64 waitedMs = clock.elapsed();
    if (fault == Fault::ConnectTimeout || fault == Fault::TlsHandshakeTimeout)
        QVERIFY2(waitedMs >= kConnectTimeoutMs, qPrintable(QString::number(waitedMs)));
    if (fault == Fault::FirstByteStall)
        QVERIFY2(waitedMs >= kFirstByteTimeoutMs && waitedMs < kConnectTimeoutMs + 400,
                 qPrintable(QString::number(waitedMs)));
    if (fault == Fault::DnsFailure)
        QVERIFY2(waitedMs < kIdleTimeoutMs, qPrintable(QString::number(waitedMs)));

    // 3. What the window is told: the finished request and the provider's health.
    QVERIFY(m_gateway->waitForRecords(1));
    QTest::qWait(50); // a second record, had there been one, would have come with the first
    QCOMPARE(m_gateway->records().size(), 1);
    const RequestRecord &live = m_gateway->records().first();
    QCOMPARE(live.status, status);
    QCOMPARE(live.isComplete, seen == Seen::Unchanged);
    QVERIFY2(live.error.contains(cause), qPrintable(live.error));
    QSignalSpy providerHealth(&m_gateway->gateway(), &Gateway::providerHealth);
    m_gateway->gateway().requestKeyStatus();
    QVERIFY(providerHealth.wait(2000));
    QCOMPARE(providerHealth.first().at(0).toString(), QStringLiteral("anthropic"));
    QCOMPARE(providerHealth.first().at(1).toString(), health);

    // 2. What the request log keeps: exactly one row, with what was seen before the fault.
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);
    const RequestRecord &row = rows.first();
    QCOMPARE(row.status, status);
    QCOMPARE(row.errorType, errorType);
    QVERIFY2(row.error.contains(cause), qPrintable(row.error));
    QCOMPARE(row.isIncomplete, isIncomplete);
    QCOMPARE(row.usage.inputTokens, isUsageSeen ? kInputTokens : 0);
    if (seen == Seen::Unchanged)
        QVERIFY2(!row.costPicoUsd, "an unknown usage is not a cost of $0");
}

void tst_FaultMatrix::servesThroughEachStoreFaultAndLosesNoRow_data()
{
    QTest::addColumn<StoreFault>("fault");
    QTest::newRow("database locked") << StoreFault::Locked;
    QTest::newRow("database read-only") << StoreFault::ReadOnly;
    QTest::newRow("disk full") << StoreFault::DiskFull;
}

bool tst_FaultMatrix::mountScratchDisk()
{
    const QString mountPoint = m_dir->filePath(QStringLiteral("disk"));
    if (!QDir().mkpath(mountPoint)
        || !runs(QStringLiteral("mount"),
                 {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                  QStringLiteral("size=4m"), QStringLiteral("tmpfs"), mountPoint}))
        return false;
    m_mountPoint = mountPoint;
    m_dbPath = mountPoint + QStringLiteral("/requests.sqlite");
    return true;
}

void tst_FaultMatrix::servesThroughEachStoreFaultAndLosesNoRow()
{
    QFETCH(StoreFault, fault);
    if (fault != StoreFault::Locked && !mountScratchDisk())
        QSKIP("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    QVERIFY(m_mock->listen());
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    StoreConfig store = StoreConfig::sqlite(m_dbPath);
    store.sqliteBusyTimeoutMs = 200; // a locked database fails within the test's time
    config.store = store;

    // One row before the fault, so the file exists and is known to work.
    QVERIFY(m_gateway->start(config));
    QCOMPARE(post(false).status, 200);
    QVERIFY(m_gateway->stop());
    QCOMPARE(readRows(m_dbPath).size(), 1);

    const auto forgetLocker =
        qScopeGuard([] { QSqlDatabase::removeDatabase(QStringLiteral("locker")); });
    QSqlDatabase locker;
    const QString filler = m_mountPoint + QStringLiteral("/filler");
    switch (fault) {
    case StoreFault::Locked:
        // Another process holds the write lock (a backup tool, a second instance).
        locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("locker"));
        locker.setDatabaseName(m_dbPath);
        QVERIFY(locker.open());
        QVERIFY(QSqlQuery(QStringLiteral("BEGIN EXCLUSIVE"), locker).isActive());
        break;
    case StoreFault::ReadOnly:
        QVERIFY(runs(QStringLiteral("mount"),
                     {QStringLiteral("-o"), QStringLiteral("remount,ro"), m_mountPoint}));
        break;
    case StoreFault::DiskFull: {
        QFile file(filler);
        QVERIFY(file.open(QIODevice::WriteOnly));
        const QByteArray block(64 * 1024, 'x');
        while (file.write(block) == block.size() && file.flush()) { }
        break;
    }
    }

    QSignalSpy failed(&m_gateway->gateway(), &Gateway::storeFailed);
    QSignalSpy recovered(&m_gateway->gateway(), &Gateway::storeRecovered);
    QVERIFY(m_gateway->start(config));
    // What the client sees: nothing of it. Every request is answered as usual, at once.
    constexpr int kRequests = 5;
    for (int i = 0; i < kRequests; ++i) {
        m_mock->enqueue(stream());
        const TestClient::Response r = post(true);
        QCOMPARE(r.status, 200);
        QVERIFY(r.complete);
        QVERIFY(r.body.contains("event: message_stop"));
    }
    // What the window is told: every request live, and that the log cannot be written.
    QVERIFY(m_gateway->waitForRecords(kRequests));
    QVERIFY(failed.count() > 0 || failed.wait(10'000));
    QCOMPARE(failed.count(), 1);
    QVERIFY(!failed.first().first().toString().isEmpty());
    QCOMPARE(recovered.count(), 0);

    // Repaired: the rows kept in memory are written, none lost.
    switch (fault) {
    case StoreFault::Locked:
        QVERIFY(QSqlQuery(QStringLiteral("COMMIT"), locker).isActive());
        locker.close();
        locker = QSqlDatabase();
        break;
    case StoreFault::ReadOnly:
        QVERIFY(runs(QStringLiteral("mount"),
                     {QStringLiteral("-o"), QStringLiteral("remount,rw"), m_mountPoint}));
        break;
    case StoreFault::DiskFull:
        QVERIFY(QFile::remove(filler));
        break;
    }
    QVERIFY(recovered.wait(15'000));
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1 + kRequests);
    for (const RequestRecord &row : rows) {
        QCOMPARE(row.status, 200);
        QVERIFY(!row.isIncomplete);
    }
}

QTEST_GUILESS_MAIN(tst_FaultMatrix)
#include "tst_FaultMatrix.moc"
