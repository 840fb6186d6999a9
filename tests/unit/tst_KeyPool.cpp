#include "upstream/KeyPool.h"

#include <QTest>
#include <QTimeZone>

using namespace tollgate;
using State = KeyPool::State;
using Event = KeyPool::Event;

namespace {

constexpr qint64 kS = 1000 * 1000; // one second in microseconds
constexpr qint64 kT0 = 5000 * kS; // an arbitrary monotonic start
const QByteArray kDate = QByteArrayLiteral("Wed, 01 Apr 2026 12:00:00 GMT");
const qint64 kDateMs =
    QDateTime(QDate(2026, 4, 1), QTime(12, 0), QTimeZone::utc()).toMSecsSinceEpoch();

HeaderList headers(std::initializer_list<std::pair<const char *, const char *>> fields)
{
    HeaderList list;
    for (const auto &[name, value] : fields)
        list.append(QByteArray(name), QByteArray(value));
    return list;
}

// A pool of keys "a", "b", "c" (secrets "sk-a", ...) in that order.
KeyPool threeKeys()
{
    KeyPool pool;
    pool.addKey(QStringLiteral("a"), "sk-a");
    pool.addKey(QStringLiteral("b"), "sk-b");
    pool.addKey(QStringLiteral("c"), "sk-c");
    return pool;
}

QStringList picks(KeyPool &pool, int count, qint64 nowUs, const QByteArray &session = {})
{
    QStringList out;
    for (int i = 0; i < count; ++i)
        out.append(pool.pick(nowUs, session).alias);
    return out;
}

QStringList list(std::initializer_list<const char *> items)
{
    QStringList out;
    for (const char *item : items)
        out.append(QString::fromLatin1(item));
    return out;
}

std::optional<qint64> coolingUntil(const KeyPool &pool, const char *alias, qint64 nowUs)
{
    return pool.keySnapshot(QString::fromLatin1(alias), nowUs)->coolingUntilUs;
}

State stateOf(const KeyPool &pool, const char *alias, qint64 nowUs)
{
    return pool.keySnapshot(QString::fromLatin1(alias), nowUs)->state;
}

void limit(KeyPool &pool, const char *alias, qint64 nowUs, const char *retryAfter = nullptr)
{
    HeaderList h;
    if (retryAfter)
        h.append("retry-after", retryAfter);
    pool.reportResponse(QString::fromLatin1(alias), 429, h, nowUs);
}

void ok(KeyPool &pool, const char *alias, qint64 nowUs)
{
    pool.reportResponse(QString::fromLatin1(alias), 200, HeaderList(), nowUs);
}

} // namespace

class tst_KeyPool final : public QObject
{
    Q_OBJECT

private slots:
    void roundRobinCyclesThroughKeys();
    void pickReturnsSecretOfChosenKey();
    void skipsCoolingKeyUntilItsCoolDownEnds();
    void skipsKeyTurnedOffInSettings();
    void newPoolTakesOverWhatTheOldOneLearntOfTheSameKeys();
    void retryAfterSecondsSetsCoolDown_data();
    void retryAfterSecondsSetsCoolDown();
    void retryAfterHttpDateSetsCoolDown_data();
    void retryAfterHttpDateSetsCoolDown();
    void retryAfterDateWithoutAnyClockFallsBackToBackoff();
    void rateLimitResetCoolsUntilEarliestExhaustedReset();
    void rateLimitResetMeasuredFromCallerClockWithoutDateHeader();
    void rateLimitResetInPastFallsBackToBackoff();
    void backoffDoublesToSixtySecondsAndResetsOnSuccess();
    void overloaded529CoolsKeyDown();
    void rejectedKeyIsDisabledUntilReEnabled_data();
    void rejectedKeyIsDisabledUntilReEnabled();
    void replacingSecretRevivesRejectedKey();
    void serverErrorsAndConnectFailuresGiveShortBoundedPause();
    void successDuringCoolDownDoesNotEndIt();
    void coolDownIsNeverShortened();
    void allKeysCoolingGivesEarliestAvailability();
    void noUsableKeyWithoutUserGivesNoAvailability();
    void affinityKeepsSessionOnItsKey();
    void affinityMovesOnCoolDownAndSticksToNewKey();
    void affinityMovesWhenKeyIsDisabledOrRemoved();
    void affinityOffSpreadsSessionRequests();
    void affinityTableStaysBounded();
    void idleSessionsAgeOut();
    void leastRecentlyLimitedPrefersKeyLimitedLongestAgo();
    void leastRecentlyLimitedSharesLoadAmongUnlimitedKeys();
    void recordsLatestRateLimitValues();
    void combinedHeadroomSumsHealthyKeys();
    void malformedHeaderValuesAreIgnored_data();
    void malformedHeaderValuesAreIgnored();
    void absurdRetryAfterIsCappedAtAnHour();
    void retryPolicyFollowsStatus_data();
    void retryPolicyFollowsStatus();
    void retryBudgetTriesDistinctKeysAtMostFour();
    void retryBudgetStopsOnceClientHasBytes();
    void eventsReportDisableCoolDownAndRecovery();
    void keyManagement();
};

void tst_KeyPool::roundRobinCyclesThroughKeys()
{
    KeyPool pool = threeKeys();
    QCOMPARE(pool.strategy(), KeyPool::Strategy::RoundRobin);
    QCOMPARE(picks(pool, 7, kT0), list({"a", "b", "c", "a", "b", "c", "a"}));
}

void tst_KeyPool::pickReturnsSecretOfChosenKey()
{
    KeyPool pool = threeKeys();
    const KeyPool::Pick first = pool.pick(kT0);
    const KeyPool::Pick second = pool.pick(kT0);
    QVERIFY(first.isValid());
    QCOMPARE(first.secret, QByteArray("sk-a"));
    QCOMPARE(second.secret, QByteArray("sk-b"));
    QVERIFY(first.keyId != second.keyId);
    QVERIFY(!first.availableAtUs);
}

void tst_KeyPool::skipsCoolingKeyUntilItsCoolDownEnds()
{
    KeyPool pool = threeKeys();
    limit(pool, "b", kT0, "10");
    QCOMPARE(picks(pool, 4, kT0 + 1), list({"a", "c", "a", "c"}));
    QCOMPARE(picks(pool, 2, kT0 + 10 * kS - 1), list({"a", "c"}));
    QCOMPARE(picks(pool, 3, kT0 + 10 * kS), list({"a", "b", "c"}));
}

void tst_KeyPool::skipsKeyTurnedOffInSettings()
{
    KeyPool pool;
    pool.addKey(QStringLiteral("a"), "sk-a");
    pool.addKey(QStringLiteral("b"), "sk-b", false);
    QCOMPARE(picks(pool, 3, kT0), list({"a", "a", "a"}));
    QCOMPARE(stateOf(pool, "b", kT0), State::Disabled);
    QVERIFY(!pool.keySnapshot(QStringLiteral("b"), kT0)->reason.isEmpty());
    pool.setEnabled(QStringLiteral("b"), true);
    QCOMPARE(picks(pool, 2, kT0), list({"b", "a"}));
}

// New settings build a new pool from the same keys: a key the upstream refused stays out,
// a cooling key keeps resting, and a session stays on its key (its prompt cache lives
// there). A key whose secret changed is a new credential and starts afresh.
void tst_KeyPool::newPoolTakesOverWhatTheOldOneLearntOfTheSameKeys()
{
    KeyPool old = threeKeys();
    old.setSessionAffinity(true);
    old.reportResponse(QStringLiteral("a"), 401, HeaderList(), kT0);
    limit(old, "b", kT0, "30");
    QCOMPARE(old.pick(kT0, "s1").alias, QStringLiteral("c"));

    KeyPool successor;
    successor.addKey(QStringLiteral("a"), "sk-a");
    successor.addKey(QStringLiteral("b"), "sk-b");
    successor.addKey(QStringLiteral("c"), "sk-c");
    successor.addKey(QStringLiteral("d"), "sk-d");
    successor.setSessionAffinity(true);
    successor.adoptHealth(old);
    QCOMPARE(stateOf(successor, "a", kT0 + 1), State::Disabled);
    QCOMPARE(stateOf(successor, "b", kT0 + 1), State::CoolingDown);
    QCOMPARE(coolingUntil(successor, "b", kT0 + 1), kT0 + 30 * kS);
    QCOMPARE(stateOf(successor, "d", kT0 + 1), State::Healthy);
    QCOMPARE(successor.pick(kT0 + 1, "s1").alias, QStringLiteral("c"));
    QCOMPARE(picks(successor, 2, kT0 + 2), list({"c", "d"}));

    KeyPool rotated;
    rotated.addKey(QStringLiteral("a"), "sk-a-new");
    rotated.adoptHealth(old);
    QCOMPARE(stateOf(rotated, "a", kT0 + 1), State::Healthy);
}

void tst_KeyPool::retryAfterSecondsSetsCoolDown_data()
{
    QTest::addColumn<QByteArray>("retryAfter");
    QTest::addColumn<qint64>("expectedUs");
    QTest::newRow("30") << QByteArray("30") << 30 * kS;
    QTest::newRow("1") << QByteArray("1") << kS;
    QTest::newRow("padded") << QByteArray(" 7 ") << 7 * kS;
    QTest::newRow("fraction") << QByteArray("2.5") << 2500 * 1000LL;
    QTest::newRow("zero means at least a second") << QByteArray("0") << kS;
    QTest::newRow("sixty") << QByteArray("60") << 60 * kS;
    QTest::newRow("ten minutes") << QByteArray("600") << 600 * kS;
}

void tst_KeyPool::retryAfterSecondsSetsCoolDown()
{
    QFETCH(QByteArray, retryAfter);
    QFETCH(qint64, expectedUs);
    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("a"), 429,
                        headers({{"Retry-After", retryAfter.constData()}}), kT0);
    QCOMPARE(stateOf(pool, "a", kT0), State::CoolingDown);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + expectedUs);
    QCOMPARE(stateOf(pool, "a", kT0 + expectedUs - 1), State::CoolingDown);
    QCOMPARE(stateOf(pool, "a", kT0 + expectedUs), State::Healthy);
}

void tst_KeyPool::retryAfterHttpDateSetsCoolDown_data()
{
    QTest::addColumn<QByteArray>("retryAfter");
    QTest::addColumn<qint64>("expectedUs");
    QTest::newRow("IMF-fixdate") << QByteArray("Wed, 01 Apr 2026 12:00:45 GMT") << 45 * kS;
    QTest::newRow("RFC 850") << QByteArray("Wednesday, 01-Apr-26 12:01:00 GMT") << 60 * kS;
    QTest::newRow("asctime") << QByteArray("Wed Apr  1 12:00:05 2026") << 5 * kS;
    QTest::newRow("next day") << QByteArray("Thu, 02 Apr 2026 00:00:00 GMT") << 3600 * kS;
    QTest::newRow("in the past") << QByteArray("Wed, 01 Apr 2026 11:00:00 GMT") << kS;
}

void tst_KeyPool::retryAfterHttpDateSetsCoolDown()
{
    QFETCH(QByteArray, retryAfter);
    QFETCH(qint64, expectedUs);
    KeyPool pool = threeKeys();
    pool.reportResponse(
        QStringLiteral("a"), 429,
        headers({{"date", kDate.constData()}, {"retry-after", retryAfter.constData()}}), kT0);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + expectedUs);
}

void tst_KeyPool::retryAfterDateWithoutAnyClockFallsBackToBackoff()
{
    KeyPool pool = threeKeys();
    // No Date header and no wall clock from the caller: the date cannot be placed in time.
    pool.reportResponse(QStringLiteral("a"), 429,
                        headers({{"retry-after", "Wed, 01 Apr 2026 12:00:45 GMT"}}), kT0);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + kS);
    // With the caller's wall clock it can.
    pool.reportResponse(QStringLiteral("b"), 429,
                        headers({{"retry-after", "Wed, 01 Apr 2026 12:00:45 GMT"}}), kT0,
                        kDateMs + 15 * 1000);
    QCOMPARE(coolingUntil(pool, "b", kT0), kT0 + 30 * kS);
}

void tst_KeyPool::rateLimitResetCoolsUntilEarliestExhaustedReset()
{
    KeyPool pool = threeKeys();
    pool.reportResponse(
        QStringLiteral("a"), 429,
        headers({{"date", kDate.constData()},
                 {"anthropic-ratelimit-requests-limit", "50"},
                 {"anthropic-ratelimit-requests-remaining", "0"},
                 {"anthropic-ratelimit-requests-reset", "2026-04-01T12:00:40Z"},
                 {"anthropic-ratelimit-input-tokens-limit", "30000"},
                 {"anthropic-ratelimit-input-tokens-remaining", "0"},
                 {"anthropic-ratelimit-input-tokens-reset", "2026-04-01T14:00:25.500+02:00"},
                 // Not exhausted: its earlier reset does not matter.
                 {"anthropic-ratelimit-output-tokens-remaining", "8000"},
                 {"anthropic-ratelimit-output-tokens-reset", "2026-04-01T12:00:03Z"}}),
        kT0);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + 25500 * 1000LL);
    QVERIFY(pool.keySnapshot(QStringLiteral("a"), kT0)->reason.contains(QStringLiteral("429")));
}

void tst_KeyPool::rateLimitResetMeasuredFromCallerClockWithoutDateHeader()
{
    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("a"), 429,
                        headers({{"anthropic-ratelimit-tokens-remaining", "0"},
                                 {"anthropic-ratelimit-tokens-reset", "2026-04-01T12:00:12Z"}}),
                        kT0, kDateMs);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + 12 * kS);
}

void tst_KeyPool::rateLimitResetInPastFallsBackToBackoff()
{
    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("a"), 429,
                        headers({{"date", kDate.constData()},
                                 {"anthropic-ratelimit-requests-remaining", "0"},
                                 {"anthropic-ratelimit-requests-reset", "2026-04-01T11:59:00Z"}}),
                        kT0);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + kS);
}

void tst_KeyPool::backoffDoublesToSixtySecondsAndResetsOnSuccess()
{
    KeyPool pool;
    pool.addKey(QStringLiteral("a"), "sk-a");
    const qint64 expected[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
    qint64 now = kT0;
    for (const qint64 seconds : expected) {
        limit(pool, "a", now);
        const qint64 until = *coolingUntil(pool, "a", now);
        QCOMPARE(until - now, seconds * kS);
        QVERIFY(!pool.pick(now).isValid());
        now = until; // retried the moment it comes back, limited again
        QCOMPARE(pool.pick(now).alias, QStringLiteral("a"));
    }
    ok(pool, "a", now);
    limit(pool, "a", now);
    QCOMPARE(*coolingUntil(pool, "a", now) - now, kS);
}

void tst_KeyPool::overloaded529CoolsKeyDown()
{
    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("a"), 529, headers({{"retry-after", "5"}}), kT0);
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + 5 * kS);
    QVERIFY(pool.keySnapshot(QStringLiteral("a"), kT0)->reason.contains(QStringLiteral("529")));
    pool.reportResponse(QStringLiteral("b"), 529, HeaderList(), kT0);
    pool.reportResponse(QStringLiteral("b"), 529, HeaderList(), kT0 + kS);
    QCOMPARE(coolingUntil(pool, "b", kT0 + kS), kT0 + 3 * kS); // backoff: 1 s, then 2 s
    QCOMPARE(picks(pool, 2, kT0 + kS), list({"c", "c"}));
}

void tst_KeyPool::rejectedKeyIsDisabledUntilReEnabled_data()
{
    QTest::addColumn<int>("status");
    QTest::newRow("401") << 401;
    QTest::newRow("402") << 402;
    QTest::newRow("403") << 403;
}

void tst_KeyPool::rejectedKeyIsDisabledUntilReEnabled()
{
    QFETCH(int, status);
    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("b"), status, HeaderList(), kT0);
    const KeyPool::KeySnapshot snap = *pool.keySnapshot(QStringLiteral("b"), kT0);
    QCOMPARE(snap.state, State::Disabled);
    QVERIFY(!snap.isEnabled);
    QVERIFY2(snap.reason.contains(QString::number(status)), qPrintable(snap.reason));
    // A day later it is still out: only the user brings it back.
    const qint64 later = kT0 + 24 * 3600 * kS;
    QCOMPARE(picks(pool, 4, later), list({"a", "c", "a", "c"}));
    QCOMPARE(pool.retryBudget().maxKeys(), 2);
    QVERIFY(pool.setEnabled(QStringLiteral("b"), true));
    QCOMPARE(stateOf(pool, "b", later), State::Healthy);
    QVERIFY(pool.keySnapshot(QStringLiteral("b"), later)->reason.isEmpty());
    QCOMPARE(picks(pool, 3, later), list({"a", "b", "c"}));
}

void tst_KeyPool::replacingSecretRevivesRejectedKey()
{
    KeyPool pool;
    pool.addKey(QStringLiteral("a"), "sk-old");
    pool.reportResponse(QStringLiteral("a"), 401, HeaderList(), kT0);
    QVERIFY(!pool.pick(kT0).isValid());
    QVERIFY(pool.replaceSecret(QStringLiteral("a"), "sk-new"));
    const KeyPool::Pick pick = pool.pick(kT0);
    QCOMPARE(pick.secret, QByteArray("sk-new"));
    // A key the user turned off stays off when its secret changes.
    pool.setEnabled(QStringLiteral("a"), false);
    pool.replaceSecret(QStringLiteral("a"), "sk-newer");
    QVERIFY(!pool.pick(kT0).isValid());
}

void tst_KeyPool::serverErrorsAndConnectFailuresGiveShortBoundedPause()
{
    KeyPool pool = threeKeys();
    const qint64 expected[] = {1, 2, 4, 8, 10, 10};
    qint64 now = kT0;
    for (const qint64 seconds : expected) {
        pool.reportResponse(QStringLiteral("a"), 503, HeaderList(), now);
        const qint64 until = *coolingUntil(pool, "a", now);
        QCOMPARE(until - now, seconds * kS);
        now = until;
    }
    ok(pool, "a", now);
    pool.reportResponse(QStringLiteral("a"), 500, HeaderList(), now);
    QCOMPARE(*coolingUntil(pool, "a", now) - now, kS);

    pool.reportFailure(QStringLiteral("b"), kT0);
    pool.reportFailure(QStringLiteral("b"), kT0 + kS);
    QCOMPARE(coolingUntil(pool, "b", kT0 + kS), kT0 + 3 * kS);
    QCOMPARE(pool.keySnapshot(QStringLiteral("b"), kT0)->lastStatus, KeyPool::kConnectFailure);
    QCOMPARE(pool.pick(kT0 + kS).alias, QStringLiteral("c"));
}

void tst_KeyPool::successDuringCoolDownDoesNotEndIt()
{
    KeyPool pool = threeKeys();
    limit(pool, "a", kT0, "30");
    // A stream that started before the 429 finishes fine: the server's pause still holds.
    ok(pool, "a", kT0 + kS);
    QCOMPARE(stateOf(pool, "a", kT0 + kS), State::CoolingDown);
    QCOMPARE(coolingUntil(pool, "a", kT0 + kS), kT0 + 30 * kS);
}

void tst_KeyPool::coolDownIsNeverShortened()
{
    KeyPool pool = threeKeys();
    limit(pool, "a", kT0, "30");
    pool.reportResponse(QStringLiteral("a"), 500, HeaderList(), kT0 + kS);
    limit(pool, "a", kT0 + kS, "2");
    QCOMPARE(coolingUntil(pool, "a", kT0 + kS), kT0 + 30 * kS);
    limit(pool, "a", kT0 + kS, "45");
    QCOMPARE(coolingUntil(pool, "a", kT0 + kS), kT0 + 46 * kS);
}

void tst_KeyPool::allKeysCoolingGivesEarliestAvailability()
{
    KeyPool pool = threeKeys();
    limit(pool, "a", kT0, "30");
    limit(pool, "b", kT0, "10");
    limit(pool, "c", kT0, "20");
    const KeyPool::Pick none = pool.pick(kT0 + kS);
    QVERIFY(!none.isValid());
    QVERIFY(none.alias.isEmpty());
    QVERIFY(none.secret.isEmpty());
    QCOMPARE(none.availableAtUs, kT0 + 10 * kS);
    QCOMPARE(pool.pick(kT0 + 10 * kS).alias, QStringLiteral("b"));

    const KeyPool::Headroom headroom = pool.headroom(kT0 + kS);
    QCOMPARE(headroom.healthyKeys, 0);
}

void tst_KeyPool::noUsableKeyWithoutUserGivesNoAvailability()
{
    KeyPool empty;
    QVERIFY(!empty.pick(kT0).isValid());
    QVERIFY(!empty.pick(kT0).availableAtUs);

    KeyPool pool = threeKeys();
    pool.reportResponse(QStringLiteral("a"), 401, HeaderList(), kT0);
    pool.reportResponse(QStringLiteral("b"), 403, HeaderList(), kT0);
    pool.setEnabled(QStringLiteral("c"), false);
    const KeyPool::Pick none = pool.pick(kT0);
    QVERIFY(!none.isValid());
    QVERIFY(!none.availableAtUs);
}

void tst_KeyPool::affinityKeepsSessionOnItsKey()
{
    KeyPool pool = threeKeys();
    pool.setSessionAffinity(true);
    QCOMPARE(pool.pick(kT0, "s1").alias, QStringLiteral("a"));
    QCOMPARE(pool.pick(kT0, "s2").alias, QStringLiteral("b"));
    QCOMPARE(pool.pick(kT0, "s3").alias, QStringLiteral("c"));
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(pool.pick(kT0 + i * kS, "s2").alias, QStringLiteral("b"));
        QCOMPARE(pool.pick(kT0 + i * kS, "s1").alias, QStringLiteral("a"));
        pool.pick(kT0 + i * kS); // requests without a session still rotate
    }
    QCOMPARE(pool.affinitySessionCount(), 3);
}

void tst_KeyPool::affinityMovesOnCoolDownAndSticksToNewKey()
{
    KeyPool pool = threeKeys();
    pool.setSessionAffinity(true);
    QCOMPARE(pool.pick(kT0, "s1").alias, QStringLiteral("a"));
    limit(pool, "a", kT0, "10");
    const QString moved = pool.pick(kT0 + kS, "s1").alias;
    QVERIFY(moved == QStringLiteral("b") || moved == QStringLiteral("c"));
    // It stays on its new key, also after the old one is healthy again.
    QCOMPARE(picks(pool, 3, kT0 + 2 * kS, "s1"), QStringList(3, moved));
    QCOMPARE(picks(pool, 3, kT0 + 60 * kS, "s1"), QStringList(3, moved));
}

void tst_KeyPool::affinityMovesWhenKeyIsDisabledOrRemoved()
{
    KeyPool pool = threeKeys();
    pool.setSessionAffinity(true);
    QCOMPARE(pool.pick(kT0, "s1").alias, QStringLiteral("a"));
    QCOMPARE(pool.pick(kT0, "s2").alias, QStringLiteral("b"));
    pool.reportResponse(QStringLiteral("a"), 401, HeaderList(), kT0);
    const QString s1Key = pool.pick(kT0, "s1").alias;
    QVERIFY(s1Key != QStringLiteral("a") && !s1Key.isEmpty());
    QCOMPARE(pool.pick(kT0, "s1").alias, s1Key);

    pool.removeKey(QStringLiteral("b"));
    const QString s2Key = pool.pick(kT0, "s2").alias;
    QCOMPARE(s2Key, QStringLiteral("c"));
    QCOMPARE(pool.pick(kT0, "s2").alias, s2Key);
}

void tst_KeyPool::affinityOffSpreadsSessionRequests()
{
    KeyPool pool = threeKeys();
    QVERIFY(!pool.hasSessionAffinity());
    QCOMPARE(picks(pool, 3, kT0, "s1"), list({"a", "b", "c"}));
    QCOMPARE(pool.affinitySessionCount(), 0);
}

void tst_KeyPool::affinityTableStaysBounded()
{
    KeyPool pool = threeKeys();
    pool.setSessionAffinity(true);
    for (int i = 0; i < KeyPool::kDefaultMaxSessions + 500; ++i)
        pool.pick(kT0 + i, "session-" + QByteArray::number(i));
    QVERIFY(pool.affinitySessionCount() <= KeyPool::kDefaultMaxSessions);
    QVERIFY(pool.affinitySessionCount() >= KeyPool::kDefaultMaxSessions / 2);

    // The most recent sessions keep their key; the table makes room by dropping the oldest.
    KeyPool small = threeKeys();
    small.setSessionAffinity(true);
    small.setAffinityBounds(100, KeyPool::kDefaultSessionIdleUs);
    QString lastKey;
    for (int i = 0; i < 1000; ++i)
        lastKey = small.pick(kT0 + i, "s" + QByteArray::number(i)).alias;
    QVERIFY(small.affinitySessionCount() <= 100);
    QCOMPARE(small.pick(kT0 + 2000, "s999").alias, lastKey);
}

void tst_KeyPool::idleSessionsAgeOut()
{
    KeyPool pool = threeKeys();
    pool.setSessionAffinity(true);
    QCOMPARE(pool.pick(kT0, "s1").alias, QStringLiteral("a"));
    // An hour of silence: its prompt cache is gone, so it is placed afresh (round robin
    // now points at b).
    const qint64 later = kT0 + KeyPool::kDefaultSessionIdleUs + 1;
    QCOMPARE(pool.pick(later, "s1").alias, QStringLiteral("b"));
    QCOMPARE(pool.pick(later + kS, "s1").alias, QStringLiteral("b"));

    // A full table first drops the idle sessions.
    KeyPool small = threeKeys();
    small.setSessionAffinity(true);
    small.setAffinityBounds(10, KeyPool::kDefaultSessionIdleUs);
    for (int i = 0; i < 10; ++i)
        small.pick(kT0, "old" + QByteArray::number(i));
    QCOMPARE(small.affinitySessionCount(), 10);
    small.pick(later, "new");
    QCOMPARE(small.affinitySessionCount(), 1);
}

void tst_KeyPool::leastRecentlyLimitedPrefersKeyLimitedLongestAgo()
{
    KeyPool pool = threeKeys();
    pool.setStrategy(KeyPool::Strategy::LeastRecentlyLimited);
    limit(pool, "a", kT0, "1");
    limit(pool, "b", kT0 + 5 * kS, "1");
    // c was never limited: it takes everything while it is fine.
    QCOMPARE(picks(pool, 3, kT0 + 10 * kS), list({"c", "c", "c"}));
    limit(pool, "c", kT0 + 10 * kS, "5");
    // Then the one limited longest ago, a.
    QCOMPARE(picks(pool, 2, kT0 + 11 * kS), list({"a", "a"}));
    limit(pool, "a", kT0 + 11 * kS, "100");
    QCOMPARE(pool.pick(kT0 + 12 * kS).alias, QStringLiteral("b"));
    QCOMPARE(pool.pick(kT0 + 15 * kS).alias, QStringLiteral("b")); // c back but limited later
}

void tst_KeyPool::leastRecentlyLimitedSharesLoadAmongUnlimitedKeys()
{
    KeyPool pool = threeKeys();
    pool.setStrategy(KeyPool::Strategy::LeastRecentlyLimited);
    QCOMPARE(picks(pool, 6, kT0), list({"a", "b", "c", "a", "b", "c"}));
}

void tst_KeyPool::recordsLatestRateLimitValues()
{
    KeyPool pool = threeKeys();
    pool.reportResponse(
        QStringLiteral("a"), 200,
        headers({{"date", kDate.constData()},
                 {"Anthropic-RateLimit-Requests-Limit", "4000"},
                 {"anthropic-ratelimit-requests-remaining", "3999"},
                 {"anthropic-ratelimit-requests-reset", "2026-04-01T12:00:01Z"},
                 {"anthropic-ratelimit-tokens-limit", "2000000"},
                 {"anthropic-ratelimit-tokens-remaining", "1999000"},
                 {"anthropic-ratelimit-input-tokens-limit", "1600000"},
                 {"anthropic-ratelimit-input-tokens-remaining", "1600000"},
                 {"anthropic-ratelimit-output-tokens-limit", "400000"},
                 {"anthropic-ratelimit-output-tokens-remaining", "399000"},
                 {"anthropic-ratelimit-output-tokens-reset", "2026-04-01T12:00:06Z"},
                 {"anthropic-ratelimit-unified-status", "allowed"},
                 {"anthropic-ratelimit-unified-5h-reset", "1775048400"},
                 {"anthropic-ratelimit-unified-5h-utilization", "0.42"}}),
        kT0);
    KeyPool::RateLimits limits = pool.keySnapshot(QStringLiteral("a"), kT0)->limits;
    QCOMPARE(limits.requests.limit, 4000);
    QCOMPARE(limits.requests.remaining, 3999);
    QCOMPARE(limits.requests.resetAtMs, kDateMs + 1000);
    QCOMPARE(limits.requests.resetAtUs, kT0 + kS);
    QCOMPARE(limits.tokens.limit, 2000000);
    QCOMPARE(limits.tokens.remaining, 1999000);
    QCOMPARE(limits.tokens.resetAtMs, -1);
    QCOMPARE(limits.inputTokens.remaining, 1600000);
    QCOMPARE(limits.outputTokens.limit, 400000);
    QCOMPARE(limits.outputTokens.resetAtUs, kT0 + 6 * kS);
    QCOMPARE(limits.unified.size(), 3);
    QCOMPARE(limits.unified.value("anthropic-ratelimit-unified-status"), QByteArray("allowed"));
    QCOMPARE(limits.unified.value("anthropic-ratelimit-unified-5h-utilization"),
             QByteArray("0.42"));
    QCOMPARE(limits.updatedUs, kT0);
    QCOMPARE(stateOf(pool, "a", kT0), State::Healthy);

    // A response without the headers (an error page from a proxy in between) keeps them;
    // one with only some families updates just those.
    pool.reportResponse(QStringLiteral("a"), 200, headers({{"content-type", "text/html"}}),
                        kT0 + kS);
    pool.reportResponse(QStringLiteral("a"), 200,
                        headers({{"anthropic-ratelimit-requests-remaining", "3998"}}),
                        kT0 + 2 * kS);
    limits = pool.keySnapshot(QStringLiteral("a"), kT0)->limits;
    QCOMPARE(limits.requests.remaining, 3998);
    QCOMPARE(limits.requests.limit, -1);
    QCOMPARE(limits.tokens.remaining, 1999000);
    QCOMPARE(limits.unified.size(), 3);
    QCOMPARE(limits.updatedUs, kT0 + 2 * kS);
}

void tst_KeyPool::combinedHeadroomSumsHealthyKeys()
{
    KeyPool pool = threeKeys();
    const auto report = [&](const char *alias, const char *remaining, const char *reset) {
        pool.reportResponse(QString::fromLatin1(alias), 200,
                            headers({{"date", kDate.constData()},
                                     {"anthropic-ratelimit-requests-limit", "50"},
                                     {"anthropic-ratelimit-requests-remaining", remaining},
                                     {"anthropic-ratelimit-requests-reset", reset},
                                     {"anthropic-ratelimit-input-tokens-limit", "30000"},
                                     {"anthropic-ratelimit-input-tokens-remaining", "20000"}}),
                            kT0);
    };
    report("a", "40", "2026-04-01T12:00:30Z");
    report("b", "10", "2026-04-01T12:00:30Z");
    report("c", "50", "2026-04-01T12:00:30Z");
    limit(pool, "c", kT0, "60");

    KeyPool::Headroom headroom = pool.headroom(kT0);
    QCOMPARE(headroom.healthyKeys, 2);
    QCOMPARE(headroom.requests.remaining, 50);
    QCOMPARE(headroom.requests.limit, 100);
    QCOMPARE(headroom.requests.keysReporting, 2);
    QCOMPARE(headroom.inputTokens.remaining, 40000);
    QCOMPARE(headroom.inputTokens.limit, 60000);
    QCOMPARE(headroom.outputTokens.keysReporting, 0);
    QCOMPARE(headroom.tokens.limit, 0);

    // Past the reset the limits are whole again.
    headroom = pool.headroom(kT0 + 30 * kS);
    QCOMPARE(headroom.requests.remaining, 100);
    // And once c's cool-down is over it counts too.
    headroom = pool.headroom(kT0 + 60 * kS);
    QCOMPARE(headroom.healthyKeys, 3);
    QCOMPARE(headroom.requests.remaining, 150);
    QCOMPARE(headroom.requests.limit, 150);
}

void tst_KeyPool::malformedHeaderValuesAreIgnored_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QByteArray>("value");
    const QList<QByteArray> retryAfters = {"",
                                           " ",
                                           "abc",
                                           "-5",
                                           "+5",
                                           "5s",
                                           "1e3",
                                           "3.",
                                           "Wed, 31 Feb 2026 12:00:00 GMT",
                                           "Wed, 01 Foo 2026 12:00:00 GMT",
                                           "Wed, 01 Apr 2026 25:00:00 GMT",
                                           "Wed, 01 Apr 2026 12:00:00 PST",
                                           "Wed, 01 Apr 2026 12:00 GMT",
                                           "Wed, 01 Apr 2026",
                                           "01 01 01 01",
                                           QByteArray(5000, '9') + 'x',
                                           QByteArray("1\0"
                                                      "2",
                                                      3)};
    for (const QByteArray &value : retryAfters)
        QTest::newRow(QByteArray("retry-after " + value.left(40).toPercentEncoding()).constData())
            << QByteArray("retry-after") << value;
    const QList<QByteArray> resets = {"",
                                      "tomorrow",
                                      "2026-04-01",
                                      "2026-04-01T12:00:30",
                                      "2026-13-01T12:00:30Z",
                                      "2026-02-30T12:00:30Z",
                                      "2026-04-01T24:00:30Z",
                                      "2026-04-01T12:00:30+2:00",
                                      "2026-04-01T12:00:30.Z",
                                      "2026-04-01T12:00:30Zjunk",
                                      "99999-04-01T12:00:30Z",
                                      "1775048400"};
    for (const QByteArray &value : resets)
        QTest::newRow(QByteArray("reset " + value.toPercentEncoding()).constData())
            << QByteArray("anthropic-ratelimit-requests-reset") << value;
}

void tst_KeyPool::malformedHeaderValuesAreIgnored()
{
    QFETCH(QByteArray, name);
    QFETCH(QByteArray, value);
    KeyPool pool = threeKeys();
    HeaderList h = headers({{"date", kDate.constData()},
                            {"anthropic-ratelimit-requests-remaining", "0"},
                            {"anthropic-ratelimit-requests-limit", "12abc"},
                            {"anthropic-ratelimit-tokens-limit", "99999999999999999999999"},
                            {"anthropic-ratelimit-tokens-remaining", "-3"},
                            {"anthropic-ratelimit-bogus-thing", "1"},
                            {"anthropic-ratelimit-", "1"}});
    h.append(name, value);
    pool.reportResponse(QStringLiteral("a"), 429, h, kT0);
    // Nothing usable: the key gets the first backoff step, and the pool still works.
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + kS);
    const KeyPool::RateLimits limits = pool.keySnapshot(QStringLiteral("a"), kT0)->limits;
    QCOMPARE(limits.requests.remaining, 0);
    QCOMPARE(limits.requests.limit, -1);
    QCOMPARE(limits.tokens.limit, -1);
    QCOMPARE(limits.tokens.remaining, -1);
    if (name != "retry-after")
        QCOMPARE(limits.requests.resetAtMs, -1);
    QCOMPARE(pool.pick(kT0).alias, QStringLiteral("b"));
    // As a Date header it cannot place a reset in time either: backoff, not a wild guess.
    pool.reportResponse(QStringLiteral("b"), 429,
                        headers({{"date", value.constData()},
                                 {"anthropic-ratelimit-requests-remaining", "0"},
                                 {"anthropic-ratelimit-requests-reset", "2026-04-01T12:00:30Z"}}),
                        kT0);
    QCOMPARE(coolingUntil(pool, "b", kT0), kT0 + kS);
}

void tst_KeyPool::absurdRetryAfterIsCappedAtAnHour()
{
    KeyPool pool = threeKeys();
    limit(pool, "a", kT0, "999999999999999999999");
    QCOMPARE(coolingUntil(pool, "a", kT0), kT0 + 3600 * kS);
    pool.reportResponse(
        QStringLiteral("b"), 429,
        headers({{"date", kDate.constData()}, {"retry-after", "Fri, 01 Jan 2100 00:00:00 GMT"}}),
        kT0);
    QCOMPARE(coolingUntil(pool, "b", kT0), kT0 + 3600 * kS);
}

void tst_KeyPool::retryPolicyFollowsStatus_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("expected");
    QTest::newRow("connect failure") << KeyPool::kConnectFailure << true;
    QTest::newRow("200") << 200 << false;
    QTest::newRow("400") << 400 << false;
    QTest::newRow("401 key refused") << 401 << true;
    QTest::newRow("403 key refused") << 403 << true;
    QTest::newRow("404") << 404 << false;
    QTest::newRow("413") << 413 << false;
    QTest::newRow("429") << 429 << true;
    QTest::newRow("500") << 500 << true;
    QTest::newRow("502") << 502 << true;
    QTest::newRow("503") << 503 << true;
    QTest::newRow("529") << 529 << true;
}

void tst_KeyPool::retryPolicyFollowsStatus()
{
    QFETCH(int, status);
    QFETCH(bool, expected);
    QCOMPARE(KeyPool::shouldRetry(status), expected);
}

void tst_KeyPool::retryBudgetTriesDistinctKeysAtMostFour()
{
    KeyPool pool;
    for (int i = 0; i < 6; ++i)
        pool.addKey(QStringLiteral("k%1").arg(i), "sk");
    KeyPool::RetryBudget budget = pool.retryBudget();
    QCOMPARE(budget.maxKeys(), 4);
    QStringList tried;
    qint64 now = kT0;
    for (;;) {
        const KeyPool::Pick pick = pool.pick(now, "s1", &budget);
        QVERIFY(pick.isValid());
        QVERIFY(!tried.contains(pick.alias));
        tried.append(pick.alias);
        budget.recordAttempt(pick);
        pool.reportResponse(pick.alias, 529, HeaderList(), now);
        if (!budget.allowsRetry(529, false))
            break;
    }
    QCOMPARE(tried, list({"k0", "k1", "k2", "k3"}));

    KeyPool two;
    two.addKey(QStringLiteral("a"), "sk-a");
    two.addKey(QStringLiteral("b"), "sk-b");
    KeyPool::RetryBudget small = two.retryBudget();
    QCOMPARE(small.maxKeys(), 2);
    const KeyPool::Pick first = two.pick(kT0, {}, &small);
    small.recordAttempt(first);
    QVERIFY(small.allowsRetry(KeyPool::kConnectFailure, false));
    // The other key is excluded even though the first one is not cooling down.
    const KeyPool::Pick second = two.pick(kT0, {}, &small);
    QCOMPARE(second.alias, QStringLiteral("b"));
    small.recordAttempt(second);
    QVERIFY(!small.allowsRetry(500, false));
    const KeyPool::Pick third = two.pick(kT0, {}, &small);
    QVERIFY(!third.isValid());
    QVERIFY(!third.availableAtUs); // only tried keys are left: forward the last answer

    KeyPool one;
    one.addKey(QStringLiteral("a"), "sk-a");
    KeyPool::RetryBudget single = one.retryBudget();
    single.recordAttempt(one.pick(kT0, {}, &single));
    QVERIFY(!single.allowsRetry(429, false));
}

void tst_KeyPool::retryBudgetStopsOnceClientHasBytes()
{
    KeyPool pool = threeKeys();
    KeyPool::RetryBudget budget = pool.retryBudget();
    budget.recordAttempt(pool.pick(kT0, {}, &budget));
    QVERIFY(budget.allowsRetry(529, false));
    QVERIFY(!budget.allowsRetry(529, true));
    QVERIFY(!budget.allowsRetry(400, false));
    QVERIFY(!budget.allowsRetry(200, false));
}

void tst_KeyPool::eventsReportDisableCoolDownAndRecovery()
{
    KeyPool pool = threeKeys();
    QList<Event> events;
    pool.setEventHandler([&](const Event &event) { events.append(event); });

    limit(pool, "a", kT0, "20");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].kind, Event::Kind::CoolingDown);
    QCOMPARE(events[0].alias, QStringLiteral("a"));
    QCOMPARE(events[0].status, 429);
    QCOMPARE(events[0].atUs, kT0);
    QCOMPARE(events[0].untilUs, kT0 + 20 * kS);
    QVERIFY(events[0].reason.contains(QStringLiteral("20")));

    // A shorter pause within the longer one changes nothing and says nothing.
    pool.reportResponse(QStringLiteral("a"), 500, HeaderList(), kT0 + kS);
    ok(pool, "a", kT0 + 2 * kS); // an answer to an older request
    QCOMPARE(events.size(), 1);

    ok(pool, "a", kT0 + 21 * kS);
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[1].kind, Event::Kind::Recovered);
    QCOMPARE(events[1].alias, QStringLiteral("a"));
    ok(pool, "a", kT0 + 22 * kS);
    QCOMPARE(events.size(), 2); // healthy keys stay quiet

    pool.reportResponse(QStringLiteral("b"), 401, HeaderList(), kT0);
    QCOMPARE(events.size(), 3);
    QCOMPARE(events[2].kind, Event::Kind::Disabled);
    QCOMPARE(events[2].alias, QStringLiteral("b"));
    QCOMPARE(events[2].status, 401);
    QVERIFY(events[2].reason.contains(QStringLiteral("401")));
    pool.reportResponse(QStringLiteral("b"), 401, HeaderList(), kT0 + kS);
    QCOMPARE(events.size(), 3); // said once

    // What the user does needs no notice.
    pool.setEnabled(QStringLiteral("b"), true);
    pool.setEnabled(QStringLiteral("c"), false);
    QCOMPARE(events.size(), 3);
}

void tst_KeyPool::keyManagement()
{
    KeyPool pool = threeKeys();
    QCOMPARE(pool.keyCount(), 3);
    QVERIFY(!pool.addKey(QStringLiteral("a"), "dup"));
    QVERIFY(!pool.addKey(QString(), "none"));
    QCOMPARE(pool.aliases(), list({"a", "b", "c"}));
    QCOMPARE(pool.pick(kT0).alias, QStringLiteral("a"));
    QVERIFY(pool.removeKey(QStringLiteral("a")));
    QVERIFY(!pool.removeKey(QStringLiteral("a")));
    QVERIFY(!pool.contains(QStringLiteral("a")));
    QCOMPARE(picks(pool, 3, kT0), list({"b", "c", "b"}));
    pool.addKey(QStringLiteral("d"), "sk-d");
    QCOMPARE(picks(pool, 3, kT0), list({"c", "d", "b"}));
    QCOMPARE(pool.snapshot(kT0).size(), 3);
    QVERIFY(!pool.keySnapshot(QStringLiteral("zzz"), kT0));
    // Reports for keys that are gone are ignored.
    pool.reportResponse(QStringLiteral("a"), 429, HeaderList(), kT0);
    pool.reportFailure(QStringLiteral("a"), kT0);
    QCOMPARE(pool.enabledKeyCount(), 3);
}

QTEST_APPLESS_MAIN(tst_KeyPool)
#include "tst_KeyPool.moc"
