#pragma once

#include "BudgetGuard.h"

#include <QHash>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QTimeZone>
#include <functional>
#include <optional>

namespace tollgate {

// What the request log holds of the current day and month, per virtual key and per
// billing tag: the spend a budget starts from when the gateway starts.
struct SpendTotals
{
    struct Spend
    {
        qint64 dayPicoUsd = 0;
        qint64 monthPicoUsd = 0;
    };
    qint64 dayStartMs = 0; // the periods the sums cover, as SpendTracker named them
    qint64 monthStartMs = 0;
    QHash<QString, Spend> keys; // by virtual key alias
    QHash<QString, Spend> tags; // by billing tag
    QString error; // the log could not be read: budgets count from now on
};

// The spend of every virtual key and billing tag that has a cap, in the current day and
// month of the user's time zone, kept on the proxy thread: seeded from the request log at
// start, raised by each accounted request, reset at each period boundary. It says which
// request a used-up budget refuses and reports every change of a budget's level (80 %,
// 100 %, back to normal at a reset). Requests in flight count once accounted, so a cap can
// be overshot by the requests running when it is reached. Time comes in as milliseconds
// since the epoch; not thread-safe.
class SpendTracker
{
public:
    enum class Kind { VirtualKey, BillingTag };

    struct Status
    {
        Kind kind = Kind::VirtualKey;
        QString name;
        BudgetGuard::Caps caps;
        qint64 dayPicoUsd = 0;
        qint64 monthPicoUsd = 0;
        BudgetGuard::Verdict verdict; // the cap that decides
        QString message;
    };
    using EventHandler = std::function<void(const Status &)>;

    explicit SpendTracker(const QTimeZone &zone = QTimeZone::systemTimeZone());

    void setKeyCaps(const QString &alias, const BudgetGuard::Caps &caps);
    void setTagCaps(const QString &tag, const BudgetGuard::Caps &caps);
    bool hasCaps() const { return !m_entries.isEmpty(); }
    // Called when a budget changes level (Ok, Warning, Exhausted), with its new status.
    void setEventHandler(EventHandler handler) { m_eventHandler = std::move(handler); }

    // Starts of the day and the month containing nowMs, to ask the log for.
    qint64 dayStartMs(qint64 nowMs) const;
    qint64 monthStartMs(qint64 nowMs) const;

    // The log's sums; periods other than the current ones are ignored.
    void seed(const SpendTotals &totals, qint64 nowMs);
    // What another tracker counted this day and month, for the keys and tags this one has
    // caps for too (new settings without a request log to read the spend back from).
    void adoptSpend(const SpendTracker &other, qint64 nowMs);
    // One accounted request that started at atMs.
    void add(const QString &keyAlias, const QString &tag, qint64 costPicoUsd, qint64 atMs,
             qint64 nowMs);

    // The used-up budget that refuses a request of this key and tag (the key's before the
    // tag's), if any.
    struct Refusal
    {
        BudgetGuard guard;
        BudgetGuard::Verdict verdict;
    };
    std::optional<Refusal> check(const QString &keyAlias, const QString &tag, qint64 nowMs);

    QList<Status> status(qint64 nowMs);

private:
    struct Entry
    {
        BudgetGuard guard;
        Kind kind;
        QString name;
        qint64 dayStartMs = 0;
        qint64 dayEndMs = 0; // 0: not placed yet
        qint64 monthStartMs = 0;
        qint64 monthEndMs = 0;
        qint64 day = 0;
        qint64 month = 0;
        BudgetGuard::Level level = BudgetGuard::Level::Ok;
    };

    static QString keyOf(Kind kind, const QString &name);
    void setCaps(Kind kind, const QString &name, const BudgetGuard::Caps &caps);
    void roll(Entry &entry, qint64 nowMs);
    BudgetGuard::Level levelOf(const Entry &entry) const;
    Status statusOf(const Entry &entry, qint64 nowMs) const;
    void updateLevel(Entry &entry, qint64 nowMs);

    QTimeZone m_zone;
    QHash<QString, Entry> m_entries; // "k:alias" / "t:tag"
    EventHandler m_eventHandler;
};

} // namespace tollgate

Q_DECLARE_METATYPE(tollgate::SpendTotals)
Q_DECLARE_METATYPE(tollgate::SpendTracker::Status)
