#include "SpendTracker.h"

#include <QDateTime>

namespace tollgate {

namespace {
QString subjectName(SpendTracker::Kind kind, const QString &name)
{
    return kind == SpendTracker::Kind::VirtualKey ? QStringLiteral("virtual key \"%1\"").arg(name)
                                                  : QStringLiteral("billing tag \"%1\"").arg(name);
}
} // namespace

SpendTracker::SpendTracker(const QTimeZone &zone)
    : m_zone(zone.isValid() ? zone : QTimeZone::utc())
{
}

QString SpendTracker::keyOf(Kind kind, const QString &name)
{
    return (kind == Kind::VirtualKey ? QStringLiteral("k:") : QStringLiteral("t:")) + name;
}

void SpendTracker::setKeyCaps(const QString &alias, const BudgetGuard::Caps &caps)
{
    setCaps(Kind::VirtualKey, alias, caps);
}

void SpendTracker::setTagCaps(const QString &tag, const BudgetGuard::Caps &caps)
{
    setCaps(Kind::BillingTag, tag, caps);
}

void SpendTracker::setCaps(Kind kind, const QString &name, const BudgetGuard::Caps &caps)
{
    const QString key = keyOf(kind, name);
    if (caps.dailyPicoUsd <= 0 && caps.monthlyPicoUsd <= 0) {
        m_entries.remove(key);
        return;
    }
    auto it = m_entries.find(key);
    if (it == m_entries.end()) {
        m_entries.insert(key,
                         Entry {BudgetGuard(subjectName(kind, name), caps, m_zone), kind, name});
        return;
    }
    it->guard = BudgetGuard(subjectName(kind, name), caps, m_zone);
}

qint64 SpendTracker::dayStartMs(qint64 nowMs) const
{
    const BudgetGuard guard(QString(), {}, m_zone);
    return guard.periodStart(BudgetGuard::Period::Day, QDateTime::fromMSecsSinceEpoch(nowMs))
        .toMSecsSinceEpoch();
}

qint64 SpendTracker::monthStartMs(qint64 nowMs) const
{
    const BudgetGuard guard(QString(), {}, m_zone);
    return guard.periodStart(BudgetGuard::Period::Month, QDateTime::fromMSecsSinceEpoch(nowMs))
        .toMSecsSinceEpoch();
}

void SpendTracker::roll(Entry &entry, qint64 nowMs)
{
    if (nowMs >= entry.dayStartMs && nowMs < entry.dayEndMs && nowMs < entry.monthEndMs)
        return;
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(nowMs);
    const qint64 dayStart =
        entry.guard.periodStart(BudgetGuard::Period::Day, now).toMSecsSinceEpoch();
    const qint64 monthStart =
        entry.guard.periodStart(BudgetGuard::Period::Month, now).toMSecsSinceEpoch();
    if (dayStart != entry.dayStartMs)
        entry.day = 0;
    if (monthStart != entry.monthStartMs)
        entry.month = 0;
    entry.dayStartMs = dayStart;
    entry.monthStartMs = monthStart;
    entry.dayEndMs = entry.guard.nextReset(BudgetGuard::Period::Day, now).toMSecsSinceEpoch();
    entry.monthEndMs = entry.guard.nextReset(BudgetGuard::Period::Month, now).toMSecsSinceEpoch();
}

BudgetGuard::Level SpendTracker::levelOf(const Entry &entry) const
{
    const BudgetGuard::Level day =
        BudgetGuard::levelFor(entry.day, entry.guard.caps().dailyPicoUsd);
    const BudgetGuard::Level month =
        BudgetGuard::levelFor(entry.month, entry.guard.caps().monthlyPicoUsd);
    return std::max(day, month);
}

SpendTracker::Status SpendTracker::statusOf(const Entry &entry, qint64 nowMs) const
{
    Status status;
    status.kind = entry.kind;
    status.name = entry.name;
    status.caps = entry.guard.caps();
    status.dayPicoUsd = entry.day;
    status.monthPicoUsd = entry.month;
    status.verdict =
        entry.guard.check(entry.day, entry.month, QDateTime::fromMSecsSinceEpoch(nowMs));
    status.message = entry.guard.message(status.verdict);
    return status;
}

void SpendTracker::updateLevel(Entry &entry, qint64 nowMs)
{
    const BudgetGuard::Level level = levelOf(entry);
    if (level == entry.level)
        return;
    entry.level = level;
    if (m_eventHandler)
        m_eventHandler(statusOf(entry, nowMs));
}

void SpendTracker::seed(const SpendTotals &totals, qint64 nowMs)
{
    for (Entry &entry : m_entries) {
        roll(entry, nowMs);
        const QHash<QString, SpendTotals::Spend> &sums =
            entry.kind == Kind::VirtualKey ? totals.keys : totals.tags;
        const auto it = sums.constFind(entry.name);
        if (it == sums.constEnd())
            continue;
        if (totals.dayStartMs == entry.dayStartMs)
            entry.day += it->dayPicoUsd;
        if (totals.monthStartMs == entry.monthStartMs)
            entry.month += it->monthPicoUsd;
        updateLevel(entry, nowMs);
    }
}

void SpendTracker::adoptSpend(const SpendTracker &other, qint64 nowMs)
{
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it) {
        const auto theirs = other.m_entries.constFind(it.key());
        if (theirs == other.m_entries.cend())
            continue;
        Entry &entry = it.value();
        roll(entry, nowMs);
        if (theirs->dayStartMs == entry.dayStartMs)
            entry.day = theirs->day;
        if (theirs->monthStartMs == entry.monthStartMs)
            entry.month = theirs->month;
        updateLevel(entry, nowMs);
    }
}

void SpendTracker::add(const QString &keyAlias, const QString &tag, qint64 costPicoUsd, qint64 atMs,
                       qint64 nowMs)
{
    if (m_entries.isEmpty() || costPicoUsd <= 0)
        return;
    for (const QString &key : {keyOf(Kind::VirtualKey, keyAlias), keyOf(Kind::BillingTag, tag)}) {
        const auto it = m_entries.find(key);
        if (it == m_entries.end())
            continue;
        Entry &entry = *it;
        roll(entry, nowMs);
        if (atMs >= entry.dayStartMs)
            entry.day += costPicoUsd;
        if (atMs >= entry.monthStartMs)
            entry.month += costPicoUsd;
        updateLevel(entry, nowMs);
    }
}

std::optional<SpendTracker::Refusal> SpendTracker::check(const QString &keyAlias,
                                                         const QString &tag, qint64 nowMs)
{
    if (m_entries.isEmpty())
        return std::nullopt;
    for (const QString &key : {keyOf(Kind::VirtualKey, keyAlias), keyOf(Kind::BillingTag, tag)}) {
        const auto it = m_entries.find(key);
        if (it == m_entries.end())
            continue;
        Entry &entry = *it;
        roll(entry, nowMs);
        updateLevel(entry, nowMs); // a new period lifts an exhausted budget
        if (entry.level != BudgetGuard::Level::Exhausted)
            continue;
        const BudgetGuard::Verdict verdict =
            entry.guard.check(entry.day, entry.month, QDateTime::fromMSecsSinceEpoch(nowMs));
        return Refusal {entry.guard, verdict};
    }
    return std::nullopt;
}

QList<SpendTracker::Status> SpendTracker::status(qint64 nowMs)
{
    QList<Status> result;
    for (Entry &entry : m_entries) {
        roll(entry, nowMs);
        updateLevel(entry, nowMs);
        result.append(statusOf(entry, nowMs));
    }
    std::sort(result.begin(), result.end(), [](const Status &a, const Status &b) {
        return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
    });
    return result;
}

} // namespace tollgate
