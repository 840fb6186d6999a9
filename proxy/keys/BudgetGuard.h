#pragma once

#include "RateLimiter.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QDateTime>
#include <QString>
#include <QTimeZone>

namespace tollgate {

// Daily and monthly spending caps of a virtual key or a billing tag, in pico-USD as the
// request log stores costs. Periods follow the calendar of a time zone: a day starts at
// local midnight (or the first moment after it when a DST change skips midnight), a month
// on the 1st. It decides from the spend the caller looked up; it reads no clock (the time
// comes in) and no store.
class BudgetGuard
{
    Q_DECLARE_TR_FUNCTIONS(BudgetGuard)

public:
    enum class Period { Day, Month };
    enum class Level {
        Ok,
        Warning, // at least 80 % of a cap spent
        Exhausted, // at least 100 %: refuse until the period resets
    };

    struct Caps
    {
        qint64 dailyPicoUsd = 0; // 0: no cap
        qint64 monthlyPicoUsd = 0; // 0: no cap
    };

    // The cap that decides: the most severe level; on a tie the month (it resets later).
    struct Verdict
    {
        Level level = Level::Ok;
        Period period = Period::Day;
        qint64 spentPicoUsd = 0;
        qint64 capPicoUsd = 0; // 0 when no cap is set
        QDateTime resetsAt; // start of the next period; invalid when no cap is set

        bool isExhausted() const { return level == Level::Exhausted; }
    };

    // subject names what the caps belong to in messages, e.g. `key "alice"` or
    // `billing tag "team-a"`. An invalid zone means UTC.
    BudgetGuard(const QString &subject, const Caps &caps, const QTimeZone &zone);

    const Caps &caps() const { return m_caps; }
    const QTimeZone &timeZone() const { return m_zone; }

    Verdict check(qint64 spentTodayPicoUsd, qint64 spentThisMonthPicoUsd,
                  const QDateTime &now) const;
    // The period containing now, [periodStart, nextReset), as instants (the caller sums
    // the log's costs over it).
    QDateTime periodStart(Period period, const QDateTime &now) const;
    QDateTime nextReset(Period period, const QDateTime &now) const;

    // Names the cap, the spend and the reset time in the guard's zone.
    QString message(const Verdict &verdict) const;
    // The 429 for an exhausted budget: rate_limit_error, x-should-retry: false and no
    // retry-after, so Claude Code and the SDKs stop instead of retrying into the cap.
    RateLimiter::Reply reply(const Verdict &verdict, const QByteArray &requestId) const;

    static Level levelFor(qint64 spentPicoUsd, qint64 capPicoUsd);

private:
    QString m_subject;
    Caps m_caps;
    QTimeZone m_zone;
};

} // namespace tollgate
