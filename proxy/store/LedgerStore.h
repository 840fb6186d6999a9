#pragma once

#include "RequestRecord.h"
#include "store/StoreConfig.h"

#include <QByteArray>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <functional>
#include <memory>

class QSqlQuery;
class QThread;

namespace tollgate {

class SqliteRowWriter;

// The request log: one row per request in the `requests` table of a SQLite file or a
// PostgreSQL database, with the queries the usage pages and exports read it with.
// Owns one database connection (a QSqlDatabase under a name of its own). Qt's SQL
// connections belong to the thread that made them, so a LedgerStore is constructed, used
// and destroyed on one thread: the ledger thread (LedgerWriter's), never the proxy's or the
// GUI's. Another thread that reads the log opens a LedgerStore of its own.
//
// Every value goes to the driver as a bound parameter of a prepared statement and is never
// spliced into SQL here, so a hostile session id or tag stays data. Times are epoch
// milliseconds, UTC; time ranges are [fromMs, toMs).
// Not stored: the raw request and response bodies (requestBody, response) and the flags
// isPassthroughAuth, isComplete and usage.hasUsage.
class LedgerStore
{
public:
    enum class Grouping { None, Day, Model, Tag, Session, Key, Project, Provider, Instance };

    struct Totals
    {
        // Model, tag, session id, ...; "YYYY-MM-DD" of the local day for Day; empty for None.
        QString key;
        qint64 requests = 0;
        // Requests that failed: no response, a status outside 2xx/3xx, or an error recorded
        // (a stream that carried an error event counts even though its status was 200).
        qint64 errors = 0;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        qint64 cacheWrite5mTokens = 0;
        qint64 cacheWrite1hTokens = 0;
        qint64 cacheReadTokens = 0;
        qint64 costPicoUsd = 0; // sum over priced rows only
        qint64 costWithoutCachePicoUsd = 0; // the same rows as if nothing had been cached
        qint64 unpricedRequests = 0; // rows whose model had no price: not in the sums above
        qint64 firstMs = 0; // earliest and latest request start in the group
        qint64 lastMs = 0;
        // Prompt-cache attribution: requests Tollgate added cache markers to, those whose
        // cache reads are owed to Tollgate's markers (cache_reads_by_tollgate), and what
        // caching saved on the latter (priced rows: cost without cache minus cost; negative
        // while cache writes have not paid off). The rest of the savings are the client's.
        qint64 requestsWithTollgateMarkers = 0;
        qint64 requestsWithTollgateReads = 0;
        qint64 savedByTollgatePicoUsd = 0;
    };

    struct TimelinePoint
    {
        qint64 timeMs = 0; // the request's start
        qint64 cumulativeCostPicoUsd = 0; // unpriced requests add nothing
        qint64 cumulativeTokens = 0; // input + output + cache writes + cache reads
    };

    explicit LedgerStore(StoreConfig config);
    ~LedgerStore(); // closes and removes the connection
    LedgerStore(const LedgerStore &) = delete;
    LedgerStore &operator=(const LedgerStore &) = delete;

    // Connects and brings the schema up to date. SQLite: creates the file's directory and
    // sets WAL, synchronous=NORMAL and the busy timeout. Several stores (processes,
    // machines) may open one database at once: migrations are serialised by a lock.
    // Refuses a database whose schema is newer than this build knows.
    bool open(QString *error = nullptr);
    // True after open() succeeded, until close() or a lost PostgreSQL connection (a failed
    // call notices it; the next open() reconnects).
    bool isOpen() const;
    void close();

    // Appends the rows in one transaction: all of them or, on failure, none (the caller
    // keeps them and retries). Each row's `instance` is this store's.
    bool insert(const QList<RequestRecord> &records, QString *error = nullptr);

    // Sums over the requests that started in [fromMs, toMs). Day groups by the local day at
    // utcOffsetSeconds east of UTC. Day is ordered by day, ascending; the others by cost
    // descending (ties: more requests first, then by key), so Session with a limit gives the
    // most expensive sessions. None gives one row, or none when no request matched.
    // limit < 0: all groups. An empty list and *error on failure.
    QList<Totals> totals(qint64 fromMs, qint64 toMs, Grouping by, int utcOffsetSeconds = 0,
                         int limit = -1, QString *error = nullptr);
    // The session's requests in time order with running sums, for its cost chart.
    QList<TimelinePoint> sessionTimeline(const QByteArray &sessionId, QString *error = nullptr);
    // Hands the rows that started in [fromMs, toMs) to visit in time order, one at a time as
    // the database returns them, until visit returns false. id is the row's id in the log.
    // visit must not call this store. False and *error when the query failed.
    bool forEachRow(qint64 fromMs, qint64 toMs,
                    const std::function<bool(const RequestRecord &)> &visit,
                    QString *error = nullptr);
    // Deletes the rows that started before cutoffMs, in short transactions so that writers
    // are never blocked for long. The number of rows deleted, or -1 and *error.
    qint64 purgeOlderThan(qint64 cutoffMs, QString *error = nullptr);
    // Returns the pages purged rows left free to the file system (SQLite; PostgreSQL's
    // autovacuum does it by itself).
    bool reclaimSpace(QString *error = nullptr);

    // For queries of the `requests` table written elsewhere (the window's filtered, paged
    // request list): the column list of `SELECT <selectColumns()> FROM requests`, and the
    // row such a query is positioned on.
    static QString selectColumns();
    static RequestRecord recordFrom(const QSqlQuery &query);

    int schemaVersion() const { return m_schemaVersion; } // 0 until open()
    int migrationsApplied() const { return m_migrationsApplied; } // by the last open()
    QString backendName() const; // "sqlite" / "postgresql"
    const StoreConfig &config() const { return m_config; }
    // The QSqlDatabase connection name, for a caller on the same thread that needs the
    // connection itself (diagnostics, tests).
    QString connectionName() const { return m_connectionName; }

private:
    bool isSqlite() const { return m_config.backend == StoreConfig::Backend::Sqlite; }
    bool connectDatabase(QString *error);
    bool configureSqlite(QString *error);
    bool migrate(QString *error);
    bool execute(const QString &sql, QString *error);
    bool beginWrite(QString *error);
    bool commit(QString *error);
    void rollback();
    QSqlQuery *insertStatement(int rows, QString *error);
    bool insertRows(const QList<RequestRecord> &records, qsizetype first, int count,
                    QString *error);
    bool fail(QString *error, const QString &what, const QString &why);
    void resetRowWriter();
    void checkConnection();
    void assertThread() const;

    StoreConfig m_config;
    QString m_connectionName;
    QString m_instance;
    QThread *m_thread = nullptr;
    QSqlDatabase m_db;
    bool m_isOpen = false;
    int m_schemaVersion = 0;
    int m_migrationsApplied = 0;
    // Prepared once per connection: for a single row, and for a block of rows.
    std::unique_ptr<QSqlQuery> m_insertOne;
    std::unique_ptr<QSqlQuery> m_insertBlock;
#ifdef TOLLGATE_HAVE_SQLITE_API
    // SQLite: a row's insert through SQLite's own API where it can be (SqliteRowWriter).
    std::unique_ptr<SqliteRowWriter> m_rowWriters[2]; // one row, a block of rows
    bool m_isRowWriterTried[2] = {false, false};
#endif
};

} // namespace tollgate
