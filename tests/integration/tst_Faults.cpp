// What the client sees when something breaks: on either side, before or during a response.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
TestClient::Headers auth()
{
    return {{"x-api-key", GatewayHarness::virtualKey()}};
}

// A port nothing listens on.
quint16 closedPort()
{
    QTcpServer server;
    server.listen(QHostAddress::LocalHost, 0);
    return server.serverPort();
}
} // namespace

class tst_Faults final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void abortsUpstreamWhenClientLeavesMidStream();
    void endsStreamWithErrorEventWhenUpstreamResets();
    void cutsNonStreamBodyWhenUpstreamResets();
    void answers502WhenUpstreamRefusesConnection();
    void answers502WhenUpstreamClosesWithoutAnswer();
    void answers502WhenTlsHandshakeFails();
    void answers504WhenFirstByteTimesOut();
    void endsStreamWhenUpstreamFallsSilent();
    void retriesOnceWhenKeptAliveConnectionWasClosed();
    void keepsServingAfterEveryFault();

private:
    void restartWith(const GatewayConfig &config);

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Faults::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
}

void tst_Faults::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_Faults::restartWith(const GatewayConfig &config)
{
    QVERIFY(m_gateway->stop());
    QVERIFY(m_gateway->start(config));
}

void tst_Faults::abortsUpstreamWhenClientLeavesMidStream()
{
    m_mock->enqueue(MockUpstream::messageStream("claude-opus-4-8", 100, 50));
    QSignalSpy upstreamGone(m_mock, &MockUpstream::clientDisconnected);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{\"stream\":true}");
    QVERIFY(client.waitUntil([&] {
        return client.partialResponse()
            && client.partialResponse()->body.contains("content_block_delta");
    }));
    client.abort();
    // The upstream request is cancelled at once, not after the remaining 5 s of stream.
    QVERIFY(upstreamGone.wait(1000));
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QVERIFY(!record.isComplete);
    QCOMPARE(record.error, QStringLiteral("client disconnected"));
}

void tst_Faults::endsStreamWithErrorEventWhenUpstreamResets()
{
    MockResponse response = MockUpstream::messageStream("claude-opus-4-8", 10, 5);
    response.closeAfterEvents = 3;
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{\"stream\":true}");
    QVERIFY(client.waitForClose());
    QCOMPARE(client.responses().size(), 1);
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 200);
    // The chunked body ends cleanly, with an Anthropic-shaped error event last.
    QVERIFY(r.complete);
    QVERIFY(r.body.startsWith("event: message_start"));
    const qsizetype at = r.body.lastIndexOf("event: error\ndata: ");
    QVERIFY(at > 0);
    QVERIFY(r.body.endsWith("\n\n"));
    const QByteArray data = r.body.mid(at + 19).trimmed();
    QCOMPARE(QJsonDocument::fromJson(data).object().value(QLatin1String("type")).toString(),
             QStringLiteral("error"));
    QCOMPARE(GatewayHarness::errorType(data), QStringLiteral("api_error"));
    QVERIFY(m_gateway->waitForRecords(1));
    QVERIFY(!m_gateway->records().first().isComplete);
}

void tst_Faults::cutsNonStreamBodyWhenUpstreamResets()
{
    // A close-delimited body cannot be told from a complete one; a chunked one that stops
    // early must not get a terminating chunk.
    MockResponse response;
    response.headers = {{"content-type", "application/json"}};
    response.events = {{"", "{\"partial\":", 0}, {"", "true}", 10}};
    response.closeAfterEvents = 1;
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForClose());
    QCOMPARE(client.responses().size(), 1);
    const TestClient::Response &r = client.responses().first();
    QVERIFY(!r.complete);
    QVERIFY(r.body.contains("{\"partial\":"));
    QVERIFY(!r.body.contains("event: error"));
}

void tst_Faults::answers502WhenUpstreamRefusesConnection()
{
    restartWith(GatewayHarness::configFor("http://127.0.0.1:" + QByteArray::number(closedPort())));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 502);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("api_error"));
    QVERIFY(r.header("request-id").startsWith("req_tg_"));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 502);
    QVERIFY(!m_gateway->records().first().error.isEmpty());
}

void tst_Faults::answers502WhenUpstreamClosesWithoutAnswer()
{
    MockResponse response;
    response.closeWithoutResponse = true;
    m_mock->setHandler([response](const MockRequest &) { return response; });
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 502);
    QCOMPARE(GatewayHarness::errorType(client.responses().first().body),
             QStringLiteral("api_error"));
}

void tst_Faults::answers502WhenTlsHandshakeFails()
{
    // https to a server that answers the ClientHello with plain HTTP: the handshake fails.
    QTcpServer plain;
    QVERIFY(plain.listen(QHostAddress::LocalHost, 0));
    connect(&plain, &QTcpServer::newConnection, this, [&plain] {
        while (QTcpSocket *socket = plain.nextPendingConnection()) {
            socket->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            socket->disconnectFromHost();
        }
    });
    restartWith(
        GatewayHarness::configFor("https://127.0.0.1:" + QByteArray::number(plain.serverPort())));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1, 10000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 502);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("api_error"));
    QVERIFY2(r.body.contains("TLS") || r.body.contains("connect"), r.body.constData());
}

void tst_Faults::answers504WhenFirstByteTimesOut()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.firstByteTimeoutMs = 300;
    restartWith(config);
    MockResponse response;
    response.neverRespond = true;
    m_mock->enqueue(response);
    QSignalSpy upstreamGone(m_mock, &MockUpstream::clientDisconnected);
    TestClient client;
    client.connectTo(m_gateway->port());
    const qint64 sentAt = client.elapsedUs();
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1, 3000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 504);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("timeout_error"));
    const qint64 waited = r.headAtUs - sentAt;
    QVERIFY2(waited >= 300'000 && waited < 1'500'000, qPrintable(QString::number(waited)));
    QVERIFY(upstreamGone.count() > 0 || upstreamGone.wait(1000));
}

void tst_Faults::endsStreamWhenUpstreamFallsSilent()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.idleTimeoutMs = 300;
    restartWith(config);
    MockResponse response = MockUpstream::messageStream("claude-opus-4-8", 3, 0);
    response.events[3].delayMs = 5000; // silence after the third event
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{\"stream\":true}");
    QVERIFY(client.waitForClose(3000));
    QCOMPARE(client.responses().size(), 1);
    const QByteArray body = client.responses().first().body;
    QVERIFY(body.contains("event: error"));
    QCOMPARE(GatewayHarness::errorType(body.mid(body.lastIndexOf("data: ") + 6).trimmed()),
             QStringLiteral("timeout_error"));
}

void tst_Faults::retriesOnceWhenKeptAliveConnectionWasClosed()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(m_mock->connectionCount(), 1);
    // The vendor drops the idle keep-alive connection; the next request must not fail.
    MockResponse dropped;
    dropped.closeWithoutResponse = true;
    m_mock->enqueue(dropped);
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(client.responses().at(1).status, 200);
    QCOMPARE(m_mock->connectionCount(), 2);
}

void tst_Faults::keepsServingAfterEveryFault()
{
    // A burst of broken exchanges, then a normal one on a fresh connection.
    for (int i = 0; i < 5; ++i) {
        MockResponse response = MockUpstream::messageStream("claude-opus-4-8", 5, 1);
        response.closeAfterEvents = i;
        m_mock->enqueue(response);
        TestClient client;
        client.connectTo(m_gateway->port());
        client.send("POST", "/v1/messages", auth(), "{\"stream\":true}");
        QVERIFY(client.waitForClose());
    }
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
}

QTEST_GUILESS_MAIN(tst_Faults)
#include "tst_Faults.moc"
