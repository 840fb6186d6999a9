// The virtual key's own limits: requests and tokens per minute and streams at a time. A
// request over a limit is answered 429 in Anthropic's shape with an integer retry-after
// Claude Code honours (at most 60 s), never reaches the upstream, and is logged.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QTest>
#include <memory>
#include <vector>

using namespace tollgate;
using namespace tollgate::test;

namespace {
TestClient::Headers auth()
{
    return GatewayHarness::clientHeaders();
}
} // namespace

class tst_VirtualKeyLimits final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void refusesRequestsOverTheRequestRate();
    void admitsExactlyTheBucketWhenRequestsRaceForIt();
    void holdsBackAfterTheOutputTokensOfAnAnswer();
    void capsStreamsAtATime();

private:
    void start(const std::function<void(GatewayConfig &)> &adjust);
    TestClient::Response post(const QByteArray &body = R"({"model":"claude-opus-4-8"})");

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_VirtualKeyLimits::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_VirtualKeyLimits::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_VirtualKeyLimits::start(const std::function<void(GatewayConfig &)> &adjust)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    adjust(config);
    QVERIFY(m_gateway->start(config));
}

TestClient::Response tst_VirtualKeyLimits::post(const QByteArray &body)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_VirtualKeyLimits::refusesRequestsOverTheRequestRate()
{
    start([](GatewayConfig &config) { config.requestsPerMinute = 3; });
    for (int i = 0; i < 3; ++i)
        QCOMPARE(post().status, 200);
    const TestClient::Response refused = post();
    QCOMPARE(refused.status, 429);
    QCOMPARE(GatewayHarness::errorType(refused.body), QStringLiteral("rate_limit_error"));
    bool isNumber = false;
    const int seconds = refused.header("retry-after").toInt(&isNumber);
    QVERIFY2(isNumber && seconds >= 1 && seconds <= 60, refused.header("retry-after").constData());
    QCOMPARE(m_mock->requests().size(), 3); // the refused one never went upstream
    QVERIFY(m_gateway->waitForRecords(4));
    QCOMPARE(m_gateway->records().last().status, 429);
    QCOMPARE(m_gateway->records().last().errorType, QStringLiteral("rate_limit_error"));
}

void tst_VirtualKeyLimits::admitsExactlyTheBucketWhenRequestsRaceForIt()
{
    start([](GatewayConfig &config) { config.requestsPerMinute = 10; });
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 25; ++i) {
        clients.push_back(std::make_unique<TestClient>());
        clients.back()->connectTo(m_gateway->port());
        clients.back()->send("POST", "/v1/messages", auth(), R"({"model":"claude-opus-4-8"})");
    }
    int admitted = 0;
    int refused = 0;
    for (const auto &client : clients) {
        QVERIFY(client->waitForResponses(1));
        const int status = client->responses().first().status;
        admitted += status == 200 ? 1 : 0;
        refused += status == 429 ? 1 : 0;
    }
    QCOMPARE(admitted, 10);
    QCOMPARE(refused, 15);
    QCOMPARE(m_mock->requests().size(), 10);
}

void tst_VirtualKeyLimits::holdsBackAfterTheOutputTokensOfAnAnswer()
{
    // The mock's answer reports its usage; 2 output tokens a minute are less than it used.
    start([](GatewayConfig &config) { config.outputTokensPerMinute = 2; });
    QCOMPARE(post().status, 200);
    QVERIFY(m_gateway->waitForRecords(1));
    QVERIFY(m_gateway->records().first().usage.outputTokens > 2);
    // The usage reaches the limiter from the ledger thread: the next request is refused.
    TestClient::Response next;
    QVERIFY(QTest::qWaitFor(
        [&] {
            next = post();
            return next.status == 429;
        },
        5000));
    QVERIFY(next.body.contains("output tokens per minute"));
}

void tst_VirtualKeyLimits::capsStreamsAtATime()
{
    start([](GatewayConfig &config) { config.maxConcurrentStreams = 1; });
    m_mock->setHandler(
        [](const MockRequest &) { return MockUpstream::messageStream("claude-opus-4-8", 3, 300); });
    TestClient first;
    first.connectTo(m_gateway->port());
    first.send("POST", "/v1/messages", auth(), R"({"model":"claude-opus-4-8","stream":true})");
    QVERIFY(QTest::qWaitFor([&] { return m_mock->requests().size() == 1; }, 5000));
    // While the first stream runs, a second is refused.
    QCOMPARE(post(R"({"model":"claude-opus-4-8","stream":true})").status, 429);
    QVERIFY(first.waitForResponses(1, 10000));
    QCOMPARE(first.responses().first().status, 200);
    // Its slot is free again once it ended.
    QCOMPARE(post(R"({"model":"claude-opus-4-8","stream":true})").status, 200);
}

QTEST_GUILESS_MAIN(tst_VirtualKeyLimits)
#include "tst_VirtualKeyLimits.moc"
