#include "DashboardModel.h"

#include <algorithm>
#include <limits>

namespace tollgate {

namespace {

qint64 tokensOf(const Usage &usage)
{
    return usage.inputTokens + usage.outputTokens + usage.cacheWriteTokens()
        + usage.cacheReadTokens;
}

qint64 startMsOf(const RequestRecord &record)
{
    return record.startedAt.toMSecsSinceEpoch();
}

} // namespace

double DashboardModel::Figures::cacheHitRatio() const
{
    const qint64 prompt = promptTokens();
    return prompt > 0 ? double(cacheReadTokens) / double(prompt) : 0.0;
}

void DashboardModel::Figures::add(const LedgerStore::Totals &totals)
{
    requests += totals.requests;
    errors += totals.errors;
    inputTokens += totals.inputTokens;
    outputTokens += totals.outputTokens;
    cacheWriteTokens += totals.cacheWrite5mTokens + totals.cacheWrite1hTokens;
    cacheReadTokens += totals.cacheReadTokens;
    costPicoUsd += totals.costPicoUsd;
    costWithoutCachePicoUsd += totals.costWithoutCachePicoUsd;
    unpricedRequests += totals.unpricedRequests;
    savedByTollgatePicoUsd += totals.savedByTollgatePicoUsd;
    requestsWithTollgateMarkers += totals.requestsWithTollgateMarkers;
    requestsWithTollgateReads += totals.requestsWithTollgateReads;
}

void DashboardModel::Figures::add(const RequestRecord &record)
{
    ++requests;
    // The request log's definition of a failed request (LedgerStore::Totals::errors).
    if (record.status < 200 || record.status >= 400 || !record.error.isEmpty()
        || !record.errorType.isEmpty())
        ++errors;
    inputTokens += record.usage.inputTokens;
    outputTokens += record.usage.outputTokens;
    cacheWriteTokens += record.usage.cacheWriteTokens();
    cacheReadTokens += record.usage.cacheReadTokens;
    if (record.cacheMarkersAdded > 0)
        ++requestsWithTollgateMarkers;
    if (record.cacheReadsByTollgate)
        ++requestsWithTollgateReads;
    if (!record.costPicoUsd) {
        ++unpricedRequests;
        return;
    }
    costPicoUsd += *record.costPicoUsd;
    const qint64 withoutCache = record.costWithoutCachePicoUsd.value_or(*record.costPicoUsd);
    costWithoutCachePicoUsd += withoutCache;
    if (record.cacheReadsByTollgate)
        savedByTollgatePicoUsd += withoutCache - *record.costPicoUsd;
}

void DashboardModel::reset(const Baseline &baseline)
{
    m_dayStartMs = baseline.dayStartMs;
    m_monthStartMs = baseline.monthStartMs;
    m_today = {};
    m_today.add(baseline.today);
    m_month = {};
    m_month.add(baseline.month);
    m_todayByModel = sharesFrom(baseline.todayByModel);
    m_todayByTag = sharesFrom(baseline.todayByTag);
    m_monthByModel = sharesFrom(baseline.monthByModel);
    m_monthByTag = sharesFrom(baseline.monthByTag);
    m_sessions.clear();
    m_sessionsWithoutHistory.clear();
    m_tokensByMinute.clear();
    for (auto it = baseline.sessionHistories.cbegin(); it != baseline.sessionHistories.cend();
         ++it) {
        m_sessions.insert(it.key(), Session());
        addSessionHistory(it.key(), it.value());
    }
}

void DashboardModel::addRecord(const RequestRecord &record)
{
    const qint64 startMs = startMsOf(record);
    if (startMs >= m_monthStartMs) {
        m_month.add(record);
        addShare(m_monthByModel, record.model, record);
        addShare(m_monthByTag, record.billingTag, record);
    }
    if (startMs >= m_dayStartMs) {
        m_today.add(record);
        addShare(m_todayByModel, record.model, record);
        addShare(m_todayByTag, record.billingTag, record);
    }
    m_tokensByMinute[startMs - startMs % kMinuteMs] += tokensOf(record.usage);

    // Requests without a session id (plain SDK clients) have no line of their own.
    if (record.sessionId.isEmpty())
        return;
    const bool isNew = !m_sessions.contains(record.sessionId);
    Session &session = m_sessions[record.sessionId];
    if (isNew)
        m_sessionsWithoutHistory.append(record.sessionId);
    session.costByTime[startMs] += record.costPicoUsd.value_or(0);
    if (startMs >= session.lastMs) {
        session.lastMs = startMs;
        if (!record.project.isEmpty())
            session.project = record.project;
    } else if (session.project.isEmpty()) {
        session.project = record.project;
    }
}

void DashboardModel::advanceTo(qint64 nowMs, qint64 dayStartMs, qint64 monthStartMs)
{
    if (monthStartMs > m_monthStartMs) {
        m_monthStartMs = monthStartMs;
        m_month = {};
        m_monthByModel.clear();
        m_monthByTag.clear();
    }
    if (dayStartMs > m_dayStartMs) {
        m_dayStartMs = dayStartMs;
        m_today = {};
        m_todayByModel.clear();
        m_todayByTag.clear();
    }
    const qint64 activeSinceMs = nowMs - kActiveWindowMs;
    for (auto it = m_sessions.begin(); it != m_sessions.end();) {
        if (it->lastMs < activeSinceMs) {
            m_sessionsWithoutHistory.removeOne(it.key());
            it = m_sessions.erase(it);
        } else {
            ++it;
        }
    }
    const qint64 firstMinuteMs = nowMs - nowMs % kMinuteMs - (kTokenWindowMinutes - 1) * kMinuteMs;
    while (!m_tokensByMinute.isEmpty() && m_tokensByMinute.firstKey() < firstMinuteMs)
        m_tokensByMinute.erase(m_tokensByMinute.begin());
}

QList<DashboardModel::Share> DashboardModel::costByModel(Period period) const
{
    return sorted(period == Period::Today ? m_todayByModel : m_monthByModel);
}

QList<DashboardModel::Share> DashboardModel::costByTag(Period period) const
{
    return sorted(period == Period::Today ? m_todayByTag : m_monthByTag);
}

QList<DashboardModel::SessionSeries> DashboardModel::activeSessions(qint64 nowMs) const
{
    QList<SessionSeries> result;
    const qint64 activeSinceMs = nowMs - kActiveWindowMs;
    for (auto it = m_sessions.cbegin(); it != m_sessions.cend(); ++it) {
        if (it->lastMs < activeSinceMs || it->costByTime.isEmpty())
            continue;
        SessionSeries series;
        series.sessionId = it.key();
        series.project = it->project;
        series.lastMs = it->lastMs;
        qint64 cumulative = 0;
        series.points.reserve(it->costByTime.size());
        for (auto point = it->costByTime.cbegin(); point != it->costByTime.cend(); ++point) {
            cumulative += point.value();
            series.points.append({point.key(), cumulative});
        }
        result.append(series);
    }
    std::sort(result.begin(), result.end(), [](const SessionSeries &a, const SessionSeries &b) {
        return a.lastMs != b.lastMs ? a.lastMs > b.lastMs : a.sessionId < b.sessionId;
    });
    if (result.size() > kMaxActiveSessions)
        result.resize(kMaxActiveSessions);
    return result;
}

QList<DashboardModel::TokenBucket> DashboardModel::tokensPerMinute(qint64 nowMs) const
{
    QList<TokenBucket> buckets;
    buckets.reserve(kTokenWindowMinutes);
    const qint64 lastMinuteMs = nowMs - nowMs % kMinuteMs;
    for (int i = kTokenWindowMinutes - 1; i >= 0; --i) {
        const qint64 minuteMs = lastMinuteMs - i * kMinuteMs;
        buckets.append({minuteMs, m_tokensByMinute.value(minuteMs)});
    }
    return buckets;
}

QList<QByteArray> DashboardModel::takeSessionsWithoutHistory()
{
    QList<QByteArray> sessions;
    sessions.swap(m_sessionsWithoutHistory);
    return sessions;
}

void DashboardModel::addSessionHistory(const QByteArray &sessionId,
                                       const QList<LedgerStore::TimelinePoint> &history)
{
    auto it = m_sessions.find(sessionId);
    if (it == m_sessions.end())
        return;
    Session &session = *it;
    // What the model already has came live (or from a newer read): only earlier requests
    // are new to it.
    const qint64 knownFromMs = session.costByTime.isEmpty() ? std::numeric_limits<qint64>::max()
                                                            : session.costByTime.firstKey();
    qint64 previous = 0;
    for (const LedgerStore::TimelinePoint &point : history) {
        const qint64 cost = point.cumulativeCostPicoUsd - previous;
        previous = point.cumulativeCostPicoUsd;
        if (point.timeMs >= knownFromMs)
            break;
        session.costByTime[point.timeMs] += cost;
        session.lastMs = std::max(session.lastMs, point.timeMs);
    }
}

QByteArray DashboardModel::requestKey(const RequestRecord &record)
{
    return QByteArray::number(startMsOf(record)) + '|' + QByteArray::number(record.totalUs) + '|'
        + record.sessionId + '|' + record.requestId + '|' + record.model.toUtf8();
}

void DashboardModel::addShare(QHash<QString, Share> &shares, const QString &key,
                              const RequestRecord &record)
{
    Share &share = shares[key];
    share.key = key;
    ++share.requests;
    if (record.costPicoUsd)
        share.costPicoUsd += *record.costPicoUsd;
    else
        ++share.unpricedRequests;
}

QHash<QString, DashboardModel::Share>
DashboardModel::sharesFrom(const QList<LedgerStore::Totals> &totals)
{
    QHash<QString, Share> shares;
    for (const LedgerStore::Totals &group : totals) {
        Share &share = shares[group.key];
        share.key = group.key;
        share.costPicoUsd += group.costPicoUsd;
        share.requests += group.requests;
        share.unpricedRequests += group.unpricedRequests;
    }
    return shares;
}

QList<DashboardModel::Share> DashboardModel::sorted(const QHash<QString, Share> &shares)
{
    QList<Share> list = shares.values();
    std::sort(list.begin(), list.end(), [](const Share &a, const Share &b) {
        if (a.costPicoUsd != b.costPicoUsd)
            return a.costPicoUsd > b.costPicoUsd;
        if (a.requests != b.requests)
            return a.requests > b.requests;
        return a.key < b.key;
    });
    return list;
}

} // namespace tollgate
