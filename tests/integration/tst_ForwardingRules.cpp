// The request and response rules of the gateway, over real sockets against the mock
// upstream: what is forwarded byte for byte, what is rewritten, what is answered locally.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
QByteArray fixture(const char *name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + QLatin1String(name));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The Claude Code request headers from the fixture, in their order, with our key.
TestClient::Headers claudeCodeHeaders(const QByteArray &apiKey)
{
    const QJsonObject headers = QJsonDocument::fromJson(fixture("say-hi.turn1.request.json"))
                                    .object()
                                    .value(QLatin1String("headers"))
                                    .toObject();
    // QJsonObject sorts keys; the order of the capture is restored from the file text.
    const QByteArray text = fixture("say-hi.turn1.request.json");
    TestClient::Headers out;
    QList<QPair<qsizetype, QString>> positions;
    for (auto it = headers.begin(); it != headers.end(); ++it)
        positions.append(
            qMakePair(text.indexOf(QByteArray("\"" + it.key().toLatin1() + "\":")), it.key()));
    std::sort(positions.begin(), positions.end());
    for (const auto &p : positions) {
        const QByteArray name = p.second.toLatin1();
        if (name == "host" || name == "connection")
            continue;
        const QByteArray value =
            name == "x-api-key" ? apiKey : headers.value(p.second).toString().toUtf8();
        out.append({name, value});
    }
    return out;
}

} // namespace

class tst_ForwardingRules final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void forwardsClaudeCodeHeadersByteForByte();
    void replacesVirtualKeyWithUpstreamKey_data();
    void replacesVirtualKeyWithUpstreamKey();
    void stripsHopByHopHeadersBothWays();
    void keepsQueryStringAndPathPrefix();
    void resolvesUpstreamHostName();
    void forwardsBodyUnchanged();
    void forwardsResponseHeadersAndErrorBodiesUntouched();
    void answersHeadProbeAtOnceWithoutAuth_data();
    void answersHeadProbeAtOnceWithoutAuth();
    void forwardsCountTokensModelsAndBatches_data();
    void forwardsCountTokensModelsAndBatches();
    void refusesMissingOrWrongKey_data();
    void refusesMissingOrWrongKey();
    void passesSubscriptionLoginThroughUntouched();
    void answersUnknownPathsWithAnthropicNotFound();
    void servesHealthEndpoint();
    void reusesConnectionsBothWays();
    void answersPipelinedRequestsInOrder();
    void answersHttp10ClientWithCloseDelimitedStream();
    void acceptsChunkedRequestBody();
    void sendsContinueForExpect();
    void reportsFinishedRequestsWithTimings();

private:
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_ForwardingRules::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
}

void tst_ForwardingRules::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_ForwardingRules::forwardsClaudeCodeHeadersByteForByte()
{
    const TestClient::Headers sent = claudeCodeHeaders(GatewayHarness::virtualKey());
    QVERIFY(sent.size() > 15);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true", sent, fixture("say-hi.turn1.body.json"));
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().size(), 1);
    const MockRequest &got = m_mock->requests().first();

    // Every header except the credential arrives with the same name, value and order.
    TestClient::Headers expected;
    for (const auto &h : sent) {
        if (h.first == "x-api-key")
            continue;
        expected.append(h);
    }
    TestClient::Headers forwarded;
    for (const auto &h : got.headers) {
        const QByteArray lower = h.first.toLower();
        if (lower == "host" || lower == "x-api-key" || lower == "content-length")
            continue;
        forwarded.append(h);
    }
    QCOMPARE(forwarded, expected);
    QCOMPARE(
        got.header("anthropic-beta"),
        QByteArray("claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,"
                   "thinking-token-count-2026-05-13,context-management-2025-06-27,"
                   "prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,"
                   "effort-2025-11-24"));
    QCOMPARE(got.header("x-claude-code-session-id"),
             QByteArray("c8e25d8a-ea9b-4bcc-9f9e-420e53c64c85"));
    QCOMPARE(got.header("host"), QByteArray("127.0.0.1:" + QByteArray::number(m_mock->port())));
    QCOMPARE(got.headerCount("host"), 1);
}

void tst_ForwardingRules::replacesVirtualKeyWithUpstreamKey_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QByteArray>("value");
    QTest::newRow("x-api-key") << QByteArray("x-api-key") << GatewayHarness::virtualKey();
    QTest::newRow("bearer") << QByteArray("Authorization")
                            << QByteArray("Bearer " + GatewayHarness::virtualKey());
}

void tst_ForwardingRules::replacesVirtualKeyWithUpstreamKey()
{
    QFETCH(QByteArray, name);
    QFETCH(QByteArray, value);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", {{name, value}, {"anthropic-version", "2023-06-01"}}, "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    const MockRequest &got = m_mock->requests().first();
    QCOMPARE(got.header("x-api-key"), GatewayHarness::upstreamKey());
    QCOMPARE(got.headerCount("x-api-key"), 1);
    QVERIFY(got.header("authorization").isNull());
    QVERIFY(!got.rawHead.contains(GatewayHarness::virtualKey()));
}

void tst_ForwardingRules::stripsHopByHopHeadersBothWays()
{
    MockResponse response = MockUpstream::messageJson();
    response.headers = {{"Keep-Alive", "timeout=5"},
                        {"X-Upstream-Hop", "1"},
                        {"Connection", "X-Upstream-Hop"},
                        {"Proxy-Authenticate", "Basic"},
                        {"x-end-to-end", "kept"}};
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages",
                {{"x-api-key", GatewayHarness::virtualKey()},
                 {"Connection", "keep-alive, X-Client-Hop"},
                 {"X-Client-Hop", "secret"},
                 {"Keep-Alive", "timeout=9"},
                 {"TE", "trailers"},
                 {"Proxy-Authorization", "Basic eDp5"},
                 {"Upgrade-Insecure-Requests", "1"}},
                "{}");
    QVERIFY(client.waitForResponses(1));
    const MockRequest &got = m_mock->requests().first();
    for (const char *name : {"x-client-hop", "keep-alive", "te", "proxy-authorization"})
        QVERIFY2(got.header(name).isNull(), name);
    // Only the exact hop-by-hop names go; a header that merely starts alike stays.
    QCOMPARE(got.header("upgrade-insecure-requests"), QByteArray("1"));
    const TestClient::Response &r = client.responses().first();
    for (const char *name : {"keep-alive", "x-upstream-hop", "proxy-authenticate"})
        QVERIFY2(r.header(name).isNull(), name);
    QCOMPARE(r.header("x-end-to-end"), QByteArray("kept"));
}

void tst_ForwardingRules::keepsQueryStringAndPathPrefix()
{
    QVERIFY(m_gateway->stop());
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl() + "/gateway/anthropic/")));
    m_mock->setHandler([](const MockRequest &) { return MockUpstream::messageJson(); });
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true&x=%2Fy",
                {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(m_mock->requests().first().target,
             QByteArray("/gateway/anthropic/v1/messages?beta=true&x=%2Fy"));
}

void tst_ForwardingRules::resolvesUpstreamHostName()
{
    // "localhost" may resolve to ::1 first; the mock listens on 127.0.0.1 only.
    QVERIFY(m_gateway->stop());
    QVERIFY(m_gateway->start(
        GatewayHarness::configFor("http://localhost:" + QByteArray::number(m_mock->port()))));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().first().header("host"),
             QByteArray("localhost:" + QByteArray::number(m_mock->port())));
}

void tst_ForwardingRules::forwardsBodyUnchanged()
{
    // With prompt-cache injection off, not one byte changes (tst_CacheInjection covers it on).
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.cacheInjection.isEnabled = false;
    QVERIFY(m_gateway->stop());
    QVERIFY(m_gateway->start(config));
    const QByteArray body = fixture("tool-loop.turn2.body.json");
    QVERIFY(body.size() > 70000);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true", {{"x-api-key", GatewayHarness::virtualKey()}},
                body);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(m_mock->requests().first().body, body);
    QCOMPARE(m_mock->requests().first().header("content-length"), QByteArray::number(body.size()));
}

void tst_ForwardingRules::forwardsResponseHeadersAndErrorBodiesUntouched()
{
    MockResponse response;
    response.status = 429;
    response.reason = "Too Many Requests";
    response.headers = {{"request-id", "req_011CUpstream"},
                        {"retry-after", "17"},
                        {"x-should-retry", "true"},
                        {"anthropic-ratelimit-unified-status", "rejected"},
                        {"anthropic-ratelimit-unified-5h-utilization", "1.02"},
                        {"anthropic-ratelimit-requests-remaining", "0"},
                        {"content-type", "application/json"}};
    response.body =
        MockUpstream::errorBody("rate_limit_error", "This request would exceed your rate limit.");
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 429);
    QCOMPARE(r.reason, QByteArray("Too Many Requests"));
    for (const auto &h : response.headers)
        QCOMPARE(r.header(h.first), h.second);
    QCOMPARE(r.body, response.body);
}

void tst_ForwardingRules::answersHeadProbeAtOnceWithoutAuth_data()
{
    QTest::addColumn<QByteArray>("target");
    QTest::newRow("root") << QByteArray("/");
    QTest::newRow("api hello") << QByteArray("/api/hello");
    QTest::newRow("v1") << QByteArray("/v1/messages");
}

void tst_ForwardingRules::answersHeadProbeAtOnceWithoutAuth()
{
    QFETCH(QByteArray, target);
    TestClient client;
    client.connectTo(m_gateway->port());
    // As Claude Code sends it: no credential, user agent Bun.
    client.send("HEAD", target, {{"user-agent", "Bun/1.4.0"}, {"accept", "*/*"}});
    QVERIFY(client.waitForResponses(1, 2000));
    QCOMPARE(client.responses().first().status, 200);
    QVERIFY(client.responses().first().body.isEmpty());
    QCOMPARE(m_mock->requests().size(), 0);
    // The connection stays usable.
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(client.responses().at(1).status, 200);
}

void tst_ForwardingRules::forwardsCountTokensModelsAndBatches_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("target");
    QTest::newRow("count_tokens") << QByteArray("POST")
                                  << QByteArray("/v1/messages/count_tokens?beta=true");
    QTest::newRow("models") << QByteArray("GET") << QByteArray("/v1/models?limit=1000");
    QTest::newRow("model") << QByteArray("GET") << QByteArray("/v1/models/claude-opus-4-8");
    QTest::newRow("batch create") << QByteArray("POST") << QByteArray("/v1/messages/batches");
    QTest::newRow("batch cancel") << QByteArray("POST")
                                  << QByteArray("/v1/messages/batches/msgbatch_1/cancel");
    QTest::newRow("batch delete") << QByteArray("DELETE")
                                  << QByteArray("/v1/messages/batches/msgbatch_1");
    QTest::newRow("unknown v1") << QByteArray("GET") << QByteArray("/v1/files?limit=2");
}

void tst_ForwardingRules::forwardsCountTokensModelsAndBatches()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, target);
    MockResponse response;
    response.headers = {{"content-type", "application/json"}};
    response.body = "{\"input_tokens\":4242,\"from\":\"upstream\"}";
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send(method, target, {{"x-api-key", GatewayHarness::virtualKey()}},
                method == "POST" ? QByteArray("{\"model\":\"claude-opus-4-8\"}") : QByteArray());
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().body, response.body);
    QCOMPARE(m_mock->requests().size(), 1);
    QCOMPARE(m_mock->requests().first().method, method);
    QCOMPARE(m_mock->requests().first().target, target);
}

void tst_ForwardingRules::refusesMissingOrWrongKey_data()
{
    QTest::addColumn<TestClient::Headers>("headers");
    QTest::newRow("none") << TestClient::Headers {};
    QTest::newRow("wrong x-api-key")
        << TestClient::Headers {{"x-api-key", "sk-ant-api03-real-key"}};
    QTest::newRow("wrong bearer") << TestClient::Headers {{"authorization", "Bearer nope"}};
    QTest::newRow("empty") << TestClient::Headers {{"x-api-key", ""}};
}

void tst_ForwardingRules::refusesMissingOrWrongKey()
{
    QFETCH(TestClient::Headers, headers);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", headers, "{\"model\":\"x\"}");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 401);
    QCOMPARE(GatewayHarness::errorType(r.body), QStringLiteral("authentication_error"));
    QVERIFY(!r.header("request-id").isEmpty());
    QVERIFY(!r.body.contains("sk-ant-api03-real-key"));
    QCOMPARE(m_mock->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().last().status, 401);
}

void tst_ForwardingRules::passesSubscriptionLoginThroughUntouched()
{
    QVERIFY(m_gateway->stop());
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.passthroughAuth = true;
    QVERIFY(m_gateway->start(config));
    const QByteArray oauth = "Bearer sk-ant-oat01-subscription-token";
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send(
        "POST", "/v1/messages?beta=true",
        {{"Authorization", oauth}, {"anthropic-beta", "oauth-2025-04-20,claude-code-20250219"}},
        "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    const MockRequest &got = m_mock->requests().first();
    QCOMPARE(got.header("authorization"), oauth);
    QVERIFY(got.header("x-api-key").isNull());
    QCOMPARE(got.header("anthropic-beta"), QByteArray("oauth-2025-04-20,claude-code-20250219"));
    // The virtual key still gets swapped.
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(m_mock->requests().at(1).header("x-api-key"), GatewayHarness::upstreamKey());
    QVERIFY(m_gateway->waitForRecords(2));
    QVERIFY(m_gateway->records().at(0).isPassthroughAuth);
    QVERIFY(!m_gateway->records().at(1).isPassthroughAuth);
}

void tst_ForwardingRules::answersUnknownPathsWithAnthropicNotFound()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/admin", {{"x-api-key", GatewayHarness::virtualKey()}});
    client.send("GET", "/tollgate/nothing", {});
    client.send("GET", "/v1/../admin", {{"x-api-key", GatewayHarness::virtualKey()}});
    QVERIFY(client.waitForResponses(3));
    QCOMPARE(client.responses().at(0).status, 404);
    QCOMPARE(GatewayHarness::errorType(client.responses().at(0).body),
             QStringLiteral("not_found_error"));
    QCOMPARE(client.responses().at(1).status, 404);
    QCOMPARE(client.responses().at(2).status, 400);
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_ForwardingRules::servesHealthEndpoint()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/tollgate/health");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(QJsonDocument::fromJson(client.responses().first().body)
                 .object()
                 .value(QLatin1String("status"))
                 .toString(),
             QStringLiteral("ok"));
}

void tst_ForwardingRules::reusesConnectionsBothWays()
{
    TestClient client;
    client.connectTo(m_gateway->port());
    for (int i = 0; i < 5; ++i) {
        client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
        QVERIFY(client.waitForResponses(i + 1));
        QCOMPARE(client.responses().at(i).status, 200);
    }
    QVERIFY(!client.closedByServer());
    QCOMPARE(m_mock->requests().size(), 5);
    QCOMPARE(m_mock->connectionCount(), 1);
}

void tst_ForwardingRules::answersPipelinedRequestsInOrder()
{
    m_mock->setHandler([](const MockRequest &request) {
        MockResponse response;
        response.headers = {{"content-type", "application/json"}};
        response.body = "{\"echo\":" + request.body + "}";
        // The first answer is the slowest: order must still hold.
        response.firstByteDelayMs = request.body == "1" ? 150 : 0;
        return response;
    });
    QByteArray pipeline;
    for (const char *body : {"1", "2", "3"})
        pipeline += TestClient::request("POST", "/v1/messages",
                                        {{"x-api-key", GatewayHarness::virtualKey()}}, body);
    pipeline += TestClient::request("HEAD", "/");
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(pipeline);
    QVERIFY(client.waitForResponses(4));
    QCOMPARE(client.responses().at(0).body, QByteArray("{\"echo\":1}"));
    QCOMPARE(client.responses().at(1).body, QByteArray("{\"echo\":2}"));
    QCOMPARE(client.responses().at(2).body, QByteArray("{\"echo\":3}"));
    QCOMPARE(client.responses().at(3).status, 200);
}

void tst_ForwardingRules::answersHttp10ClientWithCloseDelimitedStream()
{
    // No chunked encoding for HTTP/1.0: the stream ends with the connection.
    m_mock->enqueue(MockUpstream::messageStream("claude-opus-4-8", 2, 5));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.0\r\nx-api-key: " + GatewayHarness::virtualKey()
                   + "\r\nContent-Length: 15\r\n\r\n{\"stream\":true}");
    QVERIFY(client.waitForClose());
    QVERIFY(client.received().startsWith("HTTP/1.1 200 "));
    QVERIFY(!client.received().contains("Transfer-Encoding: chunked"));
    QVERIFY(client.received().contains("Connection: close"));
    QVERIFY(
        client.received().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
}

void tst_ForwardingRules::acceptsChunkedRequestBody()
{
    const QByteArray head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: "
        + GatewayHarness::virtualKey() + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(head + "5\r\n{\"a\":\r\n");
    QTest::qWait(20);
    client.sendRaw("2\r\n1}\r\n0\r\n\r\n");
    QVERIFY(client.waitForResponses(1));
    const MockRequest &got = m_mock->requests().first();
    QCOMPARE(got.body, QByteArray("{\"a\":1}"));
    QCOMPARE(got.header("content-length"), QByteArray("7"));
    QVERIFY(got.header("transfer-encoding").isNull());
}

void tst_ForwardingRules::sendsContinueForExpect()
{
    const QByteArray body = "{\"model\":\"claude-opus-4-8\"}";
    const QByteArray head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: "
        + GatewayHarness::virtualKey() + "\r\nExpect: 100-continue\r\nContent-Length: "
        + QByteArray::number(body.size()) + "\r\n\r\n";
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw(head);
    QVERIFY(client.waitUntil([&] { return !client.interimResponses().isEmpty(); }));
    QCOMPARE(client.interimResponses().first().status, 100);
    client.sendRaw(body);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().first().body, body);
    QVERIFY(m_mock->requests().first().header("expect").isNull());
}

void tst_ForwardingRules::reportsFinishedRequestsWithTimings()
{
    m_mock->enqueue(MockUpstream::messageStream("claude-opus-4-8", 3, 30));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true",
                {{"x-api-key", GatewayHarness::virtualKey()},
                 {"x-claude-code-session-id", "4e580bf0-743a-437e-8de0-14e327152c1e"}},
                "{\"stream\":true}");
    QVERIFY(client.waitForResponses(1));
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QCOMPARE(record.status, 200);
    QVERIFY(record.isStreaming);
    QVERIFY(record.isComplete);
    QCOMPARE(record.method, QByteArray("POST"));
    QCOMPARE(record.target, QByteArray("/v1/messages?beta=true"));
    QCOMPARE(record.sessionId, QByteArray("4e580bf0-743a-437e-8de0-14e327152c1e"));
    QCOMPARE(record.requestBytes, qint64(15));
    QCOMPARE(record.responseBytes, qint64(client.responses().first().body.size()));
    QVERIFY(record.ttfbUs >= 0);
    // Seven events 30 ms apart take at least 150 ms in all.
    QVERIFY2(record.totalUs >= 150'000, qPrintable(QString::number(record.totalUs)));
    QVERIFY(record.totalUs >= record.ttfbUs);
    QVERIFY(record.error.isEmpty());
}

QTEST_GUILESS_MAIN(tst_ForwardingRules)
#include "tst_ForwardingRules.moc"
