// The Dashboard's figures from the request log's totals and the live stream of requests:
// today and this month, cache hit ratio, savings split between the client's cache markers
// and Tollgate's, unpriced requests, per-session running cost and tokens per minute.
#include "DashboardModel.h"

#include <QTest>

using namespace tollgate;

namespace {

constexpr qint64 kMinute = DashboardModel::kMinuteMs;
constexpr qint64 kDay = 24 * 60 * kMinute;
constexpr qint64 kMonthStart = 1'750'000'000'000; // any instant will do as "month start"
constexpr qint64 kDayStart = kMonthStart + 10 * kDay;
constexpr qint64 kPico = 1'000'000'000'000;

RequestRecord record(qint64 startMs, const QByteArray &session, std::optional<qint64> cost,
                     qint64 input = 100, qint64 cacheRead = 0, qint64 withoutCache = -1)
{
    RequestRecord r;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(startMs);
    r.sessionId = session;
    r.project = QStringLiteral("/home/me/") + QString::fromUtf8(session);
    r.model = QStringLiteral("claude-sonnet-4");
    r.status = 200;
    r.usage.inputTokens = input;
    r.usage.outputTokens = 10;
    r.usage.cacheReadTokens = cacheRead;
    r.costPicoUsd = cost;
    if (cost)
        r.costWithoutCachePicoUsd = withoutCache >= 0 ? withoutCache : *cost;
    r.requestId = "req_" + QByteArray::number(startMs);
    return r;
}

DashboardModel::Baseline emptyBaseline()
{
    DashboardModel::Baseline baseline;
    baseline.dayStartMs = kDayStart;
    baseline.monthStartMs = kMonthStart;
    return baseline;
}

} // namespace

class tst_DashboardModel final : public QObject
{
    Q_OBJECT

private slots:
    void startsFromTheLogsTotals();
    void addsLiveRequestsToTodayAndMonth();
    void countsHitRatioOverAllPromptTokens();
    void splitsSavingsBetweenClientAndTollgateMarkers();
    void countsUnpricedRequestsApart();
    void sortsCostByModelAndTag();
    void drawsCumulativeCostPerActiveSession();
    void keepsAtMostEightActiveSessions();
    void prependsSessionHistoryFromTheLog();
    void bucketsTokensPerMinuteOverTheLastHour();
    void startsANewDayAndMonth();
    void namesARequestAlikeLiveAndLogged();
};

void tst_DashboardModel::startsFromTheLogsTotals()
{
    DashboardModel::Baseline baseline = emptyBaseline();
    baseline.today.requests = 3;
    baseline.today.costPicoUsd = 5'735'000'000;
    baseline.today.costWithoutCachePicoUsd = 9'000'000'000;
    baseline.today.inputTokens = 100;
    baseline.today.cacheReadTokens = 300;
    baseline.month = baseline.today;
    baseline.month.requests = 10;
    baseline.month.costPicoUsd = 20 * kPico;
    baseline.month.costWithoutCachePicoUsd = 25 * kPico;
    baseline.month.savedByTollgatePicoUsd = 2 * kPico;
    baseline.month.requestsWithTollgateMarkers = 4;
    baseline.month.requestsWithTollgateReads = 3;
    LedgerStore::Totals opus;
    opus.key = QStringLiteral("claude-opus-4");
    opus.requests = 10;
    opus.costPicoUsd = 20 * kPico;
    baseline.monthByModel = {opus};

    DashboardModel model;
    model.reset(baseline);
    QCOMPARE(model.today().requests, 3);
    QCOMPARE(model.today().costPicoUsd, 5'735'000'000);
    QCOMPARE(model.today().savedPicoUsd(), 3'265'000'000);
    QCOMPARE(model.today().cacheHitRatio(), 0.75);
    QCOMPARE(model.month().requests, 10);
    QCOMPARE(model.month().savedPicoUsd(), 5 * kPico);
    QCOMPARE(model.month().savedByTollgatePicoUsd, 2 * kPico);
    QCOMPARE(model.month().savedByClientPicoUsd(), 3 * kPico);
    QCOMPARE(model.month().requestsWithTollgateMarkers, 4);
    QCOMPARE(model.month().requestsWithTollgateReads, 3);
    QCOMPARE(model.today().savedByTollgatePicoUsd, 0);
    const QList<DashboardModel::Share> byModel = model.costByModel(DashboardModel::Period::Month);
    QCOMPARE(byModel.size(), 1);
    QCOMPARE(byModel.first().key, QStringLiteral("claude-opus-4"));
    QVERIFY(model.costByModel(DashboardModel::Period::Today).isEmpty());
}

void tst_DashboardModel::addsLiveRequestsToTodayAndMonth()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    model.addRecord(record(kDayStart - kMinute, "a", 1 * kPico)); // yesterday, this month
    model.addRecord(record(kDayStart + kMinute, "a", 2 * kPico));
    model.addRecord(record(kMonthStart - kMinute, "a", 4 * kPico)); // last month
    QCOMPARE(model.today().requests, 1);
    QCOMPARE(model.today().costPicoUsd, 2 * kPico);
    QCOMPARE(model.month().requests, 2);
    QCOMPARE(model.month().costPicoUsd, 3 * kPico);
    QCOMPARE(model.month().inputTokens, 200);
    QCOMPARE(model.month().outputTokens, 20);

    RequestRecord failed = record(kDayStart + 2 * kMinute, "a", 0);
    failed.status = 529;
    model.addRecord(failed);
    QCOMPARE(model.today().errors, 1);
}

void tst_DashboardModel::countsHitRatioOverAllPromptTokens()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    QVERIFY(!model.today().hasHitRatio());
    QCOMPARE(model.today().cacheHitRatio(), 0.0);
    RequestRecord r = record(kDayStart, "a", kPico, 100, 600);
    r.usage.cacheWrite5mTokens = 200;
    r.usage.cacheWrite1hTokens = 100;
    model.addRecord(r);
    // 600 reads of 100 input + 300 writes + 600 reads.
    QCOMPARE(model.today().promptTokens(), 1000);
    QCOMPARE(model.today().cacheHitRatio(), 0.6);
}

void tst_DashboardModel::splitsSavingsBetweenClientAndTollgateMarkers()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    model.addRecord(record(kDayStart, "a", 1 * kPico, 100, 500, 3 * kPico)); // client's: $2
    RequestRecord marked = record(kDayStart + 1, "a", 2 * kPico, 100, 500, 7 * kPico);
    marked.cacheMarkersAdded = 2;
    marked.cacheReadsByTollgate = true; // Tollgate's: $5
    model.addRecord(marked);
    QCOMPARE(model.today().savedPicoUsd(), 7 * kPico);
    QCOMPARE(model.today().savedByTollgatePicoUsd, 5 * kPico);
    QCOMPARE(model.today().savedByClientPicoUsd(), 2 * kPico);
    QCOMPARE(model.today().requestsWithTollgateMarkers, 1);
    QCOMPARE(model.today().requestsWithTollgateReads, 1);

    // Claude Code sends its own 3 markers; Tollgate adds the 4th, but the client's would have
    // read the same prefix: the $4 saved are the client's, not Tollgate's.
    RequestRecord claudeCode = record(kDayStart + 2, "b", 1 * kPico, 100, 900, 5 * kPico);
    claudeCode.cacheMarkersClient = 3;
    claudeCode.cacheMarkersAdded = 1;
    claudeCode.cacheReadsByTollgate = false;
    model.addRecord(claudeCode);
    QCOMPARE(model.today().savedPicoUsd(), 11 * kPico);
    QCOMPARE(model.today().savedByTollgatePicoUsd, 5 * kPico);
    QCOMPARE(model.today().savedByClientPicoUsd(), 6 * kPico);
    QCOMPARE(model.today().requestsWithTollgateMarkers, 2);
    QCOMPARE(model.today().requestsWithTollgateReads, 1);
    QCOMPARE(model.month().savedByClientPicoUsd(), 6 * kPico);

    // Until Tollgate adds markers its share is exactly zero.
    DashboardModel plain;
    plain.reset(emptyBaseline());
    plain.addRecord(record(kDayStart, "a", 1 * kPico, 100, 500, 3 * kPico));
    QCOMPARE(plain.today().savedByTollgatePicoUsd, 0);
    QCOMPARE(plain.today().requestsWithTollgateMarkers, 0);
    QCOMPARE(plain.today().savedByClientPicoUsd(), 2 * kPico);
}

void tst_DashboardModel::countsUnpricedRequestsApart()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    model.addRecord(record(kDayStart, "a", std::nullopt));
    model.addRecord(record(kDayStart + 1, "a", kPico));
    QCOMPARE(model.today().requests, 2);
    QCOMPARE(model.today().unpricedRequests, 1);
    QCOMPARE(model.today().costPicoUsd, kPico); // never $0 for the unpriced one: left out
    const auto byModel = model.costByModel(DashboardModel::Period::Today);
    QCOMPARE(byModel.first().unpricedRequests, 1);
}

void tst_DashboardModel::sortsCostByModelAndTag()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    RequestRecord haiku = record(kDayStart, "a", 1 * kPico);
    haiku.model = QStringLiteral("claude-haiku-4");
    haiku.billingTag = QStringLiteral("ci");
    RequestRecord opus = record(kDayStart + 1, "a", 9 * kPico);
    opus.model = QStringLiteral("claude-opus-4");
    model.addRecord(haiku);
    model.addRecord(opus);
    model.addRecord(record(kDayStart + 2, "a", 3 * kPico));
    const auto byModel = model.costByModel(DashboardModel::Period::Today);
    QCOMPARE(byModel.size(), 3);
    QCOMPARE(byModel.at(0).key, QStringLiteral("claude-opus-4"));
    QCOMPARE(byModel.at(1).key, QStringLiteral("claude-sonnet-4"));
    QCOMPARE(byModel.at(2).key, QStringLiteral("claude-haiku-4"));
    const auto byTag = model.costByTag(DashboardModel::Period::Month);
    QCOMPARE(byTag.size(), 2);
    QCOMPARE(byTag.at(0).key, QString()); // untagged: $12
    QCOMPARE(byTag.at(0).costPicoUsd, 12 * kPico);
    QCOMPARE(byTag.at(1).key, QStringLiteral("ci"));
}

void tst_DashboardModel::drawsCumulativeCostPerActiveSession()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    const qint64 t0 = kDayStart + 60 * kMinute;
    model.addRecord(record(t0, "a", 1 * kPico));
    model.addRecord(record(t0 + kMinute, "b", 5 * kPico));
    model.addRecord(record(t0 + 2 * kMinute, "a", 2 * kPico));
    model.addRecord(record(t0 + 3 * kMinute, "a", std::nullopt)); // adds nothing
    model.addRecord(record(t0 + 4 * kMinute, QByteArray(), kPico)); // no session: no line

    QList<DashboardModel::SessionSeries> sessions = model.activeSessions(t0 + 5 * kMinute);
    QCOMPARE(sessions.size(), 2);
    QCOMPARE(sessions.at(0).sessionId, QByteArray("a")); // latest request first
    QCOMPARE(sessions.at(0).project, QStringLiteral("/home/me/a"));
    const QList<DashboardModel::CostPoint> expected = {
        {t0, 1 * kPico}, {t0 + 2 * kMinute, 3 * kPico}, {t0 + 3 * kMinute, 3 * kPico}};
    QCOMPARE(sessions.at(0).points, expected);
    QCOMPARE(sessions.at(1).points.size(), 1);

    // Half an hour after its last request a session leaves the chart.
    sessions = model.activeSessions(t0 + kMinute + DashboardModel::kActiveWindowMs + 1);
    QCOMPARE(sessions.size(), 1);
    QCOMPARE(sessions.at(0).sessionId, QByteArray("a"));
    model.advanceTo(t0 + 3 * kMinute + DashboardModel::kActiveWindowMs + 1, kDayStart, kMonthStart);
    QVERIFY(model.activeSessions(t0 + 3 * kMinute + DashboardModel::kActiveWindowMs).isEmpty());
}

void tst_DashboardModel::keepsAtMostEightActiveSessions()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    for (int i = 0; i < 12; ++i)
        model.addRecord(record(kDayStart + i * 1000, "s" + QByteArray::number(i), kPico));
    const auto sessions = model.activeSessions(kDayStart + 20 * 1000);
    QCOMPARE(sessions.size(), DashboardModel::kMaxActiveSessions);
    QCOMPARE(sessions.first().sessionId, QByteArray("s11"));
    QCOMPARE(sessions.last().sessionId, QByteArray("s4"));
}

void tst_DashboardModel::prependsSessionHistoryFromTheLog()
{
    DashboardModel model;
    DashboardModel::Baseline baseline = emptyBaseline();
    const qint64 t0 = kDayStart + 60 * kMinute;
    // Known from the log at the start: no history to ask for.
    baseline.sessionHistories.insert("old", {{t0, 2 * kPico, 10}});
    model.reset(baseline);
    model.addRecord(record(t0 + kMinute, "old", kPico));
    model.addRecord(record(t0 + 2 * kMinute, "new", kPico));
    QCOMPARE(model.takeSessionsWithoutHistory(), QList<QByteArray>({"new"}));
    QVERIFY(model.takeSessionsWithoutHistory().isEmpty());

    // The log has two earlier requests, and the live one (written meanwhile) again.
    model.addSessionHistory("new",
                            {{t0 - 5 * kMinute, 4 * kPico, 1},
                             {t0 - 4 * kMinute, 5 * kPico, 2},
                             {t0 + 2 * kMinute, 6 * kPico, 3}});
    const auto sessions = model.activeSessions(t0 + 3 * kMinute);
    QCOMPARE(sessions.size(), 2);
    const QList<DashboardModel::CostPoint> expectedNew = {{t0 - 5 * kMinute, 4 * kPico},
                                                          {t0 - 4 * kMinute, 5 * kPico},
                                                          {t0 + 2 * kMinute, 6 * kPico}};
    QCOMPARE(sessions.at(0).points, expectedNew);
    const QList<DashboardModel::CostPoint> expectedOld = {{t0, 2 * kPico},
                                                          {t0 + kMinute, 3 * kPico}};
    QCOMPARE(sessions.at(1).points, expectedOld);
}

void tst_DashboardModel::bucketsTokensPerMinuteOverTheLastHour()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    const qint64 minute = kDayStart + 120 * kMinute - kDayStart % kMinute;
    RequestRecord r = record(minute + 5000, "a", kPico, 100, 50);
    r.usage.cacheWrite5mTokens = 40; // 100 + 10 + 40 + 50 = 200
    model.addRecord(r);
    model.addRecord(record(minute + 59'000, "a", kPico, 90)); // 100
    model.addRecord(record(minute - 70 * kMinute, "a", kPico)); // outside the hour

    const qint64 now = minute + 30'000;
    QList<DashboardModel::TokenBucket> buckets = model.tokensPerMinute(now);
    QCOMPARE(buckets.size(), DashboardModel::kTokenWindowMinutes);
    QCOMPARE(buckets.last().minuteStartMs, minute);
    QCOMPARE(buckets.last().tokens, 300);
    QCOMPARE(buckets.first().minuteStartMs, minute - 59 * kMinute);
    qint64 total = 0;
    for (const auto &bucket : buckets)
        total += bucket.tokens;
    QCOMPARE(total, 300);

    // A minute later the bucket has moved one place to the left.
    buckets = model.tokensPerMinute(now + kMinute);
    QCOMPARE(buckets.at(buckets.size() - 2).tokens, 300);
    QCOMPARE(buckets.last().tokens, 0);
}

void tst_DashboardModel::startsANewDayAndMonth()
{
    DashboardModel model;
    model.reset(emptyBaseline());
    model.addRecord(record(kDayStart + kMinute, "a", kPico));
    model.advanceTo(kDayStart + kDay + kMinute, kDayStart + kDay, kMonthStart);
    QCOMPARE(model.today().requests, 0);
    QCOMPARE(model.month().requests, 1);
    QVERIFY(model.costByModel(DashboardModel::Period::Today).isEmpty());
    model.addRecord(record(kDayStart + kDay + 2 * kMinute, "a", kPico));
    QCOMPARE(model.today().requests, 1);
    QCOMPARE(model.month().costPicoUsd, 2 * kPico);

    const qint64 nextMonth = kMonthStart + 31 * kDay;
    model.advanceTo(nextMonth + kMinute, nextMonth, nextMonth);
    QCOMPARE(model.month().requests, 0);
    QCOMPARE(model.today().requests, 0);
    QVERIFY(model.costByTag(DashboardModel::Period::Month).isEmpty());
}

void tst_DashboardModel::namesARequestAlikeLiveAndLogged()
{
    RequestRecord live = record(kDayStart, "a", kPico);
    live.totalUs = 1234;
    live.requestBody = "{\"big\":true}"; // not part of what the log keeps
    RequestRecord logged = live;
    logged.requestBody.clear();
    logged.id = 99; // the row id differs from the gateway's sequence number
    QCOMPARE(DashboardModel::requestKey(live), DashboardModel::requestKey(logged));
    RequestRecord other = live;
    other.startedAt = other.startedAt.addMSecs(1);
    QVERIFY(DashboardModel::requestKey(live) != DashboardModel::requestKey(other));
}

QTEST_MAIN(tst_DashboardModel)
#include "tst_DashboardModel.moc"
