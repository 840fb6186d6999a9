#include "BudgetGuard.h"

#include <algorithm>

namespace tollgate {

namespace {

constexpr qint64 kPicoPerCent = 10LL * 1000 * 1000 * 1000;
constexpr qint64 kPicoPerUsd = 100 * kPicoPerCent;

QString formatUsd(qint64 pico)
{
    // Whole cents for everything a person sets as a budget; finer only for sub-cent amounts.
    const bool isSubCent = pico != 0 && pico > -kPicoPerCent && pico < kPicoPerCent;
    return QLatin1Char('$')
        + QString::number(double(pico) / double(kPicoPerUsd), 'f', isSubCent ? 6 : 2);
}

} // namespace

BudgetGuard::BudgetGuard(const QString &subject, const Caps &caps, const QTimeZone &zone)
    : m_subject(subject)
    , m_caps(caps)
    , m_zone(zone.isValid() ? zone : QTimeZone::utc())
{
}

BudgetGuard::Level BudgetGuard::levelFor(qint64 spentPicoUsd, qint64 capPicoUsd)
{
    if (capPicoUsd <= 0)
        return Level::Ok;
    if (spentPicoUsd >= capPicoUsd)
        return Level::Exhausted;
    // spent >= 80 % of cap, exactly and without overflow: ceil(4 cap / 5) = cap - floor(cap / 5).
    if (spentPicoUsd >= capPicoUsd - capPicoUsd / 5)
        return Level::Warning;
    return Level::Ok;
}

BudgetGuard::Verdict BudgetGuard::check(qint64 spentTodayPicoUsd, qint64 spentThisMonthPicoUsd,
                                        const QDateTime &now) const
{
    const auto verdictFor = [&](Period period, qint64 spent, qint64 cap) {
        Verdict verdict;
        verdict.period = period;
        verdict.spentPicoUsd = spent;
        verdict.capPicoUsd = std::max<qint64>(0, cap);
        verdict.level = levelFor(spent, cap);
        if (cap > 0)
            verdict.resetsAt = nextReset(period, now);
        return verdict;
    };
    const Verdict day = verdictFor(Period::Day, spentTodayPicoUsd, m_caps.dailyPicoUsd);
    const Verdict month = verdictFor(Period::Month, spentThisMonthPicoUsd, m_caps.monthlyPicoUsd);
    if (m_caps.monthlyPicoUsd <= 0)
        return day;
    if (m_caps.dailyPicoUsd <= 0)
        return month;
    return int(month.level) >= int(day.level) ? month : day;
}

QDateTime BudgetGuard::periodStart(Period period, const QDateTime &now) const
{
    const QDate date = now.toTimeZone(m_zone).date();
    const QDate first = period == Period::Day ? date : QDate(date.year(), date.month(), 1);
    // startOfDay: the first valid moment, so a DST jump over midnight still gives a start.
    return first.startOfDay(m_zone);
}

QDateTime BudgetGuard::nextReset(Period period, const QDateTime &now) const
{
    const QDate date = now.toTimeZone(m_zone).date();
    const QDate next =
        period == Period::Day ? date.addDays(1) : QDate(date.year(), date.month(), 1).addMonths(1);
    return next.startOfDay(m_zone);
}

QString BudgetGuard::message(const Verdict &verdict) const
{
    if (verdict.capPicoUsd <= 0)
        return QString();
    const QString cap = formatUsd(verdict.capPicoUsd);
    const QString spent = formatUsd(verdict.spentPicoUsd);
    const QString reset =
        verdict.resetsAt.toTimeZone(m_zone).toString(QStringLiteral("yyyy-MM-dd HH:mm"))
        + QStringLiteral(" (") + QString::fromLatin1(m_zone.id()) + QLatin1Char(')');
    const bool isDay = verdict.period == Period::Day;
    switch (verdict.level) {
    case Level::Exhausted:
        return (isDay ? tr("The daily budget of %1 for %2 is used up (%3 spent). It resets at %4.")
                      : tr("The monthly budget of %1 for %2 is used up (%3 spent). It resets at "
                           "%4."))
            .arg(cap, m_subject, spent, reset);
    case Level::Warning: {
        const int percent = int(double(verdict.spentPicoUsd) * 100 / double(verdict.capPicoUsd));
        return (isDay ? tr("%1 % of the daily budget of %2 for %3 is spent (%4). It resets at %5.")
                      : tr("%1 % of the monthly budget of %2 for %3 is spent (%4). It resets at "
                           "%5."))
            .arg(QString::number(percent), cap, m_subject, spent, reset);
    }
    case Level::Ok:
        break;
    }
    return (isDay ? tr("%1 of the daily budget of %2 for %3 is spent.")
                  : tr("%1 of the monthly budget of %2 for %3 is spent."))
        .arg(spent, cap, m_subject);
}

RateLimiter::Reply BudgetGuard::reply(const Verdict &verdict, const QByteArray &requestId) const
{
    RateLimiter::Reply reply = RateLimiter::refusal(message(verdict), requestId);
    // A spend cap is not a throttle: waiting a minute does not help. Anthropic's own spend-cap
    // 429 has no retry-after either, and x-should-retry: false stops SDK and Claude Code
    // retries before their status rules apply.
    reply.headers.append(QByteArrayLiteral("x-should-retry"), QByteArrayLiteral("false"));
    return reply;
}

} // namespace tollgate
