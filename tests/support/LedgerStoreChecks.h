#pragma once

#include "RequestRecord.h"
#include "store/LedgerStore.h"

#include <QList>
#include <QSqlDatabase>
#include <functional>
#include <memory>
#include <optional>

namespace tollgate::test {

// What LedgerStore does the same on every backend, written once and run by the SQLite and
// the PostgreSQL tests. Each check takes a store open on an empty database (or a factory of
// stores on one empty database) and reports through QTest's macros: the calling test slot
// returns right after it.
class LedgerStoreChecks
{
public:
    using StoreFactory = std::function<std::unique_ptr<LedgerStore>()>;

    static qint64 baseMs(); // 2025-03-14 12:00:00 UTC: the sample rows' time
    static constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;
    static constexpr qint64 kHourMs = 60LL * 60 * 1000;

    // A record with every stored field set, numbers beyond 32 bits, n making it unique.
    static RequestRecord fullRecord(int n);
    // A small record for the queries: its start, model, cost (nullopt: unpriced) and tokens.
    static RequestRecord row(qint64 timeMs, const QString &model, std::optional<qint64> costPicoUsd,
                             qint64 inputTokens = 10, qint64 outputTokens = 20);

    // The store's own connection, for SQL the checks run beside it.
    static QSqlDatabase connectionOf(const LedgerStore &store);
    static qint64 rowCount(const LedgerStore &store); // -1 when the count failed
    static QList<RequestRecord> readAll(LedgerStore &store);
    static void compareStoredFields(const RequestRecord &actual, const RequestRecord &expected);

    static void createsSchemaOnce(const StoreFactory &makeStore);
    static void refusesNewerSchema(const StoreFactory &makeStore);
    // A request log of schema version 1 (before prompt-cache attribution) opens, keeps its
    // rows and gains the new columns, with old rows' reads credited to Tollgate only where
    // its marker count proves the client had none.
    static void migratesFromVersion1(const StoreFactory &makeStore);
    static void readsBackEveryField(LedgerStore &store);
    static void storesEmptyAndDefaultRecord(LedgerStore &store);
    static void keepsUnpricedCostNull(LedgerStore &store);
    static void insertsAllOrNothing(LedgerStore &store);
    static void countsTotalsWithinRange(LedgerStore &store);
    static void groupsDaysByLocalMidnight(LedgerStore &store);
    static void ordersGroupsByCost(LedgerStore &store);
    static void accumulatesSessionTimeline(LedgerStore &store);
    static void purgesOlderRows(LedgerStore &store);
    static void storesHostileTextVerbatim(LedgerStore &store);
    static void streamsRowsInTimeOrderAndStops(LedgerStore &store);
    // Inserts batches of batchRows rows and reports the rate with qInfo.
    static void measuresInsertRate(LedgerStore &store, int batches, int batchRows);
};

} // namespace tollgate::test
