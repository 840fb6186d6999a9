// The upstream over TLS, as api.anthropic.com is: requests and streams go through intact on
// a kept-alive encrypted connection when the certificate checks out, and nothing is sent
// when it does not (unknown issuer, or issued for another name).
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestCertificate.h"
#include "TestClient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <memory>

using namespace tollgate;
using namespace tollgate::test;

namespace {
TestClient::Headers auth()
{
    return GatewayHarness::clientHeaders();
}

QString errorMessage(const QByteArray &body)
{
    return QJsonDocument::fromJson(body)
        .object()
        .value(QLatin1String("error"))
        .toObject()
        .value(QLatin1String("message"))
        .toString();
}

// The SSE body a client must receive for these events.
QByteArray eventStream(const QList<MockEvent> &events)
{
    QByteArray out;
    for (const MockEvent &e : events) {
        if (!e.name.isEmpty())
            out += "event: " + e.name + '\n';
        out += "data: " + e.data + "\n\n";
    }
    return out;
}
} // namespace

class tst_UpstreamTls final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void forwardsOverTlsWhenTheCaIsTrusted();
    void refusesUntrustedCertificate();
    void refusesWrongHostName();

private:
    // One POST /v1/messages through a fresh client; the response it got.
    TestClient::Response post(const QByteArray &body);
    void expectTlsRefusal(const TestClient::Response &r);

    std::unique_ptr<TestCertificate> m_certificate; // localhost and 127.0.0.1
    std::unique_ptr<TestCertificate> m_localhostOnly; // DNS:localhost only
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_UpstreamTls::initTestCase()
{
    m_certificate = std::make_unique<TestCertificate>();
    QVERIFY2(m_certificate->isValid(), qPrintable(m_certificate->errorString()));
    m_localhostOnly =
        std::make_unique<TestCertificate>(QStringList {QStringLiteral("DNS:localhost")});
    QVERIFY2(m_localhostOnly->isValid(), qPrintable(m_localhostOnly->errorString()));
}

void tst_UpstreamTls::init()
{
    m_mock = new MockUpstream(this);
    m_gateway = new GatewayHarness(this);
}

void tst_UpstreamTls::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

TestClient::Response tst_UpstreamTls::post(const QByteArray &body)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), body);
    if (!client.waitForResponses(1, 10000))
        return {};
    return client.responses().first();
}

void tst_UpstreamTls::expectTlsRefusal(const TestClient::Response &r)
{
    QCOMPARE(r.status, 502);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("api_error"));
    const QString message = errorMessage(r.body);
    QVERIFY2(message.contains(QLatin1String("TLS"))
                 || message.contains(QLatin1String("certificate"), Qt::CaseInsensitive),
             r.body.constData());
    // The handshake failed, so not a byte of the request reached the upstream.
    QTRY_VERIFY(m_mock->tlsHandshakeFailures() > 0);
    QVERIFY(m_mock->requests().isEmpty());
    QCOMPARE(m_mock->connectionCount(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 502);
}

void tst_UpstreamTls::forwardsOverTlsWhenTheCaIsTrusted()
{
    QVERIFY(m_mock->listenTls(m_certificate->serverCertificate(), m_certificate->serverKey()));
    QVERIFY(m_mock->baseUrl().startsWith("https://127.0.0.1:"));
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamCaFile = m_certificate->caCertificatePath();
    QCOMPARE(config.validate(), QString());
    QVERIFY(m_gateway->start(config));

    TestClient client;
    client.connectTo(m_gateway->port());

    // A JSON answer, byte for byte.
    const MockResponse json = MockUpstream::messageJson("claude-opus-4-8");
    m_mock->enqueue(json);
    const QByteArray jsonRequest = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":16,"
                                   "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    client.send("POST", "/v1/messages", auth(), jsonRequest);
    QVERIFY(client.waitForResponses(1, 10000));
    {
        const TestClient::Response &r = client.responses().at(0);
        QCOMPARE(r.status, 200);
        QVERIFY(r.complete);
        QCOMPARE(r.body, json.body);
    }

    // Then a stream on the same client connection: every event, as they were sent.
    const int gapMs = 20;
    const MockResponse stream = MockUpstream::messageStream("claude-opus-4-8", 5, gapMs);
    m_mock->enqueue(stream);
    const QByteArray streamRequest = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":16,"
                                     "\"stream\":true,"
                                     "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    client.send("POST", "/v1/messages", auth(), streamRequest);
    QVERIFY(client.waitForResponses(2, 10000));
    {
        const TestClient::Response &r = client.responses().at(1);
        QCOMPARE(r.status, 200);
        QVERIFY(r.complete);
        QCOMPARE(r.header("content-type"), QByteArray("text/event-stream"));
        QCOMPARE(r.body, eventStream(stream.events));
        // Decrypted and passed on as it came, not gathered up: 11 events 20 ms apart.
        QVERIFY2(r.bodyReads.size() >= 8, qPrintable(QString::number(r.bodyReads.size())));
        const qint64 span = r.bodyReads.last().atUs - r.bodyReads.first().atUs;
        const qint64 expected = qint64(stream.events.size() - 1) * gapMs * 1000;
        QVERIFY2(span >= expected * 7 / 10, qPrintable(QString::number(span)));
    }

    // The mock saw both requests as sent, with the upstream key and its own authority.
    QCOMPARE(m_mock->requests().size(), 2);
    const QByteArray authority = "127.0.0.1:" + QByteArray::number(m_mock->port());
    const QByteArray bodies[] = {jsonRequest, streamRequest};
    for (int i = 0; i < 2; ++i) {
        const MockRequest &request = m_mock->requests().at(i);
        QCOMPARE(request.method, QByteArray("POST"));
        QCOMPARE(request.target, QByteArray("/v1/messages"));
        QCOMPARE(request.header("x-api-key"), GatewayHarness::upstreamKey());
        QCOMPARE(request.headerCount("host"), 1);
        QCOMPARE(request.header("host"), authority);
        QCOMPARE(request.body, bodies[i]);
    }

    // One handshake for both: the second request went on the pooled TLS connection.
    QCOMPARE(m_mock->connectionCount(), 1);
    QCOMPARE(m_mock->tlsHandshakeFailures(), 0);
    QVERIFY(m_gateway->waitForRecords(2));
    QCOMPARE(m_gateway->records().at(0).status, 200);
    QCOMPARE(m_gateway->records().at(1).status, 200);
}

void tst_UpstreamTls::refusesUntrustedCertificate()
{
    // Signed by a CA the system does not know and the gateway was not told about.
    QVERIFY(m_mock->listenTls(m_certificate->serverCertificate(), m_certificate->serverKey()));
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    const TestClient::Response r = post("{\"model\":\"claude-opus-4-8\",\"max_tokens\":16}");
    expectTlsRefusal(r);
}

void tst_UpstreamTls::refusesWrongHostName()
{
    // A trusted CA, but the certificate names only localhost and the gateway asks for
    // 127.0.0.1.
    QVERIFY(m_mock->listenTls(m_localhostOnly->serverCertificate(), m_localhostOnly->serverKey()));
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamCaFile = m_localhostOnly->caCertificatePath();
    QVERIFY(m_gateway->start(config));
    const TestClient::Response r = post("{\"model\":\"claude-opus-4-8\",\"max_tokens\":16}");
    expectTlsRefusal(r);
    if (QTest::currentTestFailed())
        return;

    // Control: the same certificate and CA through the name it was issued for work, so the
    // refusal above was the name and nothing else.
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    m_gateway = new GatewayHarness(this);
    const QByteArray byName = "https://localhost:" + QByteArray::number(m_mock->port());
    config = GatewayHarness::configFor(byName);
    config.upstreamCaFile = m_localhostOnly->caCertificatePath();
    QVERIFY(m_gateway->start(config));
    const TestClient::Response ok = post("{\"model\":\"claude-opus-4-8\",\"max_tokens\":16}");
    QCOMPARE(ok.status, 200);
    QCOMPARE(m_mock->requests().size(), 1);
    QCOMPARE(m_mock->requests().first().header("host"),
             "localhost:" + QByteArray::number(m_mock->port()));
}

QTEST_GUILESS_MAIN(tst_UpstreamTls)
#include "tst_UpstreamTls.moc"
