#include "keys/BudgetGuard.h"
#include "keys/RateLimiter.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <QTimeZone>

using namespace tollgate;
using Limit = RateLimiter::Limit;
using Level = BudgetGuard::Level;
using Period = BudgetGuard::Period;

Q_DECLARE_METATYPE(tollgate::BudgetGuard::Level)

namespace {

constexpr qint64 kS = 1000 * 1000; // one second in microseconds
constexpr qint64 kT0 = 7000 * kS; // an arbitrary monotonic start
constexpr qint64 kPicoUsd = 1000LL * 1000 * 1000 * 1000;

RateLimiter::Limits limits(qint64 rpm, qint64 itpm = 0, qint64 otpm = 0, int streams = 0)
{
    RateLimiter::Limits l;
    l.requestsPerMinute = rpm;
    l.inputTokensPerMinute = itpm;
    l.outputTokensPerMinute = otpm;
    l.maxConcurrentStreams = streams;
    return l;
}

// Admits (and releases) until refused; the number admitted.
int admitAll(RateLimiter &limiter, qint64 nowUs, int max = 100000)
{
    int count = 0;
    while (count < max && limiter.admit(nowUs).isAllowed()) {
        limiter.release();
        ++count;
    }
    return count;
}

QDateTime utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0)
{
    return QDateTime(QDate(y, mo, d), QTime(h, mi, s), QTimeZone::utc());
}

QJsonObject errorOf(const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    [&] { QCOMPARE(root.value(QStringLiteral("type")).toString(), QStringLiteral("error")); }();
    return root.value(QStringLiteral("error")).toObject();
}

} // namespace

class tst_RateLimiter final : public QObject
{
    Q_OBJECT

private slots:
    void defaultLetsAClaudeCodeBurstThrough();
    void admitsExactlyTheLimitThenRefuses();
    void refillsOneRequestPerSlice();
    void refillsToFullAfterAMinuteAndNoFurther();
    void refusedRequestsTakeNothing();
    void unlimitedWhenZero();
    void tokenBucketExactlyAtLimitRefusesNext();
    void tokenChargeGoingNegativeDelaysLaterRequests();
    void outputTokensLimitAppliesToo();
    void hugeDebtStaysBoundedAndRetryAfterCapped();
    void concurrencyCapAndRelease();
    void longestWaitNamesTheLimit();
    void changingLimitsKeepsAndTrimsLevels();
    void retryAfterIsWholeSecondsBetweenOneAndSixty_data();
    void retryAfterIsWholeSecondsBetweenOneAndSixty();
    void rateLimitReplyHasAnthropicShape();
    void tooManyRequestsClampsRetryAfter();
    void budgetLevels_data();
    void budgetLevels();
    void budgetWithoutCapsIsAlwaysOk();
    void budgetPicksTheBindingCap();
    void budgetExhaustedReplyStopsRetries();
    void budgetWarningMessageNamesShare();
    void dailyResetAtLocalMidnightAcrossSpringDst();
    void dailyResetAtLocalMidnightAcrossAutumnDst();
    void monthlyResetOnTheFirstAcrossDst();
    void dayStartsAfterMidnightSkippedByDst();
    void invalidZoneMeansUtc();
};

void tst_RateLimiter::defaultLetsAClaudeCodeBurstThrough()
{
    RateLimiter limiter;
    QVERIFY(limiter.limits().requestsPerMinute >= 200);
    QCOMPARE(limiter.limits().maxConcurrentStreams, 0);
    // Two hundred requests in the same instant (parallel subagents) all pass.
    for (int i = 0; i < 200; ++i)
        QVERIFY(limiter.admit(kT0).isAllowed());
    QCOMPARE(limiter.activeStreams(), 200);
}

void tst_RateLimiter::admitsExactlyTheLimitThenRefuses()
{
    RateLimiter limiter(limits(200));
    QCOMPARE(limiter.availableRequests(kT0), 200);
    QCOMPARE(admitAll(limiter, kT0), 200);
    const RateLimiter::Admission refused = limiter.admit(kT0);
    QVERIFY(!refused.isAllowed());
    QCOMPARE(refused.limitedBy, Limit::Requests);
    QCOMPARE(refused.retryAfterSeconds, 1); // the next request refills in 0.3 s
    QCOMPARE(limiter.availableRequests(kT0), 0);
}

void tst_RateLimiter::refillsOneRequestPerSlice()
{
    RateLimiter limiter(limits(200)); // one request every 300 ms
    QCOMPARE(admitAll(limiter, kT0), 200);
    QVERIFY(!limiter.admit(kT0 + 300 * 1000 - 1).isAllowed());
    QVERIFY(limiter.admit(kT0 + 300 * 1000).isAllowed());
    QVERIFY(!limiter.admit(kT0 + 300 * 1000).isAllowed());
    QCOMPARE(admitAll(limiter, kT0 + 3 * kS), 9);

    RateLimiter slow(limits(6)); // one every 10 s
    QCOMPARE(admitAll(slow, kT0), 6);
    const RateLimiter::Admission refused = slow.admit(kT0 + kS);
    QCOMPARE(refused.retryAfterSeconds, 9);
    QVERIFY(!slow.admit(kT0 + 10 * kS - 1).isAllowed());
    QVERIFY(slow.admit(kT0 + 10 * kS).isAllowed());
}

void tst_RateLimiter::refillsToFullAfterAMinuteAndNoFurther()
{
    RateLimiter limiter(limits(200));
    QCOMPARE(admitAll(limiter, kT0), 200);
    QCOMPARE(limiter.availableRequests(kT0 + 60 * kS), 200);
    // An idle day does not bank more than one minute's worth.
    QCOMPARE(limiter.availableRequests(kT0 + 86400 * kS), 200);
    QCOMPARE(admitAll(limiter, kT0 + 86400 * kS), 200);
}

void tst_RateLimiter::refusedRequestsTakeNothing()
{
    RateLimiter limiter(limits(2)); // one every 30 s
    QCOMPARE(admitAll(limiter, kT0), 2);
    for (int i = 0; i < 50; ++i)
        QVERIFY(!limiter.admit(kT0 + i * 100 * 1000).isAllowed());
    QCOMPARE(limiter.activeStreams(), 0);
    QVERIFY(limiter.admit(kT0 + 30 * kS).isAllowed());
}

void tst_RateLimiter::unlimitedWhenZero()
{
    RateLimiter limiter(limits(0));
    QCOMPARE(admitAll(limiter, kT0, 5000), 5000);
    QCOMPARE(limiter.availableRequests(kT0), -1);
    QCOMPARE(limiter.availableInputTokens(kT0), -1);
    limiter.charge(1000000000, 1000000000, kT0);
    QVERIFY(limiter.admit(kT0).isAllowed());
}

void tst_RateLimiter::tokenBucketExactlyAtLimitRefusesNext()
{
    RateLimiter limiter(limits(0, 1000));
    QVERIFY(limiter.admit(kT0).isAllowed());
    limiter.release();
    limiter.charge(999, 0, kT0);
    QCOMPARE(limiter.availableInputTokens(kT0), 1);
    QVERIFY(limiter.admit(kT0).isAllowed()); // one token left: still under the limit
    limiter.release();
    limiter.charge(1, 0, kT0);
    QCOMPARE(limiter.availableInputTokens(kT0), 0);
    const RateLimiter::Admission refused = limiter.admit(kT0);
    QVERIFY(!refused.isAllowed());
    QCOMPARE(refused.limitedBy, Limit::InputTokens);
    QCOMPARE(refused.retryAfterSeconds, 1);
    // One token refills in 60 ms.
    QVERIFY(!limiter.admit(kT0 + 60 * 1000 - 1).isAllowed());
    QVERIFY(limiter.admit(kT0 + 60 * 1000).isAllowed());
}

void tst_RateLimiter::tokenChargeGoingNegativeDelaysLaterRequests()
{
    RateLimiter limiter(limits(0, 1000));
    QVERIFY(limiter.admit(kT0).isAllowed());
    limiter.release();
    limiter.charge(3000, 0, kT0); // a big answer: three minutes' worth at once
    QCOMPARE(limiter.availableInputTokens(kT0), -2000);
    RateLimiter::Admission refused = limiter.admit(kT0);
    QCOMPARE(refused.limitedBy, Limit::InputTokens);
    QCOMPARE(refused.retryAfterSeconds, 60); // 120.06 s, but never more than 60
    QCOMPARE(limiter.availableInputTokens(kT0 + 60 * kS), -1000);
    refused = limiter.admit(kT0 + 61 * kS);
    QVERIFY(!refused.isAllowed());
    QCOMPARE(refused.retryAfterSeconds, 60); // 59.06 s, rounded up
    // 2001 tokens at 1000 per minute: 120.06 s after the charge.
    QVERIFY(!limiter.admit(kT0 + 120060 * 1000 - 1).isAllowed());
    QVERIFY(limiter.admit(kT0 + 120060 * 1000).isAllowed());
}

void tst_RateLimiter::outputTokensLimitAppliesToo()
{
    RateLimiter limiter(limits(0, 0, 600)); // ten output tokens a second
    QVERIFY(limiter.admit(kT0).isAllowed());
    limiter.release();
    limiter.charge(5000000, 650, kT0); // input is not limited here
    const RateLimiter::Admission refused = limiter.admit(kT0);
    QCOMPARE(refused.limitedBy, Limit::OutputTokens);
    QCOMPARE(refused.retryAfterSeconds, 6); // -50 -> 1 token: 5.1 s
    QVERIFY(limiter.admit(kT0 + 5100 * 1000).isAllowed());
}

void tst_RateLimiter::hugeDebtStaysBoundedAndRetryAfterCapped()
{
    RateLimiter limiter(limits(100, 1000, 1000));
    limiter.charge(std::numeric_limits<qint64>::max(), std::numeric_limits<qint64>::max(), kT0);
    const RateLimiter::Admission refused = limiter.admit(kT0);
    QVERIFY(!refused.isAllowed());
    QCOMPARE(refused.retryAfterSeconds, 60);
    // Debt is capped at an hour of refill: after that the key works again.
    QVERIFY(limiter.admit(kT0 + 3661 * kS).isAllowed());
    limiter.release();
    limiter.charge(-5, -5, kT0 + 3661 * kS); // nonsense usage changes nothing
    QVERIFY(limiter.admit(kT0 + 3661 * kS).isAllowed());
}

void tst_RateLimiter::concurrencyCapAndRelease()
{
    RateLimiter limiter(limits(0, 0, 0, 2));
    QVERIFY(limiter.admit(kT0).isAllowed());
    QVERIFY(limiter.admit(kT0).isAllowed());
    const RateLimiter::Admission refused = limiter.admit(kT0);
    QCOMPARE(refused.limitedBy, Limit::ConcurrentStreams);
    QCOMPARE(refused.retryAfterSeconds, 1);
    QCOMPARE(limiter.activeStreams(), 2);
    limiter.release();
    QCOMPARE(limiter.activeStreams(), 1);
    QVERIFY(limiter.admit(kT0).isAllowed());
    QVERIFY(!limiter.admit(kT0).isAllowed());
    limiter.release();
    limiter.release();
    limiter.release(); // one too many: never below zero, never more than two slots
    QCOMPARE(limiter.activeStreams(), 0);
    QVERIFY(limiter.admit(kT0).isAllowed());
    QVERIFY(limiter.admit(kT0).isAllowed());
    QVERIFY(!limiter.admit(kT0).isAllowed());
}

void tst_RateLimiter::longestWaitNamesTheLimit()
{
    RateLimiter limiter(limits(60, 600, 0, 1)); // 1 request/s, 10 input tokens/s
    QVERIFY(limiter.admit(kT0).isAllowed());
    limiter.charge(700, 0, kT0); // -100 tokens: 10.1 s
    RateLimiter::Admission refused = limiter.admit(kT0);
    QCOMPARE(refused.limitedBy, Limit::InputTokens);
    QCOMPARE(refused.retryAfterSeconds, 11);
    QVERIFY(limiter.message(refused).contains(QStringLiteral("600 input tokens per minute")));
    limiter.release();
    refused = limiter.admit(kT0 + 10100 * 1000);
    QVERIFY(refused.isAllowed());
}

void tst_RateLimiter::changingLimitsKeepsAndTrimsLevels()
{
    RateLimiter limiter(limits(100));
    QCOMPARE(admitAll(limiter, kT0, 40), 40);
    limiter.setLimits(limits(200), kT0);
    QCOMPARE(limiter.availableRequests(kT0), 60); // what was left, not a fresh bucket
    limiter.setLimits(limits(10), kT0);
    QCOMPARE(limiter.availableRequests(kT0), 10); // trimmed to the new size
    limiter.setLimits(limits(0), kT0);
    QCOMPARE(limiter.availableRequests(kT0), -1);
    limiter.setLimits(limits(50), kT0);
    QCOMPARE(limiter.availableRequests(kT0), 50); // switched on: starts full
}

void tst_RateLimiter::retryAfterIsWholeSecondsBetweenOneAndSixty_data()
{
    QTest::addColumn<qint64>("delayUs");
    QTest::addColumn<int>("expected");
    QTest::newRow("negative") << -5 * kS << 1;
    QTest::newRow("zero") << qint64(0) << 1;
    QTest::newRow("1 us") << qint64(1) << 1;
    QTest::newRow("1 s") << kS << 1;
    QTest::newRow("1 s + 1 us") << kS + 1 << 2;
    QTest::newRow("59.5 s") << 59500 * 1000LL << 60;
    QTest::newRow("60 s") << 60 * kS << 60;
    QTest::newRow("60 s + 1 us") << 60 * kS + 1 << 60;
    QTest::newRow("an hour") << 3600 * kS << 60;
    QTest::newRow("max") << std::numeric_limits<qint64>::max() << 60;
}

void tst_RateLimiter::retryAfterIsWholeSecondsBetweenOneAndSixty()
{
    QFETCH(qint64, delayUs);
    QFETCH(int, expected);
    QCOMPARE(RateLimiter::retryAfterSeconds(delayUs), expected);
}

void tst_RateLimiter::rateLimitReplyHasAnthropicShape()
{
    RateLimiter limiter(limits(200));
    admitAll(limiter, kT0);
    const RateLimiter::Admission refused = limiter.admit(kT0);
    const RateLimiter::Reply reply = limiter.reply(refused, "req_tg_1");
    QCOMPARE(reply.status, 429);
    QVERIFY(
        reply.body.startsWith(R"({"type":"error","error":{"type":"rate_limit_error","message":)"));
    const QJsonObject error = errorOf(reply.body);
    QCOMPARE(error.value(QStringLiteral("type")).toString(), QStringLiteral("rate_limit_error"));
    const QString message = error.value(QStringLiteral("message")).toString();
    QVERIFY2(message.contains(QStringLiteral("200 requests per minute")), qPrintable(message));
    QCOMPARE(
        QJsonDocument::fromJson(reply.body).object().value(QStringLiteral("request_id")).toString(),
        QStringLiteral("req_tg_1"));
    QCOMPARE(reply.headers.value("retry-after"), QByteArray("1"));
    QCOMPARE(reply.headers.value("x-should-retry"), QByteArray("true"));
    QCOMPARE(reply.headers.value("content-type"), QByteArray("application/json"));
    QCOMPARE(reply.headers.value("request-id"), QByteArray("req_tg_1"));

    const QByteArray http = reply.toHttpResponse();
    QVERIFY(http.startsWith("HTTP/1.1 429 Too Many Requests\r\n"));
    QVERIFY(http.contains("\r\nretry-after: 1\r\n"));
    QVERIFY(http.contains(
        QByteArray("\r\ncontent-length: " + QByteArray::number(reply.body.size()) + "\r\n")));
    QVERIFY(http.endsWith(QByteArray("\r\n\r\n" + reply.body)));

    RateLimiter streams(limits(0, 0, 0, 1));
    streams.admit(kT0);
    const QString busy = streams.message(streams.admit(kT0));
    QVERIFY2(busy.contains(QStringLiteral("1 requests at a time")), qPrintable(busy));
}

void tst_RateLimiter::tooManyRequestsClampsRetryAfter()
{
    const RateLimiter::Reply low =
        RateLimiter::tooManyRequests(QStringLiteral("All upstream keys are cooling down."), 0, {});
    QCOMPARE(low.headers.value("retry-after"), QByteArray("1"));
    QVERIFY(!low.headers.contains("request-id"));
    QVERIFY(!low.body.contains("request_id"));
    const RateLimiter::Reply high = RateLimiter::tooManyRequests(QStringLiteral("x"), 3600, {});
    QCOMPARE(high.headers.value("retry-after"), QByteArray("60"));
    const RateLimiter::Reply mid = RateLimiter::tooManyRequests(QStringLiteral("x"), 17, {});
    QCOMPARE(mid.headers.value("retry-after"), QByteArray("17"));
    QCOMPARE(errorOf(mid.body).value(QStringLiteral("message")).toString(), QStringLiteral("x"));
}

void tst_RateLimiter::budgetLevels_data()
{
    QTest::addColumn<qint64>("spent");
    QTest::addColumn<qint64>("cap");
    QTest::addColumn<Level>("expected");
    const qint64 ten = 10 * kPicoUsd;
    QTest::newRow("nothing spent") << qint64(0) << ten << Level::Ok;
    QTest::newRow("just under 80%") << 8 * kPicoUsd - 1 << ten << Level::Ok;
    QTest::newRow("exactly 80%") << 8 * kPicoUsd << ten << Level::Warning;
    QTest::newRow("just under 100%") << ten - 1 << ten << Level::Warning;
    QTest::newRow("exactly 100%") << ten << ten << Level::Exhausted;
    QTest::newRow("over") << ten + 1 << ten << Level::Exhausted;
    // 80% of 7 is 5.6: 5 is below, 6 is at or above.
    QTest::newRow("odd cap below") << qint64(5) << qint64(7) << Level::Ok;
    QTest::newRow("odd cap at") << qint64(6) << qint64(7) << Level::Warning;
    QTest::newRow("no cap") << 100 * kPicoUsd << qint64(0) << Level::Ok;
    const qint64 huge = 5000000 * kPicoUsd; // $5M: no overflow in the 80% test
    QTest::newRow("huge cap at 80%") << 4000000 * kPicoUsd << huge << Level::Warning;
    QTest::newRow("huge cap below") << 4000000 * kPicoUsd - 1 << huge << Level::Ok;
}

void tst_RateLimiter::budgetLevels()
{
    QFETCH(qint64, spent);
    QFETCH(qint64, cap);
    QFETCH(Level, expected);
    QCOMPARE(BudgetGuard::levelFor(spent, cap), expected);
    const BudgetGuard daily(QStringLiteral("key \"alice\""), {cap, 0}, QTimeZone("Europe/Berlin"));
    const BudgetGuard::Verdict verdict = daily.check(spent, 0, utc(2026, 4, 1, 12));
    QCOMPARE(verdict.level, expected);
    QCOMPARE(verdict.isExhausted(), expected == Level::Exhausted);
}

void tst_RateLimiter::budgetWithoutCapsIsAlwaysOk()
{
    const BudgetGuard guard(QStringLiteral("key \"alice\""), {}, QTimeZone::utc());
    const BudgetGuard::Verdict verdict =
        guard.check(999 * kPicoUsd, 9999 * kPicoUsd, utc(2026, 1, 1));
    QCOMPARE(verdict.level, Level::Ok);
    QCOMPARE(verdict.capPicoUsd, 0);
    QVERIFY(!verdict.resetsAt.isValid());
    QVERIFY(guard.message(verdict).isEmpty());
}

void tst_RateLimiter::budgetPicksTheBindingCap()
{
    const BudgetGuard guard(QStringLiteral("billing tag \"team-a\""),
                            {10 * kPicoUsd, 100 * kPicoUsd}, QTimeZone::utc());
    const QDateTime now = utc(2026, 4, 15, 9);
    // The day is spent, the month is fine: back tomorrow.
    BudgetGuard::Verdict verdict = guard.check(10 * kPicoUsd, 50 * kPicoUsd, now);
    QCOMPARE(verdict.level, Level::Exhausted);
    QCOMPARE(verdict.period, Period::Day);
    QCOMPARE(verdict.resetsAt, utc(2026, 4, 16));
    // Both spent: tomorrow would not help, the month decides.
    verdict = guard.check(10 * kPicoUsd, 100 * kPicoUsd, now);
    QCOMPARE(verdict.period, Period::Month);
    QCOMPARE(verdict.resetsAt, utc(2026, 5, 1));
    QCOMPARE(verdict.spentPicoUsd, 100 * kPicoUsd);
    QCOMPARE(verdict.capPicoUsd, 100 * kPicoUsd);
    // Month near its cap, day fine: the warning is about the month.
    verdict = guard.check(1 * kPicoUsd, 85 * kPicoUsd, now);
    QCOMPARE(verdict.level, Level::Warning);
    QCOMPARE(verdict.period, Period::Month);
    // Only a monthly cap.
    const BudgetGuard monthly(QStringLiteral("x"), {0, 20 * kPicoUsd}, QTimeZone::utc());
    verdict = monthly.check(500 * kPicoUsd, 19 * kPicoUsd, now);
    QCOMPARE(verdict.level, Level::Warning);
    QCOMPARE(verdict.period, Period::Month);
}

void tst_RateLimiter::budgetExhaustedReplyStopsRetries()
{
    const BudgetGuard guard(QStringLiteral("key \"alice\""), {10 * kPicoUsd, 0},
                            QTimeZone("Europe/Berlin"));
    // 2026-03-29 is the day Berlin moves to summer time.
    const BudgetGuard::Verdict verdict =
        guard.check(10 * kPicoUsd + 2 * kPicoUsd / 100, 0, utc(2026, 3, 29, 10));
    QVERIFY(verdict.isExhausted());
    const RateLimiter::Reply reply = guard.reply(verdict, "req_tg_9");
    QCOMPARE(reply.status, 429);
    QCOMPARE(reply.headers.value("x-should-retry"), QByteArray("false"));
    QVERIFY(!reply.headers.contains("retry-after"));
    QCOMPARE(reply.headers.value("request-id"), QByteArray("req_tg_9"));
    const QJsonObject error = errorOf(reply.body);
    QCOMPARE(error.value(QStringLiteral("type")).toString(), QStringLiteral("rate_limit_error"));
    const QString message = error.value(QStringLiteral("message")).toString();
    QVERIFY2(message.contains(QStringLiteral("daily budget of $10.00")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("key \"alice\"")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("$10.02 spent")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("2026-03-30 00:00 (Europe/Berlin)")),
             qPrintable(message));
    QVERIFY(!reply.toHttpResponse().contains("retry-after"));
}

void tst_RateLimiter::budgetWarningMessageNamesShare()
{
    const BudgetGuard guard(QStringLiteral("key \"bob\""), {0, 50 * kPicoUsd}, QTimeZone::utc());
    const BudgetGuard::Verdict verdict = guard.check(0, 45 * kPicoUsd, utc(2026, 12, 31, 23, 59));
    QCOMPARE(verdict.level, Level::Warning);
    QCOMPARE(verdict.resetsAt, utc(2027, 1, 1));
    const QString message = guard.message(verdict);
    QVERIFY2(message.contains(QStringLiteral("90 %")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("monthly budget of $50.00")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("2027-01-01 00:00 (UTC)")), qPrintable(message));
}

void tst_RateLimiter::dailyResetAtLocalMidnightAcrossSpringDst()
{
    const QTimeZone berlin("Europe/Berlin");
    QVERIFY(berlin.isValid());
    const BudgetGuard guard(QStringLiteral("x"), {kPicoUsd, 0}, berlin);
    // 00:30 CET on 2026-03-29; at 02:00 the clocks jump to 03:00 CEST.
    const QDateTime now = utc(2026, 3, 28, 23, 30);
    const QDateTime start = guard.periodStart(Period::Day, now);
    const QDateTime reset = guard.nextReset(Period::Day, now);
    QCOMPARE(start, utc(2026, 3, 28, 23)); // 00:00 CET
    QCOMPARE(reset, utc(2026, 3, 29, 22)); // 00:00 CEST
    QCOMPARE(start.secsTo(reset), 23 * 3600); // the short day
    QCOMPARE(reset.toTimeZone(berlin).time(), QTime(0, 0));
    // One second before local midnight still belongs to the short day.
    QCOMPARE(guard.nextReset(Period::Day, utc(2026, 3, 29, 21, 59, 59)), reset);
    // At midnight the next day begins.
    QCOMPARE(guard.periodStart(Period::Day, reset), reset);
    QCOMPARE(guard.nextReset(Period::Day, reset), utc(2026, 3, 30, 22));
    QCOMPARE(guard.check(kPicoUsd, 0, now).resetsAt, reset);
}

void tst_RateLimiter::dailyResetAtLocalMidnightAcrossAutumnDst()
{
    const QTimeZone berlin("Europe/Berlin");
    const BudgetGuard guard(QStringLiteral("x"), {kPicoUsd, 0}, berlin);
    // 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET; the day has 25 hours.
    const QDateTime now = utc(2026, 10, 25, 1, 30); // 02:30 CEST, before the change
    const QDateTime start = guard.periodStart(Period::Day, now);
    const QDateTime reset = guard.nextReset(Period::Day, now);
    QCOMPARE(start, utc(2026, 10, 24, 22));
    QCOMPARE(reset, utc(2026, 10, 25, 23));
    QCOMPARE(start.secsTo(reset), 25 * 3600);
    QCOMPARE(guard.nextReset(Period::Day, utc(2026, 10, 25, 22, 59, 59)), reset);
}

void tst_RateLimiter::monthlyResetOnTheFirstAcrossDst()
{
    const QTimeZone berlin("Europe/Berlin");
    const BudgetGuard guard(QStringLiteral("x"), {0, kPicoUsd}, berlin);
    // March starts in winter time and ends in summer time.
    const QDateTime march = utc(2026, 3, 15, 12);
    QCOMPARE(guard.periodStart(Period::Month, march), utc(2026, 2, 28, 23)); // 1 Mar 00:00 CET
    QCOMPARE(guard.nextReset(Period::Month, march), utc(2026, 3, 31, 22)); // 1 Apr 00:00 CEST
    // 23:59:59 CEST on 31 March is still March; midnight is April.
    QCOMPARE(guard.nextReset(Period::Month, utc(2026, 3, 31, 21, 59, 59)), utc(2026, 3, 31, 22));
    QCOMPARE(guard.periodStart(Period::Month, utc(2026, 3, 31, 22)), utc(2026, 3, 31, 22));
    QCOMPARE(guard.nextReset(Period::Month, utc(2026, 3, 31, 22)), utc(2026, 4, 30, 22));
    // October ends in winter time.
    const QDateTime october = utc(2026, 10, 10);
    QCOMPARE(guard.periodStart(Period::Month, october), utc(2026, 9, 30, 22));
    QCOMPARE(guard.nextReset(Period::Month, october), utc(2026, 10, 31, 23));
    // In UTC (late on 31 Jan) it is already February in Berlin.
    QCOMPARE(guard.nextReset(Period::Month, utc(2026, 1, 31, 23, 30)), utc(2026, 2, 28, 23));
    const BudgetGuard::Verdict verdict = guard.check(0, kPicoUsd, march);
    QVERIFY(verdict.isExhausted());
    QVERIFY2(guard.message(verdict).contains(QStringLiteral("2026-04-01 00:00 (Europe/Berlin)")),
             qPrintable(guard.message(verdict)));
}

void tst_RateLimiter::dayStartsAfterMidnightSkippedByDst()
{
    // São Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04: that day had no midnight.
    const QTimeZone saoPaulo("America/Sao_Paulo");
    if (!saoPaulo.isValid())
        QSKIP("no time zone data for America/Sao_Paulo");
    const BudgetGuard guard(QStringLiteral("x"), {kPicoUsd, 0}, saoPaulo);
    const QDateTime reset = guard.nextReset(Period::Day, utc(2018, 11, 3, 12));
    QVERIFY(reset.isValid());
    QCOMPARE(reset, utc(2018, 11, 4, 3)); // 01:00 -02, the first moment of the day
    QCOMPARE(guard.periodStart(Period::Day, utc(2018, 11, 4, 12)), reset);
}

void tst_RateLimiter::invalidZoneMeansUtc()
{
    const BudgetGuard guard(QStringLiteral("x"), {kPicoUsd, 0}, QTimeZone("Not/AZone"));
    QVERIFY(guard.timeZone().isValid());
    QCOMPARE(guard.nextReset(Period::Day, utc(2026, 6, 1, 23, 59)), utc(2026, 6, 2));
}

QTEST_APPLESS_MAIN(tst_RateLimiter)
#include "tst_RateLimiter.moc"
