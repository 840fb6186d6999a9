#pragma once

#include "RequestRecord.h"
#include "usage/PriceTable.h"

namespace tollgate {

// Turns a finished request's raw observations into its ledger row: tokens from the
// response, model, session and project from the request, and the exact cost. Runs on the
// ledger thread, never on the forwarding path. Pure: no I/O, no state.
class UsageAccountant
{
public:
    explicit UsageAccountant(const PriceTable &prices)
        : m_prices(prices)
    {
    }

    // Fills the accounting fields of the record and drops its raw buffers.
    void account(RequestRecord &record) const;

    // GET /v1/messages/batches/{id}/results: JSONL of batch results, billed at half price.
    static bool isBatchResultsPath(const QByteArray &target);

private:
    const PriceTable &m_prices;
};

} // namespace tollgate
