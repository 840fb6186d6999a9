// Several upstream keys behind one virtual key: a request that meets a 429, a 529 or a
// refused key is sent again with the next key before the client sees anything, a limited
// key rests for the time the vendor asked, and a refused key stays out until the user acts.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QSignalSpy>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kKeyA = "sk-ant-api03-key-a-0123456789";
const QByteArray kKeyB = "sk-ant-api03-key-b-0123456789";

TestClient::Headers auth()
{
    return GatewayHarness::clientHeaders();
}

MockResponse errorAnswer(int status, const QByteArray &type,
                         const QList<QPair<QByteArray, QByteArray>> &headers = {})
{
    MockResponse response;
    response.status = status;
    response.headers = headers;
    response.headers.append(qMakePair(QByteArray("content-type"), QByteArray("application/json")));
    response.body =
        R"({"type":"error","error":{"type":")" + type + R"(","message":"from the mock"}})";
    return response;
}

QList<QByteArray> keysSeen(const MockUpstream &mock)
{
    QList<QByteArray> keys;
    for (const MockRequest &request : mock.requests())
        keys.append(request.header("x-api-key"));
    return keys;
}
} // namespace

class tst_KeyFailover final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void movesToTheNextKeyOnARateLimitAndRestsTheLimitedKey();
    void movesOnAfterOverloadedAndServerErrors_data();
    void movesOnAfterOverloadedAndServerErrors();
    void retriesAStreamBeforeItsFirstByte();
    void disablesARefusedKeyAndTellsTheApp();
    void passesTheLastAnswerOnWhenEveryKeyIsLimited();
    void answersWithRetryAfterWhileEveryKeyRests();
    void keepsASessionOnItsKeyWithAffinity();
    void neverSwapsAPassthroughCredential();

private:
    void startWithKeys(const std::function<void(GatewayConfig &)> &adjust = {});
    TestClient::Response post(const QByteArray &body = R"({"model":"claude-x"})",
                              const TestClient::Headers &extra = {});

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_KeyFailover::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_KeyFailover::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_KeyFailover::startWithKeys(const std::function<void(GatewayConfig &)> &adjust)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamKey.clear();
    config.upstreamKeys = {{QStringLiteral("a"), kKeyA}, {QStringLiteral("b"), kKeyB}};
    if (adjust)
        adjust(config);
    QVERIFY(m_gateway->start(config));
}

TestClient::Response tst_KeyFailover::post(const QByteArray &body, const TestClient::Headers &extra)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth() + extra, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_KeyFailover::movesToTheNextKeyOnARateLimitAndRestsTheLimitedKey()
{
    startWithKeys();
    m_mock->setHandler([](const MockRequest &request) {
        if (request.header("x-api-key") == kKeyA)
            return errorAnswer(429, "rate_limit_error", {{"retry-after", "30"}});
        return MockUpstream::messageJson();
    });
    const TestClient::Response first = post();
    QCOMPARE(first.status, 200);
    QCOMPARE(keysSeen(*m_mock), (QList<QByteArray> {kKeyA, kKeyB}));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 200);
    QCOMPARE(m_gateway->records().first().upstreamKeyAlias, QStringLiteral("b"));

    // Key a rests for its 30 s: the next requests go straight to b.
    m_mock->clear();
    QCOMPARE(post().status, 200);
    QCOMPARE(post().status, 200);
    QCOMPARE(keysSeen(*m_mock), (QList<QByteArray> {kKeyB, kKeyB}));
}

void tst_KeyFailover::movesOnAfterOverloadedAndServerErrors_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("type");
    QTest::newRow("529 overloaded") << 529 << QByteArray("overloaded_error");
    QTest::newRow("500 api error") << 500 << QByteArray("api_error");
    QTest::newRow("503") << 503 << QByteArray("api_error");
}

void tst_KeyFailover::movesOnAfterOverloadedAndServerErrors()
{
    QFETCH(int, status);
    QFETCH(QByteArray, type);
    startWithKeys();
    m_mock->enqueue(errorAnswer(status, type));
    const TestClient::Response response = post();
    QCOMPARE(response.status, 200);
    QCOMPARE(keysSeen(*m_mock), (QList<QByteArray> {kKeyA, kKeyB}));
}

void tst_KeyFailover::retriesAStreamBeforeItsFirstByte()
{
    startWithKeys();
    m_mock->enqueue(errorAnswer(429, "rate_limit_error", {{"retry-after", "5"}}));
    const TestClient::Response response = post(R"({"model":"claude-x","stream":true})");
    QCOMPARE(response.status, 200);
    QVERIFY(response.body.contains("event: message_stop"));
    QVERIFY(!response.body.contains("rate_limit_error"));
    QCOMPARE(keysSeen(*m_mock), (QList<QByteArray> {kKeyA, kKeyB}));
}

void tst_KeyFailover::disablesARefusedKeyAndTellsTheApp()
{
    startWithKeys();
    QSignalSpy disabled(&m_gateway->gateway(), &Gateway::upstreamKeyDisabled);
    m_mock->setHandler([](const MockRequest &request) {
        if (request.header("x-api-key") == kKeyA)
            return errorAnswer(401, "authentication_error");
        return MockUpstream::messageJson();
    });
    QCOMPARE(post().status, 200);
    QVERIFY(disabled.wait(2000) || disabled.size() == 1);
    QCOMPARE(disabled.first().at(0).toString(), QStringLiteral("a"));
    QVERIFY(!disabled.first().at(1).toString().contains(QString::fromLatin1(kKeyA)));
    // However long it waits, the refused key is not tried again.
    m_mock->clear();
    for (int i = 0; i < 4; ++i)
        QCOMPARE(post().status, 200);
    QCOMPARE(keysSeen(*m_mock), QList<QByteArray>(4, kKeyB));
}

void tst_KeyFailover::passesTheLastAnswerOnWhenEveryKeyIsLimited()
{
    startWithKeys();
    m_mock->setHandler([](const MockRequest &) {
        return errorAnswer(429, "rate_limit_error", {{"retry-after", "20"}});
    });
    const TestClient::Response response = post();
    // The vendor's own answer, untouched: Claude Code reads its retry-after and body.
    QCOMPARE(response.status, 429);
    QCOMPARE(response.header("retry-after"), QByteArray("20"));
    QVERIFY(response.body.contains("from the mock"));
    QCOMPARE(keysSeen(*m_mock), (QList<QByteArray> {kKeyA, kKeyB}));
}

void tst_KeyFailover::answersWithRetryAfterWhileEveryKeyRests()
{
    startWithKeys();
    m_mock->setHandler([](const MockRequest &) {
        return errorAnswer(429, "rate_limit_error", {{"retry-after", "20"}});
    });
    QCOMPARE(post().status, 429);
    m_mock->clear();
    const TestClient::Response response = post();
    QCOMPARE(response.status, 429);
    QVERIFY(m_mock->requests().isEmpty()); // nothing goes upstream while every key rests
    const int seconds = response.header("retry-after").toInt();
    QVERIFY2(seconds >= 19 && seconds <= 20, response.header("retry-after").constData());
    QCOMPARE(GatewayHarness::errorType(response.body), QStringLiteral("rate_limit_error"));
}

void tst_KeyFailover::keepsASessionOnItsKeyWithAffinity()
{
    startWithKeys([](GatewayConfig &config) { config.sessionAffinity = true; });
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(post(R"({"model":"claude-x"})", {{"x-claude-code-session-id", "s-1"}}).status,
                 200);
        QCOMPARE(post(R"({"model":"claude-x"})", {{"x-claude-code-session-id", "s-2"}}).status,
                 200);
    }
    const QList<QByteArray> keys = keysSeen(*m_mock);
    QCOMPARE(keys.size(), 6);
    // Each session stays on the key it first got; the two sessions are spread.
    QCOMPARE(keys[2], keys[0]);
    QCOMPARE(keys[4], keys[0]);
    QCOMPARE(keys[3], keys[1]);
    QCOMPARE(keys[5], keys[1]);
    QVERIFY(keys[0] != keys[1]);
}

void tst_KeyFailover::neverSwapsAPassthroughCredential()
{
    startWithKeys([](GatewayConfig &config) { config.passthroughAuth = true; });
    m_mock->enqueue(errorAnswer(429, "rate_limit_error", {{"retry-after", "10"}}));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages",
                {{"authorization", "Bearer sk-ant-oat01-subscription-token"},
                 {"anthropic-version", "2023-06-01"}},
                R"({"model":"claude-x"})");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 429); // the client's own limit, passed on
    QCOMPARE(m_mock->requests().size(), 1);
    QCOMPARE(m_mock->requests().first().header("authorization"),
             QByteArray("Bearer sk-ant-oat01-subscription-token"));
    QVERIFY(m_mock->requests().first().header("x-api-key").isNull());
}

QTEST_GUILESS_MAIN(tst_KeyFailover)
#include "tst_KeyFailover.moc"
