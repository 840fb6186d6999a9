// Bounded input: header block, body size, slow or silent clients and malformed requests
// get a clear Anthropic-shaped error and never crash or hang the gateway.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
QByteArray keyLine()
{
    return "x-api-key: " + GatewayHarness::virtualKey() + "\r\n";
}
} // namespace

class tst_Limits final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void refusesOversizedHeaderBlock();
    void refusesOversizedBodyBeforeReadingIt();
    void refusesOversizedBodyEvenWithExpect();
    void deliversRefusalWhileClientKeepsSending();
    void refusesOversizedChunkedBody();
    void allowsLargerBodiesOnBatchEndpoints();
    void refusesMalformedRequests_data();
    void refusesMalformedRequests();
    void timesOutSlowHeader();
    void timesOutStalledBody();
    void closesIdleKeepAliveConnection();
    void refusesWrongKeyBeforeReadingBody();

private:
    void expectStillServing();

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Limits::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.maxBodyBytes = 64 * 1024;
    config.maxBatchBodyBytes = 256 * 1024;
    config.headerReadTimeoutMs = 300;
    config.keepAliveTimeoutMs = 300;
    QVERIFY(m_gateway->start(config));
}

void tst_Limits::cleanup()
{
    expectStillServing();
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_Limits::expectStillServing()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
}

void tst_Limits::refusesOversizedHeaderBlock()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    QByteArray head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine();
    for (int i = 0; i < 70; ++i)
        head += "x-filler-" + QByteArray::number(i) + ": " + QByteArray(1000, 'a') + "\r\n";
    client.sendRaw(head + "Content-Length: 2\r\n\r\n{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 431);
    QCOMPARE(GatewayHarness::errorType(client.responses().first().body),
             QStringLiteral("invalid_request_error"));
    QVERIFY(client.waitForClose());
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_Limits::refusesOversizedBodyBeforeReadingIt()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    // Only the head is sent: the answer must not wait for 40 MB that never come.
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine()
                   + "Content-Length: 41943040\r\n\r\n");
    QVERIFY(client.waitForResponses(1, 2000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 413);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("request_too_large"));
    QVERIFY(client.waitForClose());
    QCOMPARE(m_mock->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 413);
}

void tst_Limits::deliversRefusalWhileClientKeepsSending()
{
    // The client is still sending its body when the 413 goes out: the gateway must not
    // reset the connection under it (a reset can destroy the answer before it is read).
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine()
                   + "Content-Length: 41943040\r\n\r\n");
    for (int i = 0; i < 32; ++i)
        client.sendRaw(QByteArray(64 * 1024, 'z'));
    QVERIFY(client.waitForResponses(1, 5000));
    QCOMPARE(client.responses().first().status, 413);
    QCOMPARE(GatewayHarness::errorType(client.responses().first().body),
             QStringLiteral("request_too_large"));
    QVERIFY(client.waitForClose());
}

void tst_Limits::refusesOversizedBodyEvenWithExpect()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine()
                   + "Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n");
    QVERIFY(client.waitForResponses(1, 2000));
    QCOMPARE(client.responses().first().status, 413);
    QVERIFY(client.interimResponses().isEmpty());
}

void tst_Limits::refusesOversizedChunkedBody()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    QByteArray raw = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine()
        + "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i)
        raw += "1000\r\n" + QByteArray(4096, 'b') + "\r\n";
    client.sendRaw(raw);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 413);
    QVERIFY(client.waitForClose());
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_Limits::allowsLargerBodiesOnBatchEndpoints()
{
    const QByteArray body = "{\"requests\":[\"" + QByteArray(100 * 1024, 'c') + "\"]}";
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages/batches", {{"x-api-key", GatewayHarness::virtualKey()}},
                body);
    QVERIFY(client.waitForResponses(1));
    QVERIFY(client.responses().first().status != 413);
    QCOMPARE(m_mock->requests().first().body, body);
    TestClient second;
    second.connectTo(m_gateway->port());
    second.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, body);
    QVERIFY(second.waitForResponses(1));
    QCOMPARE(second.responses().first().status, 413);
}

void tst_Limits::refusesMalformedRequests_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("status");
    QTest::newRow("binary garbage")
        << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) << 400;
    QTest::newRow("http/0.9") << QByteArray("GET /v1/models\r\n\r\n") << 505;
    QTest::newRow("http/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 505;
    QTest::newRow("bad header line")
        << QByteArray("GET /v1/models HTTP/1.1\r\nno colon here\r\n\r\n") << 400;
    QTest::newRow("bad content-length")
        << QByteArray("POST /v1/messages HTTP/1.1\r\nContent-Length: 1x\r\n\r\n") << 400;
    QTest::newRow("length and chunked")
        << QByteArray("POST /v1/messages HTTP/1.1\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        << 400;
    QTest::newRow("bad chunk") << QByteArray("POST /v1/messages HTTP/1.1\r\n" + keyLine()
                                             + "Transfer-Encoding: chunked\r\n\r\nxyz\r\n")
                               << 400;
    QTest::newRow("absolute form")
        << QByteArray("GET http://example.com/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        << 400;
    QTest::newRow("connect") << QByteArray(
        "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                             << 400;
    QTest::newRow("websocket upgrade")
        << QByteArray("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                      "Upgrade\r\nUpgrade: websocket\r\n\r\n")
        << 400;
    QTest::newRow("unknown expect") << QByteArray(
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: "
        + GatewayHarness::virtualKey() + "\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n")
                                    << 417;
}

void tst_Limits::refusesMalformedRequests()
{
    QFETCH(QByteArray, raw);
    QFETCH(int, status);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(raw);
    QVERIFY(client.waitForResponses(1, 2000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, status);
    QCOMPARE(QJsonDocument::fromJson(r.body).object().value(QLatin1String("type")).toString(),
             QStringLiteral("error"));
    QVERIFY(client.waitForClose());
    QCOMPARE(m_mock->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, status);
}

void tst_Limits::timesOutSlowHeader()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    QVERIFY(client.waitForResponses(1, 2000));
    QCOMPARE(client.responses().first().status, 408);
    QVERIFY(client.waitForClose());
}

void tst_Limits::timesOutStalledBody()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + keyLine()
                   + "Content-Length: 100\r\n\r\n{\"half\":");
    QVERIFY(client.waitForResponses(1, 2000));
    QCOMPARE(client.responses().first().status, 408);
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_Limits::closesIdleKeepAliveConnection()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(1));
    QVERIFY(client.waitForClose(2000));
    QVERIFY(client.closedByServer());
    // Idle closing sends nothing: no half response for a request that never came.
    QCOMPARE(client.responses().size(), 1);
}

void tst_Limits::refusesWrongKeyBeforeReadingBody()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: nope\r\n"
                   "Content-Length: 200000\r\n\r\n");
    QVERIFY(client.waitForResponses(1, 2000));
    QCOMPARE(client.responses().first().status, 401);
}

QTEST_GUILESS_MAIN(tst_Limits)
#include "tst_Limits.moc"
