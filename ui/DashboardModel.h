#pragma once

#include "RequestRecord.h"
#include "store/LedgerStore.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMap>
#include <QSet>
#include <QString>

namespace tollgate {

// The Dashboard's figures, with no widget in sight: today's and this month's cost,
// requests, cache hit ratio and savings, cost by model and by billing tag, the running cost
// of each active session and tokens per minute. It starts from what the request log says
// (a Baseline of totals and session histories) and follows the live stream of finished
// requests from there. Times are epoch milliseconds; the caller says where the local day
// and month begin, so the model never reads a clock.
class DashboardModel
{
public:
    static constexpr qint64 kMinuteMs = 60 * 1000;
    // A session is active while its last request is this recent.
    static constexpr qint64 kActiveWindowMs = 30 * kMinuteMs;
    static constexpr int kMaxActiveSessions = 8; // lines on the session chart
    static constexpr int kTokenWindowMinutes = 60; // the tokens-per-minute chart's span

    struct Figures
    {
        qint64 requests = 0;
        qint64 errors = 0;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        qint64 cacheWriteTokens = 0;
        qint64 cacheReadTokens = 0;
        qint64 costPicoUsd = 0; // priced requests only
        qint64 costWithoutCachePicoUsd = 0; // the same requests with nothing cached
        qint64 unpricedRequests = 0; // requests whose model has no price: not in the cost
        // Savings of the requests whose cache reads are owed to Tollgate's markers
        // (RequestRecord::cacheReadsByTollgate); the rest of the savings come from the
        // client's own markers, also on requests where Tollgate added one the client's
        // would have done without.
        qint64 savedByTollgatePicoUsd = 0;
        qint64 requestsWithTollgateMarkers = 0; // Tollgate added at least one marker
        qint64 requestsWithTollgateReads = 0; // their cache reads are Tollgate's

        // Every prompt token: uncached input, cache writes and cache reads.
        qint64 promptTokens() const { return inputTokens + cacheWriteTokens + cacheReadTokens; }
        bool hasHitRatio() const { return promptTokens() > 0; }
        double cacheHitRatio() const; // cache reads / prompt tokens; 0 without prompt tokens
        // Negative while cache writes (priced above plain input) have not paid off yet.
        qint64 savedPicoUsd() const { return costWithoutCachePicoUsd - costPicoUsd; }
        qint64 savedByClientPicoUsd() const { return savedPicoUsd() - savedByTollgatePicoUsd; }

        void add(const LedgerStore::Totals &totals);
        void add(const RequestRecord &record);
        bool operator==(const Figures &other) const = default;
    };

    struct Share
    {
        QString key; // model or billing tag; empty for requests without one
        qint64 costPicoUsd = 0;
        qint64 requests = 0;
        qint64 unpricedRequests = 0;
        bool operator==(const Share &other) const = default;
    };

    struct CostPoint
    {
        qint64 timeMs = 0;
        qint64 cumulativeCostPicoUsd = 0;
        bool operator==(const CostPoint &other) const = default;
    };

    struct SessionSeries
    {
        QByteArray sessionId;
        QString project; // as the latest request stated it; may be empty
        qint64 lastMs = 0;
        QList<CostPoint> points; // in time order, from the session's first known request
    };

    struct TokenBucket
    {
        qint64 minuteStartMs = 0;
        qint64 tokens = 0; // prompt tokens (all kinds) and output tokens
        bool operator==(const TokenBucket &other) const = default;
    };

    // What the request log says up to a moment: totals for today and this month, the month
    // and the day by model and by tag, and the cost histories of the sessions that should
    // be on the chart. Requests after that moment come in through addRecord().
    struct Baseline
    {
        qint64 dayStartMs = 0; // the local day's and month's first millisecond
        qint64 monthStartMs = 0;
        LedgerStore::Totals today; // with Tollgate's share of the savings
        LedgerStore::Totals month;
        QList<LedgerStore::Totals> todayByModel;
        QList<LedgerStore::Totals> todayByTag;
        QList<LedgerStore::Totals> monthByModel;
        QList<LedgerStore::Totals> monthByTag;
        // Each session's requests before the moment, as sessionTimeline() gives them.
        QHash<QByteArray, QList<LedgerStore::TimelinePoint>> sessionHistories;
    };

    enum class Period { Today, Month };

    // Starts over from the request log's view.
    void reset(const Baseline &baseline);
    // Folds one finished request into every figure it belongs to.
    void addRecord(const RequestRecord &record);
    // Moves to a new local day or month (figures of the old one are dropped) and forgets
    // sessions and token buckets too old to be drawn.
    void advanceTo(qint64 nowMs, qint64 dayStartMs, qint64 monthStartMs);

    const Figures &today() const { return m_today; }
    const Figures &month() const { return m_month; }
    qint64 dayStartMs() const { return m_dayStartMs; }
    qint64 monthStartMs() const { return m_monthStartMs; }
    // Highest cost first (ties: more requests, then by key).
    QList<Share> costByModel(Period period) const;
    QList<Share> costByTag(Period period) const;
    // The sessions with a request in the active window before nowMs, latest first, at most
    // kMaxActiveSessions.
    QList<SessionSeries> activeSessions(qint64 nowMs) const;
    // One bucket per minute of the kTokenWindowMinutes up to nowMs's minute, oldest first,
    // empty minutes included.
    QList<TokenBucket> tokensPerMinute(qint64 nowMs) const;

    // Sessions that first showed up live, whose earlier requests the model does not know.
    // Each is handed out once; answer with addSessionHistory().
    QList<QByteArray> takeSessionsWithoutHistory();
    // The session's requests as the request log has them: those before the session's first
    // live request come before it on the chart.
    void addSessionHistory(const QByteArray &sessionId,
                           const QList<LedgerStore::TimelinePoint> &history);

    // Names one request alike in the live stream and in the request log, so that a request
    // both delivered live and already read from the log is counted once.
    static QByteArray requestKey(const RequestRecord &record);

private:
    struct Session
    {
        QString project;
        qint64 lastMs = 0;
        QMap<qint64, qint64> costByTime; // request start -> summed cost of requests then
    };

    static void addShare(QHash<QString, Share> &shares, const QString &key,
                         const RequestRecord &record);
    static QHash<QString, Share> sharesFrom(const QList<LedgerStore::Totals> &totals);
    static QList<Share> sorted(const QHash<QString, Share> &shares);

    qint64 m_dayStartMs = 0;
    qint64 m_monthStartMs = 0;
    Figures m_today;
    Figures m_month;
    QHash<QString, Share> m_todayByModel;
    QHash<QString, Share> m_todayByTag;
    QHash<QString, Share> m_monthByModel;
    QHash<QString, Share> m_monthByTag;
    QHash<QByteArray, Session> m_sessions;
    QList<QByteArray> m_sessionsWithoutHistory;
    QMap<qint64, qint64> m_tokensByMinute; // minute start -> tokens
};

} // namespace tollgate
