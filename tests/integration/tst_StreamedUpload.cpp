// A large Messages body goes upstream while it arrives, and whatever happens before its last
// byte (a rate limit, a refused key, a client that leaves or stalls, a vendor that cannot be
// reached, a TLS handshake still under way) ends the way it ends for a body held whole.
#include "GatewayHarness.h"
#include "LogCapture.h"
#include "MockUpstream.h"
#include "SdkBodies.h"
#include "TestCertificate.h"
#include "TestClient.h"
#include "rewrite/CacheInjector.h"
#include "rewrite/PromptLayout.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kKeyA = "sk-ant-api03-key-a-0123456789";
const QByteArray kKeyB = "sk-ant-api03-key-b-0123456789";
constexpr qsizetype kPiece = 64 * 1024;

TestClient::Headers headersFor(const QByteArray &body)
{
    TestClient::Headers headers = GatewayHarness::clientHeaders();
    headers.append({"content-length", QByteArray::number(body.size())});
    return headers;
}

// The head and the body up to `end`, a piece at a time, each read before the next is sent.
void sendUpTo(TestClient &client, const QByteArray &body, qsizetype end)
{
    client.sendRaw(TestClient::request("POST", "/v1/messages", headersFor(body)));
    for (qsizetype at = 0; at < end; at += kPiece) {
        client.sendRaw(body.mid(at, std::min(kPiece, end - at)));
        QTest::qWait(1);
    }
}

void sendRest(TestClient &client, const QByteArray &body, qsizetype from)
{
    for (qsizetype at = from; at < body.size(); at += kPiece) {
        client.sendRaw(body.mid(at, kPiece));
        QTest::qWait(1);
    }
}

// A Claude Code request late in a session: 1.3 MiB of messages, then 70 KB of system prompt
// and tools. `tail` replaces what follows the tools.
QByteArray claudeCodeBody(const QByteArray &toolMarker = {},
                          const QByteArray &tail = R"(,"max_tokens":32000,"stream":false})")
{
    ClaudeCodeShape shape;
    shape.assistantTextBytes = 300;
    shape.toolResultBytes = 4000;
    shape.secondSystemBlockBytes = 40000;
    shape.toolDescriptionBytes = 30000;
    shape.toolMarker = toolMarker;
    shape.tail = tail;
    return claudeCodeConversation(300, shape);
}

MockResponse rateLimited()
{
    MockResponse response = MockUpstream::errorJson(429, "rate_limit_error", "from the mock");
    response.headers.emplaceBack("retry-after", "30");
    return response;
}
} // namespace

class tst_StreamedUpload final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void sendsTheBodyOnBeforeItsEnd();
    void sendsABodyWithoutMarkersAsItCame();
    void sendsOneLongMessageOnAsItArrives();
    void sendsClaudeCodesSystemAndToolsAhead();
    void sendsTheBodyAgainWhenItsEndChangesThePlan_data();
    void sendsTheBodyAgainWhenItsEndChangesThePlan();
    void answersThePipelinedRequestAfterIt();
    void movesToAnotherKeyWithTheWholeBody();
    void stopsTheUpstreamWhenTheClientLeaves();
    void answersARefusalBeforeTheBodyEnds();
    void logsABodyThatStallsOnce();
    void answersAnUnreachableVendorOnceTheBodyIsIn();
    void resendsWhenTheVendorHangsUpMidBody();
    void sendsOnOverTls();
    void scansOnlyWhatTheNextTurnChanged();
    void keepsTheLatestConversationsOnly();
    void keepsEachKeysConversationsApart();

private:
    bool start(const std::function<void(GatewayConfig &)> &adjust = {});

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
    QByteArray m_body;
};

void tst_StreamedUpload::init()
{
    m_mock = new MockUpstream(this);
    m_gateway = new GatewayHarness(this);
    // 1.3 MiB: Tollgate marks the system prompt (after the messages, as the keys sort), the
    // newest and the previous user turn.
    if (m_body.isEmpty())
        m_body = sdkConversation(300, 300);
    QVERIFY(m_body.size() > 1024 * 1024);
}

void tst_StreamedUpload::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

bool tst_StreamedUpload::start(const std::function<void(GatewayConfig &)> &adjust)
{
    if (!m_mock->isTls() && m_mock->port() == 0 && !m_mock->listen())
        return false;
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    if (adjust)
        adjust(config);
    return m_gateway->start(config);
}

void tst_StreamedUpload::sendsTheBodyOnBeforeItsEnd()
{
    QVERIFY(start());
    TestClient client;
    client.connectTo(m_gateway->port());
    const qsizetype cut = m_body.size() - kPiece;
    sendUpTo(client, m_body, cut);
    // All but the last user turns (a few KiB) is upstream before the last piece is sent.
    QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() > cut - 20'000, 5000);
    QVERIFY(m_mock->requests().isEmpty());
    QVERIFY(client.responses().isEmpty());
    sendRest(client, m_body, cut);
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    // The markers of the whole body, then spaces for those it did not need.
    const CacheInjector::Result expected = CacheInjector::inject(m_body, {});
    QCOMPARE(expected.markersAdded, 3);
    const MockRequest &sent = m_mock->requests().first();
    const qsizetype announced = m_body.size() + CacheInjector::maxInsertedBytes();
    QCOMPARE(sent.header("content-length"), QByteArray::number(announced));
    QCOMPARE(sent.body.size(), announced);
    QVERIFY(sent.body.first(expected.body.size()) == expected.body);
    QCOMPARE(sent.body.sliced(expected.body.size()),
             QByteArray(announced - expected.body.size(), ' '));
    QVERIFY(QJsonDocument::fromJson(sent.body).isObject());
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &row = m_gateway->records().first();
    QCOMPARE(row.status, 200);
    QCOMPARE(row.cacheMarkersAdded, 3);
    QCOMPARE(row.requestBytes, m_body.size());
    QCOMPARE(row.model, QStringLiteral("claude-sonnet-4-5"));
    QVERIFY(row.isComplete);
    // Timed from the last byte in, as for any request.
    QVERIFY2(row.totalUs < 2'000'000, qPrintable(QString::number(row.totalUs)));
}

void tst_StreamedUpload::sendsABodyWithoutMarkersAsItCame()
{
    QVERIFY(start([](GatewayConfig &config) { config.cacheInjection.isEnabled = false; }));
    TestClient client;
    client.connectTo(m_gateway->port());
    const qsizetype cut = m_body.size() - kPiece;
    sendUpTo(client, m_body, cut);
    // No markers to wait for: every byte goes on as it comes.
    QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() >= cut, 5000);
    sendRest(client, m_body, cut);
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().first().header("content-length"),
             QByteArray::number(m_body.size()));
    QVERIFY(m_mock->requests().first().body == m_body);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().cacheMarkersAdded, 0);
    QCOMPARE(m_gateway->records().first().model, QStringLiteral("claude-sonnet-4-5"));
}

// The next request, sent right behind the body on the same connection, is read once the
// first is answered and gets its own answer.
void tst_StreamedUpload::sendsOneLongMessageOnAsItArrives()
{
    // One user message of 1.5 MiB of text (a pasted log, a file): the message is not wrapped
    // into a block, so its bytes go on as they come, and its marker is a top-level
    // cache_control at the body's end. Twice: the second time the first one's scan is
    // followed.
    QVERIFY(start());
    m_mock->enablePromptCache(1024);
    QByteArray text;
    while (text.size() < 1536 * 1024)
        text += "2026-11-27 12:00:01 INFO worker \\\"build\\\" step done \\u00e9 ";
    const QByteArray body = R"({"model":"claude-sonnet-4-5","max_tokens":1024,)"
                            R"("messages":[{"role":"user","content":")"
        + text + R"("}]})";
    const CacheInjector::Result expected = CacheInjector::inject(body, {});
    QCOMPARE(expected.markersAdded, 1);
    QVERIFY(expected.body.endsWith("\"}],\"cache_control\":{\"type\":\"ephemeral\"}}"));
    TestClient client;
    client.connectTo(m_gateway->port());
    for (int i = 0; i < 2; ++i) {
        const qint64 before = m_mock->bytesReceived();
        const qsizetype cut = body.size() - kPiece;
        sendUpTo(client, body, cut);
        // All that has come is upstream but the last few bytes, before the last piece is sent.
        QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() - before > cut - 1024, 5000);
        QCOMPARE(m_mock->requests().size(), i);
        sendRest(client, body, cut);
        QVERIFY(client.waitForResponses(i + 1, 10'000));
        QCOMPARE(client.responses().at(i).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(m_mock->requests().size(), i + 1, 5000);
        const MockRequest &sent = m_mock->requests().at(i);
        const qsizetype announced = body.size() + CacheInjector::maxInsertedBytes();
        QCOMPARE(sent.body.size(), announced);
        QVERIFY(sent.body.first(expected.body.size()) == expected.body);
        QCOMPARE(m_mock->cacheReports().at(i).markers, 1);
        QCOMPARE(m_mock->cacheReports().at(i).breakpoints, 1);
        QVERIFY(QJsonDocument::fromJson(sent.body).isObject());
    }
    QVERIFY(m_gateway->waitForRecords(2));
    const QList<RequestRecord> rows = m_gateway->records();
    for (const RequestRecord &row : rows) {
        QCOMPARE(row.status, 200);
        QCOMPARE(row.cacheMarkersAdded, 1);
        QCOMPARE(row.requestBytes, body.size());
    }
    QCOMPARE(rows.at(0).layoutReusedBytes, 0);
    QVERIFY(rows.at(1).layoutReusedBytes > PromptLayout::kLongestWrappedString);
    // The top-level marker wrote the whole prompt to the cache, and the second request read it.
    QCOMPARE(m_mock->cacheReports().at(0).hitBlock, -1);
    QVERIFY(m_mock->cacheReports().at(1).usage.cacheReadTokens > 300'000);
    QCOMPARE(rows.at(1).usage.cacheReadTokens, m_mock->cacheReports().at(1).usage.cacheReadTokens);
    QVERIFY(rows.at(1).cacheReadsByTollgate);
}

void tst_StreamedUpload::sendsClaudeCodesSystemAndToolsAhead()
{
    // The marker Tollgate adds (the previous user turn) sits before the system prompt and the
    // tools, some 70 KB, which Claude Code sends after the messages. They go on as they come,
    // with the marker before them, planned once the messages array has closed.
    QVERIFY(start());
    const QByteArray body = claudeCodeBody();
    QVERIFY(body.size() > 1024 * 1024);
    const CacheInjector::Result expected = CacheInjector::inject(body, {});
    QVERIFY2(expected.markersAdded == 1, qPrintable(expected.skipped));
    QCOMPARE(expected.added.first().place, CacheInjector::Place::PreviousUserTurn);
    TestClient client;
    client.connectTo(m_gateway->port());
    // Up to and with the comma after the tools.
    const qsizetype cut = body.indexOf(R"(,"max_tokens")") + 1;
    sendUpTo(client, body, cut);
    QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() > cut - 1024, 5000);
    QVERIFY(m_mock->requests().isEmpty());
    sendRest(client, body, cut);
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->connectionCount(), 1);
    const MockRequest &sent = m_mock->requests().first();
    QVERIFY(sent.body.first(expected.body.size()) == expected.body);
    QVERIFY(QJsonDocument::fromJson(sent.body).isObject());
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().cacheMarkersAdded, 1);
    QCOMPARE(m_gateway->records().first().cacheMarkersClient, 3);
}

void tst_StreamedUpload::sendsTheBodyAgainWhenItsEndChangesThePlan_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("markersAdded");
    // A fourth client marker, on the tool: a fifth would be a 400, so Tollgate adds none.
    QTest::newRow("a fourth client marker after the messages")
        << claudeCodeBody(R"(,"cache_control":{"type":"ephemeral"})") << 0;
    // Not JSON after all: it goes upstream as it came, and the API says what is wrong.
    QTest::newRow("broken after the messages")
        << claudeCodeBody({}, R"(,"max_tokens":32000,})") << 0;
    // A top-level marker: automatic caching takes a slot too.
    QTest::newRow("a top-level marker after the messages")
        << claudeCodeBody({}, R"(,"cache_control":{"type":"ephemeral"},"max_tokens":32000})") << 0;
}

void tst_StreamedUpload::sendsTheBodyAgainWhenItsEndChangesThePlan()
{
    // The marker planned once the messages had closed went upstream ahead; the rest of the
    // body makes the whole body's plan another. The first upload stops before its end (the
    // vendor never had a whole request) and the body goes again, as planned now.
    QFETCH(QByteArray, body);
    QFETCH(int, markersAdded);
    QVERIFY(start());
    LogCapture log;
    const CacheInjector::Result expected = CacheInjector::inject(body, {});
    QCOMPARE(expected.markersAdded, markersAdded);
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, body, body.size());
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->connectionCount(), 2);
    QCOMPARE(m_mock->requests().size(), 1);
    const MockRequest &sent = m_mock->requests().first();
    QCOMPARE(sent.header("content-length"), QByteArray::number(expected.body.size()));
    QVERIFY(sent.body == expected.body);
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &row = m_gateway->records().first();
    QCOMPARE(row.status, 200);
    QCOMPARE(row.cacheMarkersAdded, markersAdded);
    const QStringList sentAgain = {QStringLiteral("sent ahead"), QStringLiteral("sent again")};
    QCOMPARE(log.linesWith(sentAgain).size(), 1);
    // The same client's next large body plans nothing ahead for a while: one upload, with
    // the same markers (the room for those it did not need is sent as spaces).
    sendUpTo(client, body, body.size());
    QVERIFY(client.waitForResponses(2, 10'000));
    QCOMPARE(client.responses().at(1).status, 200);
    QTRY_COMPARE_WITH_TIMEOUT(m_mock->requests().size(), 2, 5000);
    QCOMPARE(m_mock->connectionCount(), 2);
    const QByteArray next = m_mock->requests().at(1).body;
    QVERIFY(next.first(expected.body.size()) == expected.body);
    QCOMPARE(next.sliced(expected.body.size()),
             QByteArray(next.size() - expected.body.size(), ' '));
    QCOMPARE(log.linesWith(sentAgain).size(), 1);
}

void tst_StreamedUpload::answersThePipelinedRequestAfterIt()
{
    QVERIFY(start());
    const QByteArray small = R"({"model":"claude-sonnet-4-5","max_tokens":8,)"
                             R"("messages":[{"role":"user","content":"hi"}]})";
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size() - kPiece);
    client.sendRaw(m_body.sliced(m_body.size() - kPiece)
                   + TestClient::request("POST", "/v1/messages", headersFor(small)) + small);
    QVERIFY(client.waitForResponses(2, 10'000));
    QCOMPARE(client.responses().at(0).status, 200);
    QCOMPARE(client.responses().at(1).status, 200);
    QCOMPARE(m_mock->requests().size(), 2);
    QVERIFY(m_mock->requests().at(0).body.size() > m_body.size());
    QCOMPARE(m_mock->requests().at(1).body, small);
    QVERIFY(m_gateway->waitForRecords(2));
}

// A 429 on the first key comes once the request is whole; the next key gets the body with its
// markers and its own length.
void tst_StreamedUpload::movesToAnotherKeyWithTheWholeBody()
{
    QVERIFY(start([](GatewayConfig &config) {
        config.upstreamKey.clear();
        config.upstreamKeys = {{QStringLiteral("a"), kKeyA}, {QStringLiteral("b"), kKeyB}};
    }));
    m_mock->setHandler([](const MockRequest &request) {
        return request.header("x-api-key") == kKeyA ? rateLimited() : MockUpstream::messageJson();
    });
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size());
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().size(), 2);
    const CacheInjector::Result expected = CacheInjector::inject(m_body, {});
    const MockRequest &first = m_mock->requests().at(0);
    const MockRequest &second = m_mock->requests().at(1);
    QCOMPARE(first.header("x-api-key"), kKeyA);
    QCOMPARE(first.body.size(), m_body.size() + CacheInjector::maxInsertedBytes());
    QCOMPARE(second.header("x-api-key"), kKeyB);
    QCOMPARE(second.header("content-length"), QByteArray::number(expected.body.size()));
    QVERIFY(second.body == expected.body);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 200);
    QCOMPARE(m_gateway->records().first().upstreamKeyAlias, QStringLiteral("b"));
    QCOMPARE(m_gateway->records().first().cacheMarkersAdded, 3);
}

void tst_StreamedUpload::stopsTheUpstreamWhenTheClientLeaves()
{
    QVERIFY(start());
    QSignalSpy upstreamGone(m_mock, &MockUpstream::clientDisconnected);
    {
        TestClient client;
        client.connectTo(m_gateway->port());
        sendUpTo(client, m_body, m_body.size() / 2);
        QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() > m_body.size() / 4, 5000);
    } // the client closes its connection halfway
    QVERIFY(upstreamGone.count() > 0 || upstreamGone.wait(3000));
    QVERIFY(m_mock->requests().isEmpty());
    QVERIFY(m_gateway->waitForRecords(1));
    QTest::qWait(100);
    QCOMPARE(m_gateway->records().size(), 1);
    QCOMPARE(m_gateway->records().first().error, QStringLiteral("client disconnected"));
}

// No upstream key: the answer comes as soon as the request is dispatched, and the connection
// closes after it, since the rest of the body is not read.
void tst_StreamedUpload::answersARefusalBeforeTheBodyEnds()
{
    QVERIFY(start([](GatewayConfig &config) {
        config.upstreamKey.clear();
        config.upstreamKeys.clear();
    }));
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, 4 * kPiece);
    QVERIFY(client.waitForResponses(1, 5000));
    const TestClient::Response &response = client.responses().first();
    QCOMPARE(response.status, 401);
    QVERIFY(response.isAnthropicError(401));
    QCOMPARE(response.header("connection").toLower(), QByteArray("close"));
    QVERIFY(client.waitForClose(3000));
    QCOMPARE(m_mock->bytesReceived(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QTest::qWait(100);
    QCOMPARE(m_gateway->records().size(), 1);
    QCOMPARE(m_gateway->records().first().status, 401);
}

// A body that stops halfway is answered 408 once, in one row, and the vendor's request is
// dropped.
void tst_StreamedUpload::logsABodyThatStallsOnce()
{
    QVERIFY(start([](GatewayConfig &config) {
        config.headerReadTimeoutMs = 400;
        config.bodyReadTimeoutMs = 400;
    }));
    QSignalSpy upstreamGone(m_mock, &MockUpstream::clientDisconnected);
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size() / 2);
    QVERIFY(client.waitForResponses(1, 5000));
    QCOMPARE(client.responses().first().status, 408);
    QVERIFY(client.waitForClose(3000));
    QVERIFY(upstreamGone.count() > 0 || upstreamGone.wait(3000));
    QVERIFY(m_mock->requests().isEmpty());
    QVERIFY(m_gateway->waitForRecords(1));
    QTest::qWait(100);
    QCOMPARE(m_gateway->records().size(), 1);
    QCOMPARE(m_gateway->records().first().status, 408);
    QVERIFY(m_gateway->records().first().error.contains(QStringLiteral("Timed out")));
}

// Nothing listens upstream: the failed connect waits for the body, then gets its 502.
void tst_StreamedUpload::answersAnUnreachableVendorOnceTheBodyIsIn()
{
    QVERIFY(m_mock->listen());
    const QByteArray closed = m_mock->baseUrl();
    delete m_mock;
    m_mock = new MockUpstream(this);
    GatewayConfig config = GatewayHarness::configFor(closed);
    QVERIFY(m_gateway->start(config));
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size() - kPiece);
    QTest::qWait(50);
    QVERIFY(client.responses().isEmpty());
    sendRest(client, m_body, m_body.size() - kPiece);
    QVERIFY(client.waitForResponses(1, 5000));
    QCOMPARE(client.responses().first().status, 502);
    QVERIFY(client.responses().first().isAnthropicError(502));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 502);
}

// The vendor resets the connection a third of the way in (a timeout or a restart on its side):
// nothing of the request was processed, so once the body is in it goes again, whole, on a new
// connection, and the client never sees the first try.
void tst_StreamedUpload::resendsWhenTheVendorHangsUpMidBody()
{
    QTcpServer vendor;
    QVERIFY(vendor.listen(QHostAddress::LocalHost));
    int connections = 0;
    QByteArray retried; // the second connection's bytes
    qint64 firstSeen = 0; // the first connection's
    const QByteArray answer = MockUpstream::messageJson().body;
    connect(&vendor, &QTcpServer::newConnection, this, [&] {
        while (QTcpSocket *socket = vendor.nextPendingConnection()) {
            const int index = connections++;
            connect(socket, &QTcpSocket::readyRead, socket, [&, socket, index] {
                const QByteArray bytes = socket->readAll();
                if (index == 0) {
                    firstSeen += bytes.size();
                    if (firstSeen > m_body.size() / 3)
                        socket->abort();
                    return;
                }
                retried += bytes;
                const qsizetype headEnd = retried.indexOf("\r\n\r\n");
                const qsizetype at = retried.toLower().indexOf("content-length: ");
                if (headEnd < 0 || at < 0)
                    return;
                const qsizetype length =
                    retried.mid(at + 16, retried.indexOf('\r', at) - at - 16).toLongLong();
                if (retried.size() < headEnd + 4 + length)
                    return;
                socket->write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              "content-length: "
                              + QByteArray::number(answer.size()) + "\r\n\r\n" + answer);
            });
        }
    });
    QVERIFY(m_gateway->start(
        GatewayHarness::configFor("http://127.0.0.1:" + QByteArray::number(vendor.serverPort()))));
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size());
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(client.responses().first().body, answer);
    QCOMPARE(connections, 2);
    const CacheInjector::Result expected = CacheInjector::inject(m_body, {});
    QVERIFY(retried.endsWith(expected.body));
    const QByteArray exactLength =
        "\r\nContent-Length: " + QByteArray::number(expected.body.size()) + "\r\n";
    QVERIFY(retried.contains(exactLength));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 200);
}

// Over TLS the body waits for the handshake, then follows it.
void tst_StreamedUpload::sendsOnOverTls()
{
    const TestCertificate certificate;
    QVERIFY(m_mock->listenTls(certificate.serverCertificate(), certificate.serverKey()));
    QVERIFY(start([&certificate](GatewayConfig &config) {
        config.upstreamCaFile = certificate.caCertificatePath();
    }));
    TestClient client;
    client.connectTo(m_gateway->port());
    sendUpTo(client, m_body, m_body.size());
    QVERIFY(client.waitForResponses(1, 10'000));
    QCOMPARE(client.responses().first().status, 200);
    const CacheInjector::Result expected = CacheInjector::inject(m_body, {});
    const QByteArray &sent = m_mock->requests().first().body;
    QCOMPARE(sent.size(), m_body.size() + CacheInjector::maxInsertedBytes());
    QVERIFY(sent.first(expected.body.size()) == expected.body);
}

void tst_StreamedUpload::scansOnlyWhatTheNextTurnChanged()
{
    // Turn after turn, each body is the one before and one more exchange: only that part, and
    // the few KiB before it, is scanned again. Each body still gets the markers a scan of its
    // own would give it, also after a body of another conversation in between.
    QVERIFY(start());
    TestClient client;
    client.connectTo(m_gateway->port());
    const QList<QByteArray> bodies {sdkConversation(300, 300), sdkConversation(301, 300),
                                    sdkConversation(302, 150), sdkConversation(302, 300)};
    for (qsizetype i = 0; i < bodies.size(); ++i) {
        const QByteArray &body = bodies.at(i);
        sendUpTo(client, body, body.size());
        QVERIFY(client.waitForResponses(int(i) + 1, 10'000));
        QCOMPARE(client.responses().at(i).status, 200);
        const CacheInjector::Result expected = CacheInjector::inject(body, {});
        QCOMPARE(expected.markersAdded, 3);
        QTRY_COMPARE_WITH_TIMEOUT(m_mock->requests().size(), i + 1, 5000);
        const QByteArray sent = m_mock->requests().at(i).body;
        QVERIFY(sent.first(expected.body.size()) == expected.body);
        QVERIFY(QJsonDocument::fromJson(sent).isObject());
    }
    QVERIFY(m_gateway->waitForRecords(int(bodies.size())));
    const QList<RequestRecord> rows = m_gateway->records();
    QCOMPARE(rows.at(0).layoutReusedBytes, 0);
    // The second turn shares all but its last exchange with the first, whose bytes were the
    // client's up to the first marker Tollgate put in.
    qsizetype shared = bodies.at(0).size();
    for (const CacheInjector::Insertion &insertion :
         CacheInjector::plan(bodies.at(0), {}).insertions)
        shared = std::min(shared, insertion.offset);
    QVERIFY(shared > bodies.at(0).size() - 32 * 1024); // the system prompt comes after
    QVERIFY2(rows.at(1).layoutReusedBytes > shared - 64 * 1024
                 && rows.at(1).layoutReusedBytes < shared,
             qPrintable(QStringLiteral("%1 of %2").arg(rows.at(1).layoutReusedBytes).arg(shared)));
    // Another conversation (shorter turns) shares next to nothing with either.
    QVERIFY(rows.at(2).layoutReusedBytes < 16 * 1024);
    // The first conversation's next turn again takes the second body's scan.
    QVERIFY2(rows.at(3).layoutReusedBytes > bodies.at(1).size() - 128 * 1024,
             qPrintable(QString::number(rows.at(3).layoutReusedBytes)));
    for (const RequestRecord &row : rows)
        QCOMPARE(row.cacheMarkersAdded, 3);
}

void tst_StreamedUpload::keepsTheLatestConversationsOnly()
{
    // What is kept of earlier requests is bounded: with room for eight, of nine
    // conversations in a row the first is forgotten (its next turn is scanned whole), the
    // latest is not.
    const QList<QByteArray> large {sdkConversation(800, 301), sdkConversation(800, 302),
                                   sdkConversation(801, 302), sdkConversation(801, 301)};
    // In bounded memory too: room for the journal of one large conversation, not two.
    PromptLayoutBuilder builder;
    builder.finish(large.at(0));
    const auto journal = builder.journal(large.at(0), large.at(0).size());
    QVERIFY(journal);
    const qsizetype journalBytes = PromptLayoutBuilder::bytesHeldBy(*journal);
    QVERIFY2(journalBytes < large.at(0).size() / 8, qPrintable(QString::number(journalBytes)));
    QVERIFY(start([&](GatewayConfig &config) {
        config.scanJournalCount = 8;
        config.scanJournalBytes = journalBytes * 3 / 2;
    }));
    TestClient client;
    client.connectTo(m_gateway->port());
    QList<QByteArray> bodies;
    for (int i = 0; i < 9; ++i)
        bodies.append(sdkConversation(100, 300 + i)); // 420 KiB each
    bodies.append(sdkConversation(101, 300));
    bodies.append(sdkConversation(101, 308));
    for (qsizetype i = 0; i < bodies.size(); ++i) {
        sendUpTo(client, bodies.at(i), bodies.at(i).size());
        QVERIFY(client.waitForResponses(int(i) + 1, 10'000));
        QCOMPARE(client.responses().at(i).status, 200);
    }
    QVERIFY(m_gateway->waitForRecords(int(bodies.size())));
    const QList<RequestRecord> rows = m_gateway->records();
    for (qsizetype i = 0; i < 9; ++i)
        QVERIFY(rows.at(i).layoutReusedBytes < 16 * 1024);
    QVERIFY2(rows.at(9).layoutReusedBytes < 16 * 1024,
             qPrintable(QString::number(rows.at(9).layoutReusedBytes)));
    QVERIFY2(rows.at(10).layoutReusedBytes > bodies.at(8).size() / 2,
             qPrintable(QString::number(rows.at(10).layoutReusedBytes)));
    // Two conversations of 3.4 MB: the journal of the first goes when the second's comes.
    for (qsizetype i = 0; i < large.size(); ++i) {
        QVERIFY(large.at(i).size() > 3'000'000);
        sendUpTo(client, large.at(i), large.at(i).size());
        QVERIFY(client.waitForResponses(int(bodies.size() + i) + 1, 10'000));
    }
    QVERIFY(m_gateway->waitForRecords(int(bodies.size() + large.size())));
    const QList<RequestRecord> all = m_gateway->records();
    QVERIFY2(all.at(bodies.size() + 2).layoutReusedBytes > large.at(1).size() / 2,
             qPrintable(QString::number(all.at(bodies.size() + 2).layoutReusedBytes)));
    QVERIFY(all.at(bodies.size() + 3).layoutReusedBytes < 16 * 1024);
}

void tst_StreamedUpload::keepsEachKeysConversationsApart()
{
    // A body sent with another key is scanned whole even when another key's conversation
    // began the same way: its timing tells nothing of what others sent.
    const QByteArray otherKey = "tg-test-other-0123456789abcdef";
    QVERIFY(start([&](GatewayConfig &config) { config.virtualKeys.append(otherKey); }));
    TestClient client;
    client.connectTo(m_gateway->port());
    const QByteArray first = sdkConversation(200, 300);
    const QByteArray next = sdkConversation(201, 300);
    sendUpTo(client, first, first.size());
    QVERIFY(client.waitForResponses(1, 10'000));
    TestClient other;
    other.connectTo(m_gateway->port());
    TestClient::Headers headers = headersFor(next);
    for (auto &header : headers) {
        if (header.first == "x-api-key")
            header.second = otherKey;
    }
    other.sendRaw(TestClient::request("POST", "/v1/messages", headers) + next);
    QVERIFY(other.waitForResponses(1, 10'000));
    QCOMPARE(other.responses().first().status, 200);
    sendUpTo(client, next, next.size());
    QVERIFY(client.waitForResponses(2, 10'000));
    QVERIFY(m_gateway->waitForRecords(3));
    const QList<RequestRecord> rows = m_gateway->records();
    QCOMPARE(rows.at(1).layoutReusedBytes, 0);
    QVERIFY2(rows.at(2).layoutReusedBytes > first.size() / 2,
             qPrintable(QString::number(rows.at(2).layoutReusedBytes)));
}

QTEST_GUILESS_MAIN(tst_StreamedUpload)
#include "tst_StreamedUpload.moc"
