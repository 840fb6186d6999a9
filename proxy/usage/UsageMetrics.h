#pragma once

#include "RequestRecord.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QMutex>
#include <array>

namespace tollgate {

// Running totals for GET /tollgate/metrics in Prometheus' text format: requests, tokens
// by type, cost, errors and latency histograms since the gateway started. Written by the
// ledger thread, read by the proxy thread; a mutex guards the few microseconds of each.
class UsageMetrics
{
public:
    void add(const QList<RequestRecord> &records);
    QByteArray prometheusText() const;

    // Label values come from clients (model names): bounded so that hostile input cannot
    // grow the table without limit.
    static constexpr int kMaxModels = 256;
    static constexpr int kBucketCount = 15;
    static const std::array<double, kBucketCount> kBucketsSeconds;

private:
    struct Histogram
    {
        std::array<quint64, kBucketCount> buckets = {};
        quint64 count = 0;
        qint64 sumUs = 0;
        void observe(qint64 us);
    };
    struct ModelTotals
    {
        QMap<int, quint64> requestsByStatus;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        qint64 cacheWrite5mTokens = 0;
        qint64 cacheWrite1hTokens = 0;
        qint64 cacheReadTokens = 0;
        qint64 costPicoUsd = 0;
        qint64 costWithoutCachePicoUsd = 0;
        quint64 unpricedRequests = 0;
    };

    mutable QMutex m_mutex;
    QMap<QString, ModelTotals> m_models;
    QMap<QString, quint64> m_errors; // by error type
    qint64 m_cacheMarkersAdded = 0;
    Histogram m_duration;
    Histogram m_ttfb;
};

} // namespace tollgate
