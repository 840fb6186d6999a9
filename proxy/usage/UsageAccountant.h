#pragma once

#include "RequestRecord.h"
#include "keys/SecretRedactor.h"
#include "usage/PriceTable.h"

#include <QHash>

namespace tollgate {

// Turns a finished request's raw observations into its ledger row: tokens from the
// response, model, session and project from the request's facts, and the exact cost. Runs
// on the ledger thread, never on the forwarding path. Pure: no I/O, no state.
class UsageAccountant
{
public:
    // An error response's body is kept up to this much for the detail view.
    static constexpr qsizetype kErrorBodyCapBytes = 64 * 1024;

    // bodyLogCapBytes > 0: the opt-in body log keeps both bodies, redacted, this long.
    // providerPrices: the price table of each provider other than "anthropic", by name.
    UsageAccountant(const PriceTable &prices, const SecretRedactor &redactor,
                    qint64 bodyLogCapBytes = 0,
                    const QHash<QString, PriceTable> *providerPrices = nullptr)
        : m_prices(prices)
        , m_redactor(redactor)
        , m_bodyLogCapBytes(bodyLogCapBytes)
        , m_providerPrices(providerPrices)
    {
    }

    // Fills the accounting fields of the record and drops its raw buffers.
    void account(RequestRecord &record) const;

    // GET /v1/messages/batches/{id}/results: JSONL of batch results, billed at half price.
    static bool isBatchResultsPath(const QByteArray &target);

private:
    void keepDetails(RequestRecord &record) const;

    const PriceTable &m_prices;
    const SecretRedactor &m_redactor;
    qint64 m_bodyLogCapBytes;
    const QHash<QString, PriceTable> *m_providerPrices;
};

} // namespace tollgate
