// Budgets over the calendar of the user's time zone: the spend of a virtual key and of a
// billing tag, the warning at 80 %, the refusal at 100 %, and the reset at local midnight
// and on the 1st.
#include "keys/SpendTracker.h"

#include <QDateTime>
#include <QTest>

using namespace tollgate;
using Level = BudgetGuard::Level;

namespace {
constexpr qint64 kCent = 10LL * 1000 * 1000 * 1000; // pico-USD
constexpr qint64 kDollar = 100 * kCent;

qint64 at(const char *localTime, const QTimeZone &zone)
{
    const QDateTime time = QDateTime::fromString(QLatin1String(localTime), Qt::ISODate);
    return QDateTime(time.date(), time.time(), zone).toMSecsSinceEpoch();
}
} // namespace

class tst_SpendTracker final : public QObject
{
    Q_OBJECT

private slots:
    void warnsOnceAtEightyPercentAndRefusesAtTheCap();
    void resetsAtLocalMidnightAndOnTheFirst();
    void countsTheTagOverEveryKey();
    void startsFromTheLogsSumsOfTheCurrentPeriods();
    void dayStartsAfterADstJumpOverMidnight();
    void keyWithoutCapsIsNeverRefused();
};

void tst_SpendTracker::warnsOnceAtEightyPercentAndRefusesAtTheCap()
{
    const QTimeZone zone("Europe/Berlin");
    SpendTracker tracker(zone);
    tracker.setKeyCaps(QStringLiteral("alice"), {10 * kDollar, 0});
    QList<SpendTracker::Status> events;
    tracker.setEventHandler([&](const SpendTracker::Status &status) { events.append(status); });
    const qint64 now = at("2026-11-26T10:00:00", zone);

    tracker.add(QStringLiteral("alice"), QString(), 7 * kDollar, now, now);
    QVERIFY(events.isEmpty());
    QVERIFY(!tracker.check(QStringLiteral("alice"), QString(), now));
    // 7.99 is still below 80 %; 8.00 is exactly 80 %.
    tracker.add(QStringLiteral("alice"), QString(), 99 * kCent, now, now);
    QVERIFY(events.isEmpty());
    tracker.add(QStringLiteral("alice"), QString(), 1 * kCent, now, now);
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.last().verdict.level, Level::Warning);
    QVERIFY2(events.last().message.contains(QLatin1String("80 %")),
             qPrintable(events.last().message));
    tracker.add(QStringLiteral("alice"), QString(), 1 * kDollar, now, now);
    QCOMPARE(events.size(), 1); // still a warning: no second notice
    QVERIFY(!tracker.check(QStringLiteral("alice"), QString(), now));

    tracker.add(QStringLiteral("alice"), QString(), 1 * kDollar, now, now); // exactly $10
    QCOMPARE(events.size(), 2);
    QCOMPARE(events.last().verdict.level, Level::Exhausted);
    const auto refusal = tracker.check(QStringLiteral("alice"), QString(), now);
    QVERIFY(refusal);
    QCOMPARE(refusal->verdict.capPicoUsd, 10 * kDollar);
    QCOMPARE(refusal->verdict.resetsAt.toMSecsSinceEpoch(), at("2026-11-27T00:00:00", zone));
    const QString message = refusal->guard.message(refusal->verdict);
    QVERIFY2(message.contains(QLatin1String("daily budget of $10.00")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("virtual key \"alice\"")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("2026-11-27 00:00")), qPrintable(message));
    // Another key is not touched by alice's budget.
    QVERIFY(!tracker.check(QStringLiteral("bob"), QString(), now));
}

void tst_SpendTracker::resetsAtLocalMidnightAndOnTheFirst()
{
    const QTimeZone zone("America/New_York");
    SpendTracker tracker(zone);
    tracker.setKeyCaps(QStringLiteral("ci"), {1 * kDollar, 5 * kDollar});
    QList<Level> levels;
    tracker.setEventHandler(
        [&](const SpendTracker::Status &status) { levels.append(status.verdict.level); });
    const qint64 evening = at("2026-11-30T23:59:00", zone);
    tracker.add(QStringLiteral("ci"), QString(), 1 * kDollar, evening, evening);
    QVERIFY(tracker.check(QStringLiteral("ci"), QString(), evening)); // day used up
    // One minute later, local midnight (05:00 UTC): a new day and a new month.
    const qint64 midnight = at("2026-12-01T00:00:00", zone);
    QVERIFY(tracker.check(QStringLiteral("ci"), QString(), midnight - 1));
    QVERIFY(!tracker.check(QStringLiteral("ci"), QString(), midnight));
    QCOMPARE(levels, (QList<Level> {Level::Exhausted, Level::Ok}));
    const QList<SpendTracker::Status> status = tracker.status(midnight);
    QCOMPARE(status.size(), 1);
    QCOMPARE(status.first().dayPicoUsd, 0);
    QCOMPARE(status.first().monthPicoUsd, 0);

    // Within a month the day resets and the month keeps counting.
    qint64 t = at("2026-12-01T12:00:00", zone);
    for (int day = 0; day < 5; ++day, t += 24LL * 3600 * 1000) {
        QVERIFY2(!tracker.check(QStringLiteral("ci"), QString(), t),
                 qPrintable(QString::number(day)));
        tracker.add(QStringLiteral("ci"), QString(), 1 * kDollar, t, t);
    }
    const auto refusal = tracker.check(QStringLiteral("ci"), QString(), t);
    QVERIFY(refusal);
    QCOMPARE(refusal->verdict.period, BudgetGuard::Period::Month);
    QCOMPARE(refusal->verdict.resetsAt.toMSecsSinceEpoch(), at("2027-01-01T00:00:00", zone));
    // A request that started before midnight and was accounted after it counts in the
    // month but not in the new day.
    SpendTracker late(zone);
    late.setKeyCaps(QStringLiteral("ci"), {1 * kDollar, 5 * kDollar});
    const qint64 nextDay = at("2026-12-02T00:00:01", zone);
    late.add(QStringLiteral("ci"), QString(), 2 * kDollar, at("2026-12-01T23:59:00", zone),
             nextDay);
    QCOMPARE(late.status(nextDay).first().dayPicoUsd, 0);
    QCOMPARE(late.status(nextDay).first().monthPicoUsd, 2 * kDollar);
}

void tst_SpendTracker::countsTheTagOverEveryKey()
{
    const QTimeZone zone("Europe/London");
    SpendTracker tracker(zone);
    tracker.setTagCaps(QStringLiteral("team-a"), {0, 3 * kDollar});
    const qint64 now = at("2026-11-26T09:00:00", zone);
    tracker.add(QStringLiteral("alice"), QStringLiteral("team-a"), 2 * kDollar, now, now);
    tracker.add(QStringLiteral("bob"), QStringLiteral("team-a"), 1 * kDollar, now, now);
    tracker.add(QStringLiteral("carol"), QStringLiteral("team-b"), 50 * kDollar, now, now);
    const auto refusal = tracker.check(QStringLiteral("dave"), QStringLiteral("team-a"), now);
    QVERIFY(refusal);
    QVERIFY(
        refusal->guard.message(refusal->verdict).contains(QLatin1String("billing tag \"team-a\"")));
    QVERIFY(!tracker.check(QStringLiteral("dave"), QStringLiteral("team-b"), now));
}

void tst_SpendTracker::startsFromTheLogsSumsOfTheCurrentPeriods()
{
    const QTimeZone zone("Asia/Tokyo");
    SpendTracker tracker(zone);
    tracker.setKeyCaps(QStringLiteral("alice"), {2 * kDollar, 20 * kDollar});
    tracker.setTagCaps(QStringLiteral("team-a"), {0, 10 * kDollar});
    int events = 0;
    tracker.setEventHandler([&](const SpendTracker::Status &) { ++events; });
    const qint64 now = at("2026-11-26T08:00:00", zone);
    QCOMPARE(tracker.dayStartMs(now), at("2026-11-26T00:00:00", zone));
    QCOMPARE(tracker.monthStartMs(now), at("2026-11-01T00:00:00", zone));

    SpendTotals totals;
    totals.dayStartMs = tracker.dayStartMs(now);
    totals.monthStartMs = tracker.monthStartMs(now);
    totals.keys.insert(QStringLiteral("alice"), {2 * kDollar, 7 * kDollar});
    totals.tags.insert(QStringLiteral("team-a"), {1 * kDollar, 9 * kDollar});
    tracker.seed(totals, now);
    QCOMPARE(events, 2); // alice used up today, team-a at 90 % of its month
    QVERIFY(tracker.check(QStringLiteral("alice"), QString(), now));
    QVERIFY(!tracker.check(QStringLiteral("bob"), QStringLiteral("team-a"), now));

    // Sums of another day (the log was read before midnight) are not today's.
    SpendTracker stale(zone);
    stale.setKeyCaps(QStringLiteral("alice"), {2 * kDollar, 0});
    SpendTotals yesterday = totals;
    yesterday.dayStartMs -= 24LL * 3600 * 1000;
    stale.seed(yesterday, now);
    QVERIFY(!stale.check(QStringLiteral("alice"), QString(), now));
}

void tst_SpendTracker::dayStartsAfterADstJumpOverMidnight()
{
    // Chile moves its clocks from 00:00 to 01:00 on 2026-09-06: that day starts at 01:00.
    const QTimeZone zone("America/Santiago");
    SpendTracker tracker(zone);
    const qint64 morning = QDateTime(QDate(2026, 9, 6), QTime(10, 0), zone).toMSecsSinceEpoch();
    const QDateTime start = QDateTime::fromMSecsSinceEpoch(tracker.dayStartMs(morning), zone);
    QCOMPARE(start.date(), QDate(2026, 9, 6));
    QCOMPARE(start.time(), QTime(1, 0));
}

void tst_SpendTracker::keyWithoutCapsIsNeverRefused()
{
    SpendTracker tracker(QTimeZone::utc());
    tracker.setKeyCaps(QStringLiteral("alice"), {kDollar, 0});
    tracker.setKeyCaps(QStringLiteral("alice"), {}); // caps removed
    QVERIFY(!tracker.hasCaps());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    tracker.add(QStringLiteral("alice"), QString(), 100 * kDollar, now, now);
    QVERIFY(!tracker.check(QStringLiteral("alice"), QString(), now));
}

QTEST_APPLESS_MAIN(tst_SpendTracker)
#include "tst_SpendTracker.moc"
