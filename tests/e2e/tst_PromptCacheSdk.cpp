// A plain conversation with the official TypeScript SDK (npm @anthropic-ai/sdk), which
// sends no cache_control of its own, through Tollgate to the mock upstream's prompt-cache
// simulation: with cache injection on, every turn after the first reads from the cache (in
// the usage the SDK gets and in the request log the gateway writes), the upstream never sees
// more than 4 markers, and the conversation costs less than the same one with injection off.
#include "ClientRun.h"
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"
#include "store/LedgerStore.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <limits>

using namespace tollgate;
using namespace tollgate::test;

namespace {

constexpr int kTurns = 6; // sdk-conversation.mjs
// sdk-conversation.mjs talks to claude-sonnet-4-6, which caches no prefix shorter than 1024
// tokens (Anthropic's prompt-caching guide; research/protocol.md section 5).
constexpr int kMinimumCacheTokens = 1024;
constexpr char kMarker[] = R"("cache_control":{"type":"ephemeral"})";

// One run of sdk-conversation.mjs and what every party saw of it.
struct Conversation
{
    QList<QJsonObject> usages; // per turn, the usage object the SDK returned
    QList<bool> isStreaming; // per turn, whether the script streamed it
    QList<MockCacheReport> reports; // per request, what the upstream received and answered
    QList<RequestRecord> rows; // the request log, in time order
    qint64 costPicoUsd = 0; // summed over the rows
};

qint64 count(const QJsonObject &usage, const char *name)
{
    return usage.value(QLatin1String(name)).toInteger();
}

QList<RequestRecord> readRows(const QString &path)
{
    QList<RequestRecord> rows;
    LedgerStore store(StoreConfig::sqlite(path));
    if (!store.open())
        return rows;
    store.forEachRow(0, std::numeric_limits<qint64>::max(), [&](const RequestRecord &row) {
        rows.append(row);
        return true;
    });
    return rows;
}

QString dollars(qint64 picoUsd)
{
    return QStringLiteral("$%1").arg(double(picoUsd) / 1e12, 0, 'f', 6);
}

// A Messages body straight to the mock (no gateway): a system prompt of `systemBlocks`
// blocks of 5 KB each (about 1280 of the mock's tokens, over the minimum), those listed in
// `marked` carrying a marker, then `extraTurns` user/assistant pairs and a last user
// message (a string, or an array of `lastUserBlocks` text blocks), and a top-level marker if
// asked for.
QByteArray cacheProbe(int systemBlocks, const QList<int> &marked, int extraTurns = 0,
                      bool hasTopLevelMarker = false, int lastUserBlocks = 1)
{
    QByteArray body = R"({"model":"claude-sonnet-4-6","max_tokens":16,"system":[)";
    for (int i = 0; i < systemBlocks; ++i) {
        if (i > 0)
            body += ',';
        // Plain literals here and below: moc (6.4) loses track of a raw string whose text
        // ends in a quote, or in a quote and a letter, and then misses the test class.
        body += "{\"type\":\"text\",\"text\":\"";
        body += QByteArray("Block " + QByteArray::number(i) + ' ').repeated(640);
        body += '"';
        if (marked.contains(i))
            body += QByteArray(",") + kMarker;
        body += '}';
    }
    body += R"(],"messages":[)";
    for (int i = 0; i < extraTurns; ++i) {
        body += "{\"role\":\"user\",\"content\":\"q" + QByteArray::number(i)
            + "\"},{\"role\":\"assistant\",\"content\":\"a" + QByteArray::number(i) + "\"},";
    }
    if (lastUserBlocks == 1) {
        body += R"({"role":"user","content":"go"}])";
    } else {
        body += R"({"role":"user","content":[)";
        for (int i = 0; i < lastUserBlocks; ++i)
            body += (i > 0 ? "," : "") + QByteArray(R"({"type":"text","text":"go )")
                + QByteArray::number(i) + "\"}";
        body += "]}]";
    }
    if (hasTopLevelMarker)
        body += QByteArray(",") + kMarker;
    return body + '}';
}

} // namespace

class tst_PromptCacheSdk final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    // The mock's cache follows the API's rules, so the figures below mean something.
    void mockRefusesMoreThanFourMarkers();
    void mockReadsOnlyWhatAnEarlierRequestWroteWithinTheLookback();

    void firstTurnWritesAndEveryLaterTurnReadsTheCache();
    void upstreamNeverSeesMoreThanFourMarkers();
    void withoutInjectionNoTurnReadsTheCache();
    void injectionLowersTheConversationsCost();

private:
    void converse(bool isInjecting, Conversation *conversation);
    // Posts the body straight to the mock; what its cache made of it.
    MockCacheReport probe(MockUpstream &mock, const QByteArray &body,
                          TestClient::Response *response = nullptr);

    Conversation m_injected;
    Conversation m_control;
};

void tst_PromptCacheSdk::initTestCase()
{
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("@anthropic-ai/sdk")),
             "Node packages missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
    converse(true, &m_injected);
    if (QTest::currentTestFailed())
        return;
    converse(false, &m_control);
    if (QTest::currentTestFailed())
        return;
    for (int turn = 0; turn < kTurns; ++turn) {
        const QString shape = m_injected.isStreaming.at(turn) ? QStringLiteral("streaming")
                                                              : QStringLiteral("non-streaming");
        const QJsonObject &injected = m_injected.usages.at(turn);
        qInfo().noquote() << QStringLiteral("turn %1 (%2): injected: %3 markers added, cache "
                                            "reads %4, writes %5; without injection: cache "
                                            "reads %6")
                                 .arg(turn + 1)
                                 .arg(shape)
                                 .arg(m_injected.rows.at(turn).cacheMarkersAdded)
                                 .arg(count(injected, "cache_read_input_tokens"))
                                 .arg(count(injected, "cache_creation_input_tokens"))
                                 .arg(count(m_control.usages.at(turn), "cache_read_input_tokens"));
    }
    qInfo().noquote() << QStringLiteral("conversation cost: %1 injected, %2 without injection")
                             .arg(dollars(m_injected.costPicoUsd), dollars(m_control.costPicoUsd));
}

// Runs sdk-conversation.mjs through a gateway with a SQLite request log, cache injection on
// or off, to a mock with the prompt cache on.
void tst_PromptCacheSdk::converse(bool isInjecting, Conversation *conversation)
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dbPath = dir.filePath(QStringLiteral("requests.sqlite"));
    MockUpstream mock;
    mock.enablePromptCache(kMinimumCacheTokens);
    QVERIFY(mock.listen());
    GatewayHarness gateway;
    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.store = StoreConfig::sqlite(dbPath);
    config.cacheInjection.isEnabled = isInjecting;
    QVERIFY(gateway.start(config));

    ClientRun node;
    QVERIFY(node.runNode(QStringLiteral("sdk-conversation.mjs"),
                         ClientRun::anthropicEnvironment(gateway.port())));
    QVERIFY2(node.hasSucceeded(), node.errors().constData());

    const QList<QByteArray> lines = node.output().trimmed().split('\n');
    for (const QByteArray &line : lines) {
        const QJsonObject turn = QJsonDocument::fromJson(line).object();
        conversation->usages.append(turn.value(QLatin1String("usage")).toObject());
        conversation->isStreaming.append(turn.value(QLatin1String("streaming")).toBool());
    }
    QCOMPARE(conversation->usages.size(), kTurns);
    conversation->reports = mock.cacheReports();
    QCOMPARE(conversation->reports.size(), kTurns);

    // stopped() comes after the last row reached the request log.
    QVERIFY(gateway.stop());
    conversation->rows = readRows(dbPath);
    QCOMPARE(conversation->rows.size(), kTurns);
    for (int turn = 0; turn < kTurns; ++turn) {
        const RequestRecord &row = conversation->rows.at(turn);
        QCOMPARE(row.status, 200);
        QCOMPARE(row.model, QStringLiteral("claude-sonnet-4-6"));
        QCOMPARE(row.isStreaming, conversation->isStreaming.at(turn));
        QCOMPARE(row.isStreaming, turn % 2 == 1); // the turns alternate
        QVERIFY2(row.costPicoUsd.has_value(), "claude-sonnet-4-6 has a price");
        conversation->costPicoUsd += *row.costPicoUsd;
        // The SDK got the usage the mock worked out, and the log recorded the same.
        const QJsonObject &usage = conversation->usages.at(turn);
        const MockUsage &answered = conversation->reports.at(turn).usage;
        QCOMPARE(count(usage, "input_tokens"), answered.inputTokens);
        QCOMPARE(count(usage, "cache_creation_input_tokens"), answered.cacheCreationTokens());
        QCOMPARE(count(usage, "cache_read_input_tokens"), answered.cacheReadTokens);
        QCOMPARE(row.usage.inputTokens, answered.inputTokens);
        QCOMPARE(row.usage.cacheWriteTokens(), answered.cacheCreationTokens());
        QCOMPARE(row.usage.cacheReadTokens, answered.cacheReadTokens);
        // The script sends no marker: every one the upstream saw is the gateway's.
        QCOMPARE(row.cacheMarkersAdded, qint64(conversation->reports.at(turn).markers));
    }
}

MockCacheReport tst_PromptCacheSdk::probe(MockUpstream &mock, const QByteArray &body,
                                          TestClient::Response *response)
{
    TestClient client;
    client.connectTo(mock.port());
    const qsizetype before = mock.cacheReports().size();
    client.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), body);
    if (!client.waitForResponses(1) || mock.cacheReports().size() != before + 1)
        return {};
    if (response)
        *response = client.responses().first();
    return mock.cacheReports().last();
}

void tst_PromptCacheSdk::mockRefusesMoreThanFourMarkers()
{
    MockUpstream mock;
    mock.enablePromptCache(kMinimumCacheTokens);
    QVERIFY(mock.listen());

    // Four block markers and a top-level one: the API's 400.
    TestClient::Response refused;
    const MockCacheReport five = probe(mock, cacheProbe(4, {0, 1, 2, 3}, 0, true), &refused);
    QCOMPARE(five.markers, 5);
    QCOMPARE(five.status, 400);
    QCOMPARE(refused.status, 400);
    QCOMPARE(GatewayHarness::errorType(refused.body), QStringLiteral("invalid_request_error"));
    QCOMPARE(QJsonDocument::fromJson(refused.body)
                 .object()
                 .value(QLatin1String("error"))
                 .toObject()
                 .value(QLatin1String("message"))
                 .toString(),
             QStringLiteral("A maximum of 4 blocks with cache_control may be provided. Found 5."));

    // Four are fine.
    TestClient::Response accepted;
    const MockCacheReport four = probe(mock, cacheProbe(4, {0, 1, 2}, 0, true), &accepted);
    QCOMPARE(accepted.status, 200);
    QCOMPARE(four.markers, 4);
    QCOMPARE(four.breakpoints, 4);
}

void tst_PromptCacheSdk::mockReadsOnlyWhatAnEarlierRequestWroteWithinTheLookback()
{
    MockUpstream mock;
    mock.enablePromptCache(kMinimumCacheTokens);
    QVERIFY(mock.listen());

    // No marker: nothing read or written.
    const MockCacheReport unmarked = probe(mock, cacheProbe(2, {}));
    QCOMPARE(unmarked.markers, 0);
    QVERIFY(unmarked.usage.inputTokens > 0);
    QCOMPARE(unmarked.usage.cacheCreationTokens(), 0);
    QCOMPARE(unmarked.usage.cacheReadTokens, 0);
    QCOMPARE(probe(mock, cacheProbe(2, {1})).usage.cacheReadTokens, 0);

    // A marker on the first system block: written now, read next time.
    const MockCacheReport first = probe(mock, cacheProbe(2, {0}));
    QVERIFY(first.usage.cacheCreationTokens() > 0);
    QCOMPARE(first.usage.cacheReadTokens, 0);
    const MockCacheReport second = probe(mock, cacheProbe(2, {0}));
    QCOMPARE(second.usage.cacheReadTokens, first.usage.cacheCreationTokens());
    QCOMPARE(second.usage.cacheCreationTokens(), 0);
    QCOMPARE(second.hitBlock, 0);
    QCOMPARE(second.usage.inputTokens, first.usage.inputTokens);

    // A marker at the end of the prompt reads the system prefix written above from up to 19
    // blocks further on (the 20-block lookback), not from 20 or more.
    const MockCacheReport withinReach = probe(mock, cacheProbe(2, {}, 9, true)); // 19 blocks on
    QCOMPARE(withinReach.hitBlock, 1); // the whole system prompt, written by cacheProbe(2, {1})
    QVERIFY(withinReach.usage.cacheReadTokens > first.usage.cacheCreationTokens());
    const MockCacheReport outOfReach = probe(mock, cacheProbe(2, {}, 9, true, 2)); // 20 on
    QCOMPARE(outOfReach.hitBlock, -1);
    QCOMPARE(outOfReach.usage.cacheReadTokens, 0);

    // A prefix under the model's minimum is neither written nor read.
    const QByteArray tiny = R"({"model":"claude-sonnet-4-6","max_tokens":16,"system":[{"type":)"
                            R"("text","text":"short",)"
        + QByteArray(kMarker) + R"(}],"messages":[{"role":"user","content":"go"}]})";
    QCOMPARE(probe(mock, tiny).breakpoints, 0);
    QCOMPARE(probe(mock, tiny).usage.cacheReadTokens, 0);
}

void tst_PromptCacheSdk::firstTurnWritesAndEveryLaterTurnReadsTheCache()
{
    const QJsonObject &first = m_injected.usages.first();
    QVERIFY(count(first, "cache_creation_input_tokens") > 0);
    QCOMPARE(count(first, "cache_read_input_tokens"), 0);
    QVERIFY(m_injected.rows.first().usage.cacheWrite5mTokens > 0);
    QCOMPARE(m_injected.rows.first().usage.cacheReadTokens, 0);
    QVERIFY(m_injected.rows.first().cacheMarkersAdded > 0);
    for (int turn = 1; turn < kTurns; ++turn) {
        const QByteArray where = "turn " + QByteArray::number(turn + 1);
        QVERIFY2(count(m_injected.usages.at(turn), "cache_read_input_tokens") > 0,
                 where.constData());
        QVERIFY2(m_injected.rows.at(turn).usage.cacheReadTokens > 0, where.constData());
        QVERIFY2(m_injected.rows.at(turn).cacheMarkersAdded > 0, where.constData());
        // Each turn reads at least what the turn before it had as a prompt, up to its newest
        // user message: the conversation, not only the system prompt, comes from the cache.
        const Usage &previous = m_injected.rows.at(turn - 1).usage;
        QVERIFY2(m_injected.rows.at(turn).usage.cacheReadTokens
                     >= previous.cacheReadTokens + previous.cacheWriteTokens(),
                 where.constData());
    }
}

void tst_PromptCacheSdk::upstreamNeverSeesMoreThanFourMarkers()
{
    for (const MockCacheReport &report : std::as_const(m_injected.reports)) {
        QVERIFY(report.markers > 0);
        QVERIFY2(report.markers <= 4, QByteArray::number(report.markers).constData());
        QCOMPARE(report.status, 200);
    }
}

void tst_PromptCacheSdk::withoutInjectionNoTurnReadsTheCache()
{
    for (int turn = 0; turn < kTurns; ++turn) {
        QCOMPARE(m_control.reports.at(turn).markers, 0);
        QCOMPARE(count(m_control.usages.at(turn), "cache_read_input_tokens"), 0);
        QCOMPARE(count(m_control.usages.at(turn), "cache_creation_input_tokens"), 0);
        QCOMPARE(m_control.rows.at(turn).usage.cacheReadTokens, 0);
        QCOMPARE(m_control.rows.at(turn).cacheMarkersAdded, 0);
    }
}

void tst_PromptCacheSdk::injectionLowersTheConversationsCost()
{
    // The two runs sent the same prompts: only the caching differs.
    for (int turn = 0; turn < kTurns; ++turn) {
        const Usage &injected = m_injected.rows.at(turn).usage;
        const Usage &control = m_control.rows.at(turn).usage;
        QCOMPARE(injected.inputTokens + injected.cacheWriteTokens() + injected.cacheReadTokens,
                 control.inputTokens);
        QCOMPARE(injected.outputTokens, control.outputTokens);
    }
    QVERIFY(m_control.costPicoUsd > 0);
    QVERIFY2(m_injected.costPicoUsd < m_control.costPicoUsd,
             qPrintable(dollars(m_injected.costPicoUsd) + QStringLiteral(" vs ")
                        + dollars(m_control.costPicoUsd)));
}

QTEST_GUILESS_MAIN(tst_PromptCacheSdk)
#include "tst_PromptCacheSdk.moc"
