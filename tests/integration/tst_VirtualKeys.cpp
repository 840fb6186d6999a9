// Named virtual keys over real sockets: each has its own billing tag, model list, limits,
// budget and on/off switch; budgets of keys and billing tags count from the request log and
// survive a restart; keys change while the gateway runs.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"
#include "store/LedgerStore.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
constexpr qint64 kPicoPerUsd = 1000LL * 1000 * 1000 * 1000;
// With these prices every answer of the mock (12 input, 7 output tokens) costs $0.019.
constexpr qint64 kRequestCost = 19 * kPicoPerUsd / 1000;

const QByteArray kAlice = "tg-AliceAliceAliceAliceAliceAliceAliceAlice123";
const QByteArray kBob = "tg-BobBobBobBobBobBobBobBobBobBobBobBobBob12345";
const QByteArray kCarol = "tg-CarolCarolCarolCarolCarolCarolCarolCarol123";

VirtualKey key(const QString &alias, const QByteArray &secret, const QString &tag = QString())
{
    VirtualKey k;
    k.alias = alias;
    k.secret = secret;
    k.billingTag = tag;
    return k;
}

TestClient::Headers headersFor(const QByteArray &secret)
{
    return {{"x-api-key", secret},
            {"anthropic-version", "2023-06-01"},
            {"content-type", "application/json"}};
}
} // namespace

class tst_VirtualKeys final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void eachKeyHasItsOwnTagAndLimits();
    void keyOnlyReachesItsModels();
    void disabledKeyIsRefusedBeforeItsBody();
    void budgetWarnsAtEightyPercentAndStopsAtTheCap();
    void usedUpBudgetStaysUsedUpAfterARestart();
    void tagBudgetCountsEveryKeyOfTheTag();
    void keysChangeWhileRunning();
    void upstreamKeysChangeWhileRunningAndReportHeadroom();

private:
    GatewayConfig config();
    TestClient::Response post(const QByteArray &secret,
                              const QByteArray &body = R"({"model":"claude-opus-4-8"})",
                              const QByteArray &path = "/v1/messages",
                              const TestClient::Headers &extra = {});

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_VirtualKeys::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    m_dir = std::make_unique<QTemporaryDir>();
}

void tst_VirtualKeys::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
    m_dir.reset();
}

GatewayConfig tst_VirtualKeys::config()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.priceOverrides = QJsonDocument::fromJson(
                                R"({"claude-opus-4-8": {"input": "1000", "output": "1000"},
                                    "claude-haiku-4-5": {"input": "1000", "output": "1000"}})")
                                .object();
    return config;
}

TestClient::Response tst_VirtualKeys::post(const QByteArray &secret, const QByteArray &body,
                                           const QByteArray &path, const TestClient::Headers &extra)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", path, headersFor(secret) + extra, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_VirtualKeys::eachKeyHasItsOwnTagAndLimits()
{
    GatewayConfig c = config();
    VirtualKey alice = key(QStringLiteral("alice"), kAlice, QStringLiteral("team-a"));
    alice.limits.requestsPerMinute = 2;
    c.namedVirtualKeys = {alice, key(QStringLiteral("bob"), kBob, QStringLiteral("team-b"))};
    QVERIFY(m_gateway->start(c));

    QCOMPARE(post(kAlice).status, 200);
    QCOMPARE(post(kAlice, R"({"model":"claude-opus-4-8"})", "/v1/messages",
                  {{"x-tollgate-tag", "spike-42"}})
                 .status,
             200);
    const TestClient::Response limited = post(kAlice);
    QCOMPARE(limited.status, 429);
    QVERIFY(!limited.header("retry-after").isEmpty());
    // Bob's bucket is his own.
    for (int i = 0; i < 5; ++i)
        QCOMPARE(post(kBob).status, 200);
    // The default key still works beside them.
    QCOMPARE(post(GatewayHarness::virtualKey()).status, 200);

    QVERIFY(m_gateway->waitForRecords(9));
    const QList<RequestRecord> &records = m_gateway->records();
    QCOMPARE(records.at(0).virtualKeyAlias, QStringLiteral("alice"));
    QCOMPARE(records.at(0).billingTag, QStringLiteral("team-a"));
    QCOMPARE(records.at(1).billingTag, QStringLiteral("spike-42")); // the request's own tag
    QCOMPARE(records.at(2).virtualKeyAlias, QStringLiteral("alice"));
    QCOMPARE(records.at(2).status, 429);
    QCOMPARE(records.at(3).virtualKeyAlias, QStringLiteral("bob"));
    QCOMPARE(records.at(3).billingTag, QStringLiteral("team-b"));
    QCOMPARE(records.at(8).virtualKeyAlias, QStringLiteral("default"));
    QCOMPARE(m_mock->requests().size(), 8);
    // The upstream saw the pooled key, never a virtual one.
    for (const MockRequest &request : m_mock->requests())
        QCOMPARE(request.header("x-api-key"), GatewayHarness::upstreamKey());
}

void tst_VirtualKeys::keyOnlyReachesItsModels()
{
    GatewayConfig c = config();
    VirtualKey ci = key(QStringLiteral("ci"), kAlice);
    ci.models = {QStringLiteral("claude-haiku-*")};
    c.namedVirtualKeys = {ci};
    QVERIFY(m_gateway->start(c));

    QCOMPARE(post(kAlice, R"({"model":"claude-haiku-4-5","max_tokens":5})").status, 200);
    const TestClient::Response opus = post(kAlice, R"({"max_tokens":5,"model":"claude-opus-4-8"})");
    QCOMPARE(opus.status, 403);
    QCOMPARE(GatewayHarness::errorType(opus.body), QStringLiteral("permission_error"));
    QVERIFY2(opus.body.contains("claude-opus-4-8") && opus.body.contains("claude-haiku-*"),
             opus.body.constData());
    // count_tokens names its model too.
    QCOMPARE(post(kAlice, R"({"model":"claude-opus-4-8"})", "/v1/messages/count_tokens").status,
             403);
    // A batch may not smuggle another model in.
    const QByteArray batch = R"({"requests":[
        {"custom_id":"a","params":{"model":"claude-haiku-4-5","max_tokens":5}},
        {"custom_id":"b","params":{"max_tokens":5,"model":"claude-opus-4-8"}}]})";
    QCOMPARE(post(kAlice, batch, "/v1/messages/batches").status, 403);
    // A body that is not JSON names no model: refused for a key with a list.
    QCOMPARE(post(kAlice, "not json").status, 403);
    // Listing models names none and is allowed.
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/v1/models", headersFor(kAlice), QByteArray());
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().size(), 2); // the haiku request and the model list
}

void tst_VirtualKeys::disabledKeyIsRefusedBeforeItsBody()
{
    GatewayConfig c = config();
    VirtualKey off = key(QStringLiteral("old-laptop"), kAlice, QStringLiteral("laptops"));
    off.isEnabled = false;
    c.namedVirtualKeys = {off};
    QVERIFY(m_gateway->start(c));
    // The head says 10 MB are coming; the answer comes without them.
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: " + kAlice
                   + "\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response response = client.responses().first();
    QCOMPARE(response.status, 401);
    QCOMPARE(GatewayHarness::errorType(response.body), QStringLiteral("authentication_error"));
    QVERIFY2(response.body.contains("old-laptop") && response.body.contains("disabled"),
             response.body.constData());
    QVERIFY(!response.body.contains(kAlice));
    QCOMPARE(m_mock->requests().size(), 0);
    // The log names the refused key and its tag.
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 401);
    QCOMPARE(m_gateway->records().first().virtualKeyAlias, QStringLiteral("old-laptop"));
    QCOMPARE(m_gateway->records().first().billingTag, QStringLiteral("laptops"));
}

void tst_VirtualKeys::budgetWarnsAtEightyPercentAndStopsAtTheCap()
{
    GatewayConfig c = config();
    VirtualKey alice = key(QStringLiteral("alice"), kAlice);
    // Two requests are exactly 80 %, the third reaches the cap.
    alice.budget.dailyPicoUsd = kRequestCost * 5 / 2;
    c.namedVirtualKeys = {alice};
    QSignalSpy budget(&m_gateway->gateway(), &Gateway::budgetChanged);
    QVERIFY(m_gateway->start(c));

    QCOMPARE(post(kAlice).status, 200);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().costPicoUsd.value_or(-1), kRequestCost);
    QCOMPARE(post(kAlice).status, 200);
    QVERIFY(QTest::qWaitFor([&] { return budget.count() == 1; }, 5000));
    auto status = budget.at(0).at(0).value<SpendTracker::Status>();
    QCOMPARE(status.verdict.level, BudgetGuard::Level::Warning);
    QCOMPARE(status.name, QStringLiteral("alice"));
    QCOMPARE(status.dayPicoUsd, 2 * kRequestCost);

    QCOMPARE(post(kAlice).status, 200);
    QVERIFY(QTest::qWaitFor([&] { return budget.count() == 2; }, 5000));
    status = budget.at(1).at(0).value<SpendTracker::Status>();
    QCOMPARE(status.verdict.level, BudgetGuard::Level::Exhausted);

    const TestClient::Response refused = post(kAlice);
    QCOMPARE(refused.status, 429);
    QCOMPARE(GatewayHarness::errorType(refused.body), QStringLiteral("rate_limit_error"));
    // Claude Code shows this instead of retrying into the cap.
    QCOMPARE(refused.header("x-should-retry"), QByteArray("false"));
    QVERIFY(refused.header("retry-after").isNull());
    QVERIFY2(refused.body.contains("daily budget") && refused.body.contains("alice"),
             refused.body.constData());
    QCOMPARE(m_mock->requests().size(), 3);
    QVERIFY(m_gateway->waitForRecords(4));
    QCOMPARE(m_gateway->records().last().status, 429);
    QCOMPARE(budget.count(), 2); // no more notices
}

void tst_VirtualKeys::usedUpBudgetStaysUsedUpAfterARestart()
{
    const QString dbPath = m_dir->filePath(QStringLiteral("requests.sqlite"));
    GatewayConfig c = config();
    c.store = StoreConfig::sqlite(dbPath);
    VirtualKey alice = key(QStringLiteral("alice"), kAlice, QStringLiteral("team-a"));
    alice.budget.monthlyPicoUsd = 2 * kRequestCost;
    c.namedVirtualKeys = {alice, key(QStringLiteral("bob"), kBob, QStringLiteral("team-a"))};
    QVERIFY(m_gateway->start(c, 20'000));
    QCOMPARE(post(kAlice).status, 200);
    QCOMPARE(post(kAlice).status, 200);
    QVERIFY(m_gateway->waitForRecords(2));
    QVERIFY(m_gateway->stop(20'000)); // the rows are in the log once stopped

    QSignalSpy budget(&m_gateway->gateway(), &Gateway::budgetChanged);
    QVERIFY(m_gateway->start(c, 20'000));
    // The very first request after the restart is already refused.
    const TestClient::Response refused = post(kAlice);
    QCOMPARE(refused.status, 429);
    QVERIFY2(refused.body.contains("monthly budget"), refused.body.constData());
    QCOMPARE(budget.count(), 1); // the log's spend put alice at 100 %
    QCOMPARE(post(kBob).status, 200); // bob has no budget of his own
    QCOMPARE(m_mock->requests().size(), 3);
}

void tst_VirtualKeys::tagBudgetCountsEveryKeyOfTheTag()
{
    GatewayConfig c = config();
    c.namedVirtualKeys = {key(QStringLiteral("alice"), kAlice, QStringLiteral("team-a")),
                          key(QStringLiteral("bob"), kBob, QStringLiteral("team-a")),
                          key(QStringLiteral("carol"), kCarol, QStringLiteral("team-b"))};
    c.tagBudgets.insert(QStringLiteral("team-a"), {kRequestCost * 2, 0});
    QVERIFY(m_gateway->start(c));
    QCOMPARE(post(kAlice).status, 200);
    QCOMPARE(post(kBob).status, 200);
    QVERIFY(m_gateway->waitForRecords(2));
    TestClient::Response refused;
    QVERIFY(QTest::qWaitFor(
        [&] {
            refused = post(kBob);
            return refused.status == 429;
        },
        5000));
    QVERIFY2(refused.body.contains("billing tag") && refused.body.contains("team-a"),
             refused.body.constData());
    QCOMPARE(post(kAlice).status, 429);
    QCOMPARE(post(kCarol).status, 200); // another tag
    // A request's own tag counts against that tag's budget.
    QCOMPARE(post(kCarol, R"({"model":"claude-opus-4-8"})", "/v1/messages",
                  {{"x-tollgate-tag", "team-a"}})
                 .status,
             429);
}

void tst_VirtualKeys::keysChangeWhileRunning()
{
    GatewayConfig c = config();
    c.namedVirtualKeys = {key(QStringLiteral("alice"), kAlice)};
    QVERIFY(m_gateway->start(c));
    QCOMPARE(post(kAlice).status, 200);
    QCOMPARE(post(kCarol).status, 401);

    // Carol is added and alice rotated away, without a restart.
    m_gateway->gateway().setVirtualKeys({key(QStringLiteral("carol"), kCarol)});
    TestClient::Response carol;
    QVERIFY(QTest::qWaitFor(
        [&] {
            carol = post(kCarol);
            return carol.status == 200;
        },
        5000));
    QCOMPARE(post(kAlice).status, 401);
    QCOMPARE(m_gateway->gateway().config().namedVirtualKeys.size(), 1);
    QCOMPARE(post(GatewayHarness::virtualKey()).status, 200); // the default key stays
}

void tst_VirtualKeys::upstreamKeysChangeWhileRunningAndReportHeadroom()
{
    m_mock->setHandler([](const MockRequest &request) {
        MockResponse response = MockUpstream::messageJson();
        const bool isSecond = request.header("x-api-key") == "sk-ant-api03-second-key-000000";
        response.headers.emplaceBack("anthropic-ratelimit-requests-limit", "50");
        response.headers.emplaceBack("anthropic-ratelimit-requests-remaining",
                                     isSecond ? "40" : "49");
        response.headers.emplaceBack("anthropic-ratelimit-tokens-limit", "10000");
        response.headers.emplaceBack("anthropic-ratelimit-tokens-remaining",
                                     isSecond ? "9000" : "9981");
        return response;
    });
    QVERIFY(m_gateway->start(config()));
    QCOMPARE(post(GatewayHarness::virtualKey()).status, 200);
    m_gateway->gateway().addUpstreamKey(QStringLiteral("second"), "sk-ant-api03-second-key-000000");
    // Round robin reaches the new key.
    QVERIFY(QTest::qWaitFor(
        [&] {
            post(GatewayHarness::virtualKey());
            return m_mock->requests().last().header("x-api-key")
                == "sk-ant-api03-second-key-000000";
        },
        5000));

    QSignalSpy status(&m_gateway->gateway(), &Gateway::keyStatus);
    m_gateway->gateway().requestKeyStatus();
    QVERIFY(status.wait(5000));
    const auto keys = status.at(0).at(0).value<QList<KeyPool::KeySnapshot>>();
    const auto headroom = status.at(0).at(1).value<KeyPool::Headroom>();
    QCOMPARE(keys.size(), 2);
    QCOMPARE(headroom.healthyKeys, 2);
    QCOMPARE(headroom.requests.limit, 100);
    QCOMPARE(headroom.requests.remaining, 89);
    QCOMPARE(headroom.tokens.remaining, 18981);

    // Turned off, the first key carries nothing more.
    m_gateway->gateway().setUpstreamKeyEnabled(QStringLiteral("default"), false);
    QTest::qWait(100);
    m_mock->clear();
    for (int i = 0; i < 4; ++i)
        QCOMPARE(post(GatewayHarness::virtualKey()).status, 200);
    for (const MockRequest &request : m_mock->requests())
        QCOMPARE(request.header("x-api-key"), QByteArray("sk-ant-api03-second-key-000000"));
}

QTEST_MAIN(tst_VirtualKeys)
#include "tst_VirtualKeys.moc"
