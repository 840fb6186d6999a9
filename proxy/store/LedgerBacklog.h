#pragma once

#include <QtGlobal>
#include <atomic>

namespace tollgate {

// Rows the proxy thread has handed to the ledger thread that the ledger has neither
// written nor set aside yet. The ledger runs at idle priority, so forwarding always comes
// first; should requests ever arrive faster than the machine can log them (a closed-loop
// load test on one core), the proxy holds new requests back while this is high instead
// of queueing rows without bound. Memory stays bounded and no row is lost. Rows of a
// failing store do not count: they wait in memory for the store to come back, as designed,
// and forwarding goes on.
class LedgerBacklog
{
public:
    // About 2.5 MiB of rows in flight, a second of logging at most; below the low mark
    // requests flow again. A hold lasts as long as the ledger takes to write the difference
    // (about 10 ms on one core), so a closed loop sees short pauses rather than long ones.
    static constexpr qint64 kHighWater = 512;
    static constexpr qint64 kLowWater = 128;

    void add(qint64 rows) { m_rows.fetch_add(rows, std::memory_order_relaxed); }
    void release(qint64 rows) { m_rows.fetch_sub(rows, std::memory_order_relaxed); }
    qint64 rows() const { return m_rows.load(std::memory_order_relaxed); }
    bool isHigh() const { return rows() >= kHighWater; }
    bool isLow() const { return rows() <= kLowWater; }

private:
    std::atomic<qint64> m_rows {0};
};

} // namespace tollgate
