// Browser clients over real sockets: only origins on "cors_origins" get CORS permission, and a
// page of any other origin can neither read an answer nor make a request reach a key.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kAllowed = "https://app.example.com";
const QByteArray kEvil = "https://evil.example.net";

TestClient::Headers apiHeaders(const QByteArray &origin)
{
    TestClient::Headers headers = GatewayHarness::clientHeaders();
    headers.append(qMakePair(QByteArray("content-type"), QByteArray("application/json")));
    headers.append(
        qMakePair(QByteArray("anthropic-dangerous-direct-browser-access"), QByteArray("true")));
    if (!origin.isNull())
        headers.append(qMakePair(QByteArray("Origin"), origin));
    return headers;
}

TestClient::Headers preflight(const QByteArray &origin, const QByteArray &asked)
{
    return {{"Origin", origin},
            {"Access-Control-Request-Method", "POST"},
            {"Access-Control-Request-Headers", asked}};
}
} // namespace

class tst_Cors final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void allowedOriginPassesPreflightAndReadsTheAnswer();
    void otherOriginIsRefusedBeforeAnyKeyIsUsed();
    void nothingIsAllowedByDefault();
    void requestsWithoutOriginAreNotBrowserRequests();

private:
    TestClient::Response send(const QByteArray &method, const TestClient::Headers &headers,
                              const QByteArray &body = QByteArray());

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Cors::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_Cors::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

TestClient::Response tst_Cors::send(const QByteArray &method, const TestClient::Headers &headers,
                                    const QByteArray &body)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send(method, "/v1/messages", headers, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_Cors::allowedOriginPassesPreflightAndReadsTheAnswer()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.corsOrigins = {QString::fromLatin1(kAllowed)};
    QVERIFY(m_gateway->start(config));

    const TestClient::Response pre = send("OPTIONS",
                                          preflight(kAllowed,
                                                    "content-type, x-api-key, anthropic-version, "
                                                    "anthropic-dangerous-direct-browser-access"));
    QCOMPARE(pre.status, 204);
    QCOMPARE(pre.header("access-control-allow-origin"), kAllowed); // never "*"
    QVERIFY(pre.header("access-control-allow-methods").contains("POST"));
    const QByteArray allowedHeaders = pre.header("access-control-allow-headers");
    for (const char *name : {"x-api-key", "anthropic-version", "content-type",
                             "anthropic-dangerous-direct-browser-access"})
        QVERIFY2(allowedHeaders.contains(name), allowedHeaders.constData());
    // A header the API never uses is not granted.
    QCOMPARE(send("OPTIONS", preflight(kAllowed, "x-api-key, x-exfiltrate")).status, 403);

    // The vendor's own CORS headers give way to Tollgate's: one allow-origin, the page's.
    MockResponse answer = MockUpstream::messageJson();
    answer.headers.append(qMakePair(QByteArray("access-control-allow-origin"), QByteArray("*")));
    m_mock->enqueue(answer);
    const TestClient::Response response =
        send("POST", apiHeaders(kAllowed), R"({"model":"claude-opus-4-8","max_tokens":5})");
    QCOMPARE(response.status, 200);
    QCOMPARE(response.headerCount("access-control-allow-origin"), 1);
    QCOMPARE(response.header("access-control-allow-origin"), kAllowed);
    QVERIFY(response.header("access-control-expose-headers").contains("request-id"));
    QCOMPARE(m_mock->requests().size(), 1);
}

void tst_Cors::otherOriginIsRefusedBeforeAnyKeyIsUsed()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.corsOrigins = {QString::fromLatin1(kAllowed)};
    QVERIFY(m_gateway->start(config));

    const TestClient::Response pre = send("OPTIONS", preflight(kEvil, "x-api-key"));
    QCOMPARE(pre.status, 403);
    QVERIFY(pre.header("access-control-allow-origin").isNull());
    QCOMPARE(GatewayHarness::errorType(pre.body), QStringLiteral("permission_error"));

    // Even with a valid key (a page that got hold of one, or a "simple" request the browser
    // sends without asking), nothing reaches the vendor.
    for (const QByteArray &origin :
         {kEvil, QByteArray("null"), QByteArray("http://app.example.com")}) {
        const TestClient::Response refused =
            send("POST", apiHeaders(origin), R"({"model":"claude-opus-4-8","max_tokens":5})");
        QCOMPARE(refused.status, 403);
        QVERIFY(refused.header("access-control-allow-origin").isNull());
        QVERIFY(refused.body.contains("cors_origins"));
    }
    QCOMPARE(m_mock->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(4));
    QCOMPARE(m_gateway->records().last().status, 403);
}

void tst_Cors::nothingIsAllowedByDefault()
{
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    QCOMPARE(send("OPTIONS", preflight(kAllowed, "x-api-key")).status, 403);
    QCOMPARE(send("POST", apiHeaders(kAllowed), R"({"model":"claude-opus-4-8"})").status, 403);
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_Cors::requestsWithoutOriginAreNotBrowserRequests()
{
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    const TestClient::Response response =
        send("POST", apiHeaders(QByteArray()), R"({"model":"claude-opus-4-8","max_tokens":5})");
    QCOMPARE(response.status, 200);
    QVERIFY(response.header("access-control-allow-origin").isNull());
    // A plain OPTIONS learns the methods and nothing about CORS.
    const TestClient::Response options = send("OPTIONS", {});
    QCOMPARE(options.status, 204);
    QVERIFY(options.header("allow").contains("POST"));
    QVERIFY(options.header("access-control-allow-origin").isNull());
}

QTEST_GUILESS_MAIN(tst_Cors)
#include "tst_Cors.moc"
