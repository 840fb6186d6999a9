#include "UsageAccountant.h"

#include "usage/UsageExtractor.h"

namespace tollgate {

namespace {
QByteArray pathOf(const QByteArray &target)
{
    const qsizetype query = target.indexOf('?');
    return query < 0 ? target : target.left(query);
}
} // namespace

bool UsageAccountant::isBatchResultsPath(const QByteArray &target)
{
    const QByteArray path = pathOf(target);
    return path.startsWith("/v1/messages/batches/") && path.endsWith("/results");
}

void UsageAccountant::account(RequestRecord &record) const
{
    // Read by the proxy, on a worker for a large body: waits for it at most that long.
    const RequestFacts facts = record.requestFacts.isValid()
        ? record.requestFacts.get()
        : UsageExtractor::requestFacts(record.requestBody);
    record.requestFacts = {};
    if (record.sessionId.isEmpty())
        record.sessionId = facts.sessionId;
    record.project = facts.project;
    record.model = facts.model;

    // Only a response that reached the gateway has usage; Tollgate's own errors have none.
    bool isUsageUnknown = false;
    if (record.ttfbUs > 0 || !record.response.body.isEmpty() || record.response.isSse) {
        record.isBatch = isBatchResultsPath(record.target);
        const ResponseUsage response =
            UsageExtractor::responseUsage(record.response, record.isBatch);
        record.usage = response.usage;
        if (!response.model.isEmpty())
            record.model = response.model; // the model that answered is the one billed
        if (record.errorType.isEmpty())
            record.errorType = response.errorType;
        if (record.usage.speed.isEmpty() && response.usage.hasUsage)
            record.usage.speed = facts.speed;
        // A stream cut short, or a body that ended early (before or after its usage),
        // records what was seen.
        record.isIncomplete = response.isIncomplete || !record.isComplete;
        // The vendor answered and may bill for it, but what it said cannot be read: the
        // usage is unknown, never taken for zero.
        isUsageUnknown =
            !response.unreadable.isEmpty() && record.status >= 200 && record.status < 300;
        if (isUsageUnknown && record.error.isEmpty())
            record.error = QStringLiteral("usage unknown: %1").arg(response.unreadable);
    }

    if (isUsageUnknown && !record.usage.hasUsage) {
        record.costPicoUsd.reset();
        record.costWithoutCachePicoUsd.reset();
    } else if (record.usage.hasUsage) {
        // Each provider bills at its own prices.
        const auto providerTable = m_providerPrices ? m_providerPrices->constFind(record.provider)
                                                    : QHash<QString, PriceTable>::const_iterator();
        const PriceTable &prices = m_providerPrices && providerTable != m_providerPrices->constEnd()
            ? *providerTable
            : m_prices;
        const PriceTable::Cost cost = prices.cost(record.model, record.usage, record.isBatch);
        record.costPicoUsd = cost.picoUsd;
        record.costWithoutCachePicoUsd = cost.withoutCachePicoUsd;
    } else {
        // Nothing billable was reported: a request that was refused or failed costs $0.
        record.costPicoUsd = 0;
        record.costWithoutCachePicoUsd = 0;
    }
    keepDetails(record);
    record.requestBody.clear();
    record.response = ResponseObservation();
}

void UsageAccountant::keepDetails(RequestRecord &record) const
{
    record.requestHeaders = SecretRedactor::maskedHeaderLines(record.rawRequestHeaders);
    record.responseHeaders = SecretRedactor::maskedHeaderLines(record.rawResponseHeaders);
    record.rawRequestHeaders.clear();
    record.rawResponseHeaders.clear();
    if (record.status >= 400 || !record.response.errorEvent.isEmpty()) {
        const QByteArray &body = record.response.errorEvent.isEmpty() ? record.response.body
                                                                      : record.response.errorEvent;
        record.errorBody = m_redactor.redact(body.left(kErrorBodyCapBytes));
    }
    if (m_bodyLogCapBytes > 0) {
        record.storedRequestBody = m_redactor.redact(record.requestBody.left(m_bodyLogCapBytes));
        record.storedResponseBody = m_redactor.redact(record.response.body.left(m_bodyLogCapBytes));
    }
}

} // namespace tollgate
