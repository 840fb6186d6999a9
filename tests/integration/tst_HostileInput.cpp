// Hostile and malformed input over real sockets: request smuggling attempts (conflicting
// Content-Length and Transfer-Encoding, loose chunked framing, obsolete line folding), bad
// header bytes, methods, targets and versions Tollgate does not serve, oversized parts,
// slow and idle clients, and abrupt resets. Each gets a clear Anthropic-shaped error (or a
// clean close), a log line, nothing reaches the upstream, and the gateway keeps serving
// other connections without delay.
#include "GatewayHarness.h"
#include "LogCapture.h"
#include "MockUpstream.h"
#include "TestClient.h"
#include "config/ConfigFile.h"

#include <QDir>
#include <QElapsedTimer>
#include <QSet>
#include <QTest>
#include <QTimer>
#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace tollgate;
using namespace tollgate::test;

namespace {
constexpr qint64 kMaxBody = 64 * 1024;
constexpr int kHeaderTimeoutMs = 400;
constexpr int kBodyTimeoutMs = 400;

QByteArray host()
{
    return QByteArrayLiteral("Host: 127.0.0.1\r\n");
}

QByteArray keyLine()
{
    return "x-api-key: " + GatewayHarness::virtualKey() + "\r\n";
}

// A Messages request head with the key and a proper Host, then extra header lines.
QByteArray post(const QByteArray &extraLines)
{
    return "POST /v1/messages HTTP/1.1\r\n" + host() + keyLine() + extraLines;
}

QByteArray chunked(const QByteArray &body)
{
    return post("Transfer-Encoding: chunked\r\n\r\n") + body;
}

// The numbers of the descriptors this process has open.
QSet<int> descriptorNumbers()
{
    QSet<int> numbers;
    const QStringList names =
        QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::NoDotAndDotDot | QDir::System);
    for (const QString &name : names)
        numbers.insert(name.toInt());
    return numbers;
}

// Descriptors this process has open.
int openDescriptors()
{
    return int(descriptorNumbers().size());
}

// Descriptors open now that are in neither set.
int descriptorsBesides(const QSet<int> &before, const QSet<int> &ours)
{
    int count = 0;
    for (const int fd : descriptorNumbers()) {
        if (!before.contains(fd) && !ours.contains(fd))
            ++count;
    }
    return count;
}

qint64 median(QList<qint64> values)
{
    std::sort(values.begin(), values.end());
    return values.isEmpty() ? -1 : values.at(values.size() / 2);
}
} // namespace

class tst_HostileInput final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void refusesHostileRequest_data();
    void refusesHostileRequest();
    void bytesAfterBodyAreTheNextRequest_data();
    void bytesAfterBodyAreTheNextRequest();
    void forwardsBodiesItCannotReadUntouched_data();
    void forwardsBodiesItCannotReadUntouched();
    void cutsSlowlorisHeader();
    void cutsTrickledBody();
    void closesSilentConnection();
    void servesOthersDuringSlowlorisCrowd();
    void survivesResets_data();
    void survivesResets();
    void readsClientTimeoutsFromSettings();
    void idleCrowdDoesNotDelayOthers();

private:
    bool startGateway(int headerTimeoutMs, int bodyTimeoutMs);
    qint64 goodRequestLatencyUs();

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
    LogCapture *m_log = nullptr;
};

void tst_HostileInput::init()
{
    m_log = new LogCapture;
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    // The idle crowd needs connections that stay while it is measured.
    const bool isCrowd = qstrcmp(QTest::currentTestFunction(), "idleCrowdDoesNotDelayOthers") == 0;
    QVERIFY(startGateway(isCrowd ? 30'000 : kHeaderTimeoutMs, isCrowd ? 30'000 : kBodyTimeoutMs));
}

bool tst_HostileInput::startGateway(int headerTimeoutMs, int bodyTimeoutMs)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.maxBodyBytes = kMaxBody;
    config.maxBatchBodyBytes = 256 * 1024;
    config.headerReadTimeoutMs = headerTimeoutMs;
    config.bodyReadTimeoutMs = bodyTimeoutMs;
    config.keepAliveTimeoutMs = std::max(2000, headerTimeoutMs);
    return m_gateway->start(config);
}

void tst_HostileInput::cleanup()
{
    // Still up, and a good request on a new connection is answered at once.
    const qint64 latencyUs = goodRequestLatencyUs();
    QVERIFY2(latencyUs >= 0 && latencyUs < 1'000'000, qPrintable(QString::number(latencyUs)));
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
    delete m_log;
}

qint64 tst_HostileInput::goodRequestLatencyUs()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    if (!client.waitForConnected())
        return -1;
    const qint64 start = client.elapsedUs();
    client.send("POST", "/v1/messages", GatewayHarness::clientHeaders(),
                "{\"model\":\"claude-opus-4-8\",\"max_tokens\":1}");
    if (!client.waitForResponses(1) || client.responses().first().status != 200)
        return -1;
    return client.responses().first().endAtUs - start;
}

void tst_HostileInput::refusesHostileRequest_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("status");

    // Request smuggling: two framings, or one the next hop could read differently.
    QTest::newRow("content-length and chunked")
        << post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("chunked and content-length")
        << post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("two different lengths")
        << post("Content-Length: 2\r\nContent-Length: 12\r\n\r\n{}") << 400;
    QTest::newRow("same length twice")
        << post("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}") << 400;
    QTest::newRow("length list") << post("Content-Length: 2, 2\r\n\r\n{}") << 400;
    QTest::newRow("length with plus") << post("Content-Length: +2\r\n\r\n{}") << 400;
    QTest::newRow("negative length") << post("Content-Length: -1\r\n\r\n{}") << 400;
    QTest::newRow("hex length") << post("Content-Length: 0x2\r\n\r\n{}") << 400;
    QTest::newRow("overflowing length")
        << post("Content-Length: 184467440737095516160\r\n\r\n{}") << 400;
    QTest::newRow("huge length") << post("Content-Length: 99999999999\r\n\r\n{}") << 413;
    QTest::newRow("chunked then identity")
        << post("Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("gzip alone") << post("Transfer-Encoding: gzip\r\n\r\n{}") << 400;
    QTest::newRow("gzip then chunked")
        << post("Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") << 501;
    QTest::newRow("chunked twice in one field")
        << post("Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("chunked in two fields")
        << post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("transfer-encoding in http/1.0")
        << QByteArray("POST /v1/messages HTTP/1.0\r\n" + keyLine()
                      + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        << 400;
    QTest::newRow("folded transfer-encoding")
        << post("Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n") << 400;
    QTest::newRow("folded header")
        << post("X-Note: one\r\n\ttwo\r\nContent-Length: 2\r\n\r\n{}") << 400;
    QTest::newRow("whitespace before first field") << QByteArray(
        "POST /v1/messages HTTP/1.1\r\n " + host() + keyLine() + "Content-Length: 2\r\n\r\n{}")
                                                   << 400;
    QTest::newRow("space before colon") << post("Content-Length : 2\r\n\r\n{}") << 400;
    QTest::newRow("space before colon, chunked")
        << post("Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n") << 400;

    // Chunked framing.
    QTest::newRow("chunk size not hex") << chunked("zz\r\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("chunk size overflow")
        << chunked("1000000000000000002\r\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("negative chunk size") << chunked("-2\r\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("chunk data without crlf") << chunked("2\r\n{}XX0\r\n\r\n") << 400;
    QTest::newRow("chunk size line with bare lf") << chunked("2\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("space after chunk size") << chunked("2 \r\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("chunk extension flood")
        << chunked("2;x=" + QByteArray(5000, 'a') + "\r\n{}\r\n0\r\n\r\n") << 400;
    QTest::newRow("control byte in chunk extension")
        << chunked(QByteArray("2;x=\x01\r\n{}\r\n0\r\n\r\n", 15)) << 400;
    QTest::newRow("chunk larger than the limit") << chunked("100000\r\n{") << 413;
    QTest::newRow("trailer too large")
        << chunked("2\r\n{}\r\n0\r\nX-T: " + QByteArray(20 * 1024, 't') + "\r\n\r\n") << 431;
    QTest::newRow("folded trailer") << chunked("2\r\n{}\r\n0\r\nX-T: a\r\n b\r\n\r\n") << 400;

    // Bytes a header value must not hold.
    QTest::newRow("nul in value") << post(
        QByteArray("X-Note: a\0b\r\nContent-Length: 2\r\n\r\n{}", 36))
                                  << 400;
    QTest::newRow("bare cr in value") << post("X-Note: a\rb\r\nContent-Length: 2\r\n\r\n{}") << 400;
    QTest::newRow("bare cr ending the head") << post("Content-Length: 2\r\n\r{}}") << 400;
    QTest::newRow("del in value") << post("X-Note: a\x7f\r\nContent-Length: 2\r\n\r\n{}") << 400;
    QTest::newRow("crlf injected in value")
        << post("X-Note: a\r\nInjected line\r\nContent-Length: 2\r\n\r\n{}") << 400;

    // Methods, targets, versions, Host.
    QTest::newRow("unknown method")
        << QByteArray("BREW /v1/messages HTTP/1.1\r\n" + host() + keyLine() + "\r\n") << 501;
    QTest::newRow("trace") << QByteArray("TRACE /v1/messages HTTP/1.1\r\n" + host() + keyLine()
                                         + "\r\n")
                           << 501;
    QTest::newRow("propfind") << QByteArray("PROPFIND /v1/messages HTTP/1.1\r\n" + host()
                                            + keyLine() + "\r\n")
                              << 501;
    QTest::newRow("absolute form")
        << QByteArray("POST http://evil.example/v1/messages HTTP/1.1\r\n" + host() + keyLine()
                      + "Content-Length: 2\r\n\r\n{}")
        << 400;
    QTest::newRow("asterisk form") << QByteArray("OPTIONS * HTTP/1.1\r\n" + host() + "\r\n") << 400;
    QTest::newRow("authority form")
        << QByteArray("CONNECT api.anthropic.com:443 HTTP/1.1\r\n" + host() + "\r\n") << 400;
    QTest::newRow("http/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 505;
    QTest::newRow("http/3.0") << QByteArray("GET /v1/models HTTP/3.0\r\n" + host() + "\r\n") << 505;
    QTest::newRow("no host") << QByteArray("POST /v1/messages HTTP/1.1\r\n" + keyLine()
                                           + "Content-Length: 2\r\n\r\n{}")
                             << 400;
    QTest::newRow("two hosts") << post("Host: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}") << 400;

    // Sizes.
    QTest::newRow("one huge header")
        << post("X-Big: " + QByteArray(70 * 1024, 'h') + "\r\nContent-Length: 2\r\n\r\n{}") << 431;
    QTest::newRow("long target") << QByteArray("GET /v1/models?x=" + QByteArray(20 * 1024, 'q')
                                               + " HTTP/1.1\r\n" + host() + keyLine() + "\r\n")
                                 << 414;
}

void tst_HostileInput::refusesHostileRequest()
{
    QFETCH(QByteArray, raw);
    QFETCH(int, status);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(raw);
    QVERIFY(client.waitForResponses(1, 3000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, status);
    QVERIFY2(r.isAnthropicError(status), r.body.constData());
    // The connection is not trusted after a refusal: it ends.
    QVERIFY(client.waitForClose());
    QVERIFY(client.closedByServer());
    QCOMPARE(m_mock->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, status);
    const QStringList logged = m_log->linesWith(
        {QStringLiteral("tollgate.http"), QStringLiteral("refused"), QString::number(status)});
    QVERIFY2(logged.size() == 1, qPrintable(m_log->lines().join(u'\n')));
}

void tst_HostileInput::bytesAfterBodyAreTheNextRequest_data()
{
    QTest::addColumn<QByteArray>("first");
    QTest::addColumn<QByteArray>("after");
    QTest::addColumn<int>("secondStatus"); // 0: a second request must not be answered

    const QByteArray next = "GET /v1/models HTTP/1.1\r\n" + host() + keyLine()
        + "anthropic-version: 2023-06-01\r\n\r\n";
    QTest::newRow("length then request") << post("Content-Length: 2\r\n\r\n{}") << next << 200;
    QTest::newRow("chunked then request") << chunked("2\r\n{}\r\n0\r\n\r\n") << next << 200;
    // A request for a host this listener does not serve, smuggled after the body.
    QTest::newRow("length then smuggled request")
        << post("Content-Length: 2\r\n\r\n{}")
        << QByteArray("POST /v1/messages HTTP/1.1\r\nHost: internal.example\r\n" + keyLine()
                      + "Content-Length: 2\r\n\r\n[]")
        << 421;
    QTest::newRow("length then garbage")
        << post("Content-Length: 2\r\n\r\n{}") << QByteArray("XYZZY\r\n\r\n") << 400;
}

void tst_HostileInput::bytesAfterBodyAreTheNextRequest()
{
    QFETCH(QByteArray, first);
    QFETCH(QByteArray, after);
    QFETCH(int, secondStatus);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(first + after); // one write: both arrive together
    QVERIFY(client.waitForResponses(2, 3000));
    QCOMPARE(client.responses().at(0).status, 200);
    QCOMPARE(client.responses().at(1).status, secondStatus);
    // The upstream got the first body exactly, never with the bytes after it.
    QVERIFY(m_mock->requests().size() >= 1);
    const MockRequest &got = m_mock->requests().first();
    QCOMPARE(got.method, QByteArray("POST"));
    QCOMPARE(got.body, QByteArray("{}"));
    QCOMPARE(got.header("content-length"), QByteArray("2"));
    QVERIFY(!got.rawHead.contains("internal.example"));
    if (secondStatus == 200) {
        QCOMPARE(m_mock->requests().size(), 2);
        QCOMPARE(m_mock->requests().at(1).target, QByteArray("/v1/models"));
        QVERIFY(m_mock->requests().at(1).body.isEmpty());
    } else {
        QCOMPARE(m_mock->requests().size(), 1);
        QVERIFY(client.responses().at(1).isAnthropicError(secondStatus));
    }
}

void tst_HostileInput::forwardsBodiesItCannotReadUntouched_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("not json") << QByteArray("{\"model\": claude, [}");
    QTest::newRow("invalid utf-8")
        << QByteArray("{\"model\":\"claude-opus-4-8\",\"x\":\"\xc3\x28\xff\"}");
    QTest::newRow("binary") << QByteArray("\x00\x01\x02\xfe\xff", 5);
    QTest::newRow("truncated json")
        << QByteArray("{\"messages\":[{\"role\":\"user\",\"content\":\"hi");
}

void tst_HostileInput::forwardsBodiesItCannotReadUntouched()
{
    // Tollgate does not judge a body it cannot read: the API answers for it, with the
    // error the client would have got without Tollgate.
    QFETCH(QByteArray, body);
    m_mock->setHandler([](const MockRequest &) {
        MockResponse response;
        response.status = 400;
        response.headers = {{"content-type", "application/json"}};
        response.body = MockUpstream::errorBody("invalid_request_error",
                                                "There was an issue "
                                                "with the JSON body");
        return response;
    });
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), body);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 400);
    QVERIFY(client.responses().first().body.contains("issue with the JSON body"));
    QCOMPARE(m_mock->requests().size(), 1);
    QCOMPARE(m_mock->requests().first().body, body);
    m_mock->setHandler({});
}

void tst_HostileInput::cutsSlowlorisHeader()
{
    // A byte every 50 ms keeps the connection busy but never finishes the head.
    TestClient client;
    client.connectTo(m_gateway->port());
    QVERIFY(client.waitForConnected());
    const QByteArray head = post("X-Filler: " + QByteArray(200, 'f') + "\r\n");
    const qint64 start = client.elapsedUs();
    int sent = 0;
    QTimer trickle;
    connect(&trickle, &QTimer::timeout, &client, [&] {
        if (sent < head.size())
            client.sendRaw(head.mid(sent++, 1));
    });
    trickle.start(50);
    QVERIFY(client.waitForResponses(1, 5000));
    const qint64 elapsedMs = (client.responses().first().endAtUs - start) / 1000;
    QCOMPARE(client.responses().first().status, 408);
    QVERIFY2(elapsedMs >= kHeaderTimeoutMs - 50 && elapsedMs < kHeaderTimeoutMs + 1500,
             qPrintable(QString::number(elapsedMs)));
    QVERIFY(client.waitForClose());
    QVERIFY(sent < head.size());
    QCOMPARE(m_mock->requests().size(), 0);
    QCOMPARE(m_log->linesWith({QStringLiteral("refused"), QStringLiteral("408")}).size(), 1);
}

void tst_HostileInput::cutsTrickledBody()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    QVERIFY(client.waitForConnected());
    client.sendRaw(post("Content-Length: 1000\r\n\r\n"));
    const qint64 start = client.elapsedUs();
    // Each byte comes well within the stall timeout; the body would take 50 s in all.
    QTimer trickle;
    connect(&trickle, &QTimer::timeout, &client, [&] { client.sendRaw("x"); });
    trickle.start(50);
    QVERIFY(client.waitForResponses(1, 5000));
    const qint64 elapsedMs = (client.responses().first().endAtUs - start) / 1000;
    QCOMPARE(client.responses().first().status, 408);
    QVERIFY2(elapsedMs >= kBodyTimeoutMs - 50 && elapsedMs < kBodyTimeoutMs + 1500,
             qPrintable(QString::number(elapsedMs)));
    QVERIFY(client.responses().first().isAnthropicError(408));
    QCOMPARE(m_mock->requests().size(), 0);
    QCOMPARE(m_log->linesWith({QStringLiteral("refused"), QStringLiteral("408")}).size(), 1);
}

void tst_HostileInput::closesSilentConnection()
{
    // Connected, never a byte: closed after the header timeout, with nothing sent.
    TestClient client;
    client.connectTo(m_gateway->port());
    QVERIFY(client.waitForConnected());
    const qint64 start = client.elapsedUs();
    QVERIFY(client.waitForClose(5000));
    QVERIFY(client.closedByServer());
    QVERIFY((client.elapsedUs() - start) / 1000 < kHeaderTimeoutMs + 1500);
    QVERIFY(client.received().isEmpty());
}

void tst_HostileInput::servesOthersDuringSlowlorisCrowd()
{
    // 50 slow clients keep sending a byte at a time while good requests are measured.
    QList<TestClient *> crowd;
    for (int i = 0; i < 50; ++i) {
        auto *client = new TestClient(this);
        client->connectTo(m_gateway->port());
        crowd.append(client);
    }
    QTimer trickle;
    connect(&trickle, &QTimer::timeout, this, [&] {
        for (TestClient *client : std::as_const(crowd)) {
            if (client->isConnected())
                client->sendRaw("X");
        }
    });
    trickle.start(20);
    QList<qint64> latencies;
    for (int i = 0; i < 5; ++i)
        latencies.append(goodRequestLatencyUs());
    QVERIFY2(*std::min_element(latencies.begin(), latencies.end()) >= 0, "a good request failed");
    QVERIFY2(median(latencies) < 200'000, qPrintable(QString::number(median(latencies))));
    // And the slow ones were cut by the header timeout.
    for (TestClient *client : std::as_const(crowd))
        QVERIFY(client->waitForClose(5000));
    QCOMPARE(m_mock->requests().size(), 5);
    qDeleteAll(crowd);
}

void tst_HostileInput::survivesResets_data()
{
    QTest::addColumn<QByteArray>("sent");
    QTest::addColumn<bool>("isStreaming"); // reset while the answer streams
    QTest::newRow("mid-header") << QByteArray(
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-a")
                                << false;
    QTest::newRow("mid-body") << post("Content-Length: 100\r\n\r\n{\"model\":") << false;
    QTest::newRow("mid-stream") << post("Content-Length: 15\r\n\r\n{\"stream\":true}") << true;
}

void tst_HostileInput::survivesResets()
{
    QFETCH(QByteArray, sent);
    QFETCH(bool, isStreaming);
    if (isStreaming)
        m_mock->enqueue(MockUpstream::messageStream("claude-opus-4-8", 50, 40));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(sent);
    if (isStreaming) {
        QVERIFY(client.waitUntil([&] { return client.partialResponse() != nullptr; }));
    } else {
        QVERIFY(client.waitForConnected());
        client.waitUntil([] { return false; }, 50); // the bytes are in
    }
    client.reset();
    if (isStreaming) {
        // The upstream stream is dropped too, and the request is logged as cut short.
        QVERIFY(m_gateway->waitForRecords(1));
        QVERIFY(!m_gateway->records().first().isComplete);
        QTRY_COMPARE_WITH_TIMEOUT(m_mock->openConnections(), 0, 5000);
    } else {
        QCOMPARE(m_mock->requests().size(), 0);
    }
}

void tst_HostileInput::readsClientTimeoutsFromSettings()
{
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::apply("{\"timeouts\": {\"header\": 5, \"body\": 7.5, \"keep_alive\": 9}}",
                               QStringLiteral("settings"), &config, &error),
             qPrintable(error));
    QCOMPARE(config.headerReadTimeoutMs, 5000);
    QCOMPARE(config.bodyReadTimeoutMs, 7500);
    QCOMPARE(config.keepAliveTimeoutMs, 9000);
    QVERIFY(!ConfigFile::apply("{\"timeouts\": {\"body\": 0}}", QStringLiteral("settings"), &config,
                               &error));
    QVERIFY2(error.contains(QLatin1String("timeouts.body")), qPrintable(error));
    // The defaults are there without settings.
    const GatewayConfig defaults;
    QCOMPARE(defaults.headerReadTimeoutMs, 30'000);
    QCOMPARE(defaults.bodyReadTimeoutMs, 30'000);
}

void tst_HostileInput::idleCrowdDoesNotDelayOthers()
{
    constexpr int kIdle = 2000;
    constexpr int kWave = 250;
    constexpr int kSettling = 2;
    // Each idle client costs this process two descriptors (its end and the gateway's).
    rlimit limit {};
    QVERIFY(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    const rlim_t needed = rlim_t(openDescriptors() + 2 * kIdle + 200);
    if (limit.rlim_cur < needed) {
        if (limit.rlim_max < needed)
            QSKIP("the hard limit on open files is too low for 2000 idle connections");
        limit.rlim_cur = needed;
        QVERIFY(setrlimit(RLIMIT_NOFILE, &limit) == 0);
    }
    QList<qint64> quiet;
    for (int i = 0; i < 7; ++i)
        quiet.append(goodRequestLatencyUs());
    const int descriptorsBefore = openDescriptors();

    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(m_gateway->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // The gateway runs in this process: the descriptors that appear besides the clients' are
    // its ends of their connections. A descriptor open before may be the gateway's end of the
    // last request client, still closing; once closed, its number can come back for an
    // accepted connection and go uncounted. kSettling allows for those.
    const QSet<int> before = descriptorNumbers();
    QList<int> idle;
    QSet<int> idleSet;
    for (int i = 0; i < kIdle; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        QVERIFY(fd >= 0);
        idle.append(fd);
        idleSet.insert(fd);
        QVERIFY2(::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof(address)) == 0,
                 qPrintable(QString::number(i)));
        // In waves well under the listen backlog (1024): a client that outruns accept() on
        // a loaded machine overflows the queue, and the kernel then completes those
        // handshakes only as its SYN-ACK retries back off (seconds each), which would measure
        // the kernel, not the gateway.
        if ((i + 1) % kWave == 0) {
            QTRY_VERIFY2_WITH_TIMEOUT(descriptorsBesides(before, idleSet) >= i + 1 - kSettling,
                                      qPrintable(QStringLiteral("%1 of %2 accepted")
                                                     .arg(descriptorsBesides(before, idleSet))
                                                     .arg(i + 1)),
                                      10000);
        }
    }

    // All accepted: the gateway holds its end of each.
    QTRY_VERIFY2_WITH_TIMEOUT(descriptorsBesides(before, idleSet) >= kIdle - kSettling,
                              qPrintable(QStringLiteral("%1 of %2 accepted")
                                             .arg(descriptorsBesides(before, idleSet))
                                             .arg(kIdle)),
                              20000);
    const int descriptorsWithCrowd = openDescriptors();
    QList<qint64> crowded;
    for (int i = 0; i < 7; ++i)
        crowded.append(goodRequestLatencyUs());
    for (const int fd : std::as_const(idle))
        ::close(fd);
    // The gateway lets go of its ends too, and keeps no descriptor of theirs.
    QTRY_VERIFY2_WITH_TIMEOUT(
        descriptorsBesides(before, {}) <= kSettling,
        qPrintable(QStringLiteral("%1 still open").arg(descriptorsBesides(before, {}))), 20000);
    const int descriptorsAfter = openDescriptors();

    // Printed past the log capture: the figures are for the reader of the test output.
    std::fprintf(stderr,
                 "idle crowd of %d: good request %lld us median without, %lld us with; "
                 "descriptors %d before, %d with the crowd, %d after\n",
                 kIdle, median(quiet), median(crowded), descriptorsBefore, descriptorsWithCrowd,
                 descriptorsAfter);
    QVERIFY(*std::min_element(crowded.begin(), crowded.end()) >= 0);
    QVERIFY2(median(crowded) < std::max<qint64>(100'000, 20 * median(quiet)),
             qPrintable(QStringLiteral("%1 us with the crowd, %2 without")
                            .arg(median(crowded))
                            .arg(median(quiet))));
}

QTEST_GUILESS_MAIN(tst_HostileInput)
#include "tst_HostileInput.moc"
