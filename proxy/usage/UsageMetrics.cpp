#include "UsageMetrics.h"

#include "usage/PriceTable.h"

#include <QMutexLocker>

namespace tollgate {

const std::array<double, UsageMetrics::kBucketCount> UsageMetrics::kBucketsSeconds = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

namespace {
// Prometheus text format: label values escape backslash, double quote and line feed.
QByteArray labelValue(const QString &value)
{
    QByteArray out = value.toUtf8();
    out.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    return out;
}

void appendHeader(QByteArray &out, const char *name, const char *type, const char *help)
{
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
}

QByteArray seconds(qint64 us)
{
    return QByteArray::number(double(us) / 1e6, 'f', 6);
}
} // namespace

void UsageMetrics::Histogram::observe(qint64 us)
{
    for (int i = 0; i < kBucketCount; ++i) {
        if (double(us) <= kBucketsSeconds[size_t(i)] * 1e6)
            ++buckets[size_t(i)];
    }
    ++count;
    sumUs += us;
}

void UsageMetrics::add(const QList<RequestRecord> &records)
{
    QMutexLocker locker(&m_mutex);
    for (const RequestRecord &record : records) {
        QString model = record.model.isEmpty() ? QStringLiteral("none") : record.model;
        if (!m_models.contains(model) && m_models.size() >= kMaxModels)
            model = QStringLiteral("other");
        ModelTotals &totals = m_models[model];
        ++totals.requestsByStatus[record.status];
        totals.inputTokens += record.usage.inputTokens;
        totals.outputTokens += record.usage.outputTokens;
        totals.cacheWrite5mTokens += record.usage.cacheWrite5mTokens;
        totals.cacheWrite1hTokens += record.usage.cacheWrite1hTokens;
        totals.cacheReadTokens += record.usage.cacheReadTokens;
        if (record.costPicoUsd)
            totals.costPicoUsd += *record.costPicoUsd;
        else
            ++totals.unpricedRequests;
        if (record.costWithoutCachePicoUsd)
            totals.costWithoutCachePicoUsd += *record.costWithoutCachePicoUsd;
        if (!record.errorType.isEmpty() && m_errors.size() < kMaxModels)
            ++m_errors[record.errorType];
        m_cacheMarkersAdded += record.cacheMarkersAdded;
        m_duration.observe(record.totalUs);
        if (record.ttfbUs > 0)
            m_ttfb.observe(record.ttfbUs);
    }
}

QByteArray UsageMetrics::prometheusText() const
{
    QMutexLocker locker(&m_mutex);
    QByteArray out;
    out.reserve(4096);

    appendHeader(out, "tollgate_requests_total", "counter",
                 "Requests that went through the gateway, by model and HTTP status.");
    for (auto it = m_models.cbegin(); it != m_models.cend(); ++it) {
        for (auto s = it->requestsByStatus.cbegin(); s != it->requestsByStatus.cend(); ++s) {
            out.append("tollgate_requests_total{model=\"").append(labelValue(it.key()));
            out.append("\",status=\"").append(QByteArray::number(s.key())).append("\"} ");
            out.append(QByteArray::number(s.value())).append('\n');
        }
    }

    appendHeader(out, "tollgate_tokens_total", "counter",
                 "Tokens as the vendor reported them, by model and type.");
    for (auto it = m_models.cbegin(); it != m_models.cend(); ++it) {
        const std::pair<const char *, qint64> types[] = {
            {"input", it->inputTokens},
            {"output", it->outputTokens},
            {"cache_write_5m", it->cacheWrite5mTokens},
            {"cache_write_1h", it->cacheWrite1hTokens},
            {"cache_read", it->cacheReadTokens},
        };
        for (const auto &[type, count] : types) {
            out.append("tollgate_tokens_total{model=\"").append(labelValue(it.key()));
            out.append("\",type=\"").append(type).append("\"} ");
            out.append(QByteArray::number(count)).append('\n');
        }
    }

    appendHeader(out, "tollgate_cost_usd_total", "counter",
                 "Cost in USD of the priced requests, by model (exact decimal).");
    for (auto it = m_models.cbegin(); it != m_models.cend(); ++it) {
        out.append("tollgate_cost_usd_total{model=\"").append(labelValue(it.key())).append("\"} ");
        out.append(PriceTable::formatUsd(it->costPicoUsd).toLatin1()).append('\n');
    }
    appendHeader(out, "tollgate_cost_without_cache_usd_total", "counter",
                 "What the same requests would have cost with no prompt caching, by model.");
    for (auto it = m_models.cbegin(); it != m_models.cend(); ++it) {
        out.append("tollgate_cost_without_cache_usd_total{model=\"")
            .append(labelValue(it.key()))
            .append("\"} ");
        out.append(PriceTable::formatUsd(it->costWithoutCachePicoUsd).toLatin1()).append('\n');
    }
    appendHeader(out, "tollgate_unpriced_requests_total", "counter",
                 "Requests whose model has no price in the price table.");
    for (auto it = m_models.cbegin(); it != m_models.cend(); ++it) {
        out.append("tollgate_unpriced_requests_total{model=\"")
            .append(labelValue(it.key()))
            .append("\"} ");
        out.append(QByteArray::number(it->unpricedRequests)).append('\n');
    }

    appendHeader(out, "tollgate_errors_total", "counter", "Failed requests by error type.");
    for (auto it = m_errors.cbegin(); it != m_errors.cend(); ++it) {
        out.append("tollgate_errors_total{type=\"").append(labelValue(it.key())).append("\"} ");
        out.append(QByteArray::number(it.value())).append('\n');
    }

    appendHeader(out, "tollgate_cache_markers_added_total", "counter",
                 "Prompt-cache breakpoints Tollgate added to requests.");
    out.append("tollgate_cache_markers_added_total ")
        .append(QByteArray::number(m_cacheMarkersAdded))
        .append('\n');

    const std::pair<const char *, const Histogram *> histograms[] = {
        {"tollgate_request_duration_seconds", &m_duration},
        {"tollgate_time_to_first_byte_seconds", &m_ttfb},
    };
    for (const auto &[name, histogram] : histograms) {
        appendHeader(out, name, "histogram",
                     name == histograms[0].first
                         ? "Time from the request's arrival to the end of its response."
                         : "Time from the request's arrival to the upstream's first byte.");
        for (int i = 0; i < kBucketCount; ++i) {
            out.append(name).append("_bucket{le=\"");
            out.append(QByteArray::number(kBucketsSeconds[size_t(i)]));
            out.append("\"} ").append(QByteArray::number(histogram->buckets[size_t(i)]));
            out.append('\n');
        }
        out.append(name).append("_bucket{le=\"+Inf\"} ");
        out.append(QByteArray::number(histogram->count)).append('\n');
        out.append(name).append("_sum ").append(seconds(histogram->sumUs)).append('\n');
        out.append(name).append("_count ").append(QByteArray::number(histogram->count));
        out.append('\n');
    }
    return out;
}

} // namespace tollgate
