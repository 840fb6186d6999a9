#include "LedgerStore.h"

#include "config/PrivatePaths.h"
#include "store/LedgerSchema.h"
#ifdef TOLLGATE_HAVE_SQLITE_API
#include "store/SqliteRowWriter.h"
#endif

#include <QDate>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QSqlError>
#include <QSqlQuery>
#include <QSysInfo>
#include <QThread>
#include <atomic>
#include <iterator>

namespace tollgate {

namespace {
Q_LOGGING_CATEGORY(lcStore, "tollgate.store")

constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;
// pg_advisory_xact_lock key ("tollgate" in ASCII): instances that open one PostgreSQL
// database at the same time migrate it one after the other.
constexpr qint64 kMigrationLockKey = 0x746f6c6c67617465;
// Rows deleted per statement when purging; each statement is its own short transaction.
constexpr int kPurgeChunkRows = 5000;
// Rows per multi-row INSERT on PostgreSQL, where every statement is a round trip:
// 100 rows x 37 values stays far below the protocol's 65535 parameters. SQLite runs in
// process, where one prepared row at a time is as fast and stays within the 999
// parameters of old SQLite builds.
constexpr int kPostgresRowsPerStatement = 100;
// SQLite runs a statement per block of rows too: the five b-trees a row goes into (the table
// and its indexes) are opened once a block rather than once a row.
constexpr int kSqliteRowsPerStatement = 16;

// The columns of `requests` after id, in the order insert() binds and reads return them.
const char *const kColumns[] = {
    "time_ms",
    "instance",
    "request_id",
    "session_id",
    "project",
    "virtual_key",
    "billing_tag",
    "provider",
    "upstream_key",
    "method",
    "path",
    "model",
    "stream",
    "status",
    "error_type",
    "error",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "service_tier",
    "speed",
    "inference_geo",
    "stop_reason",
    "cost_picousd",
    "cost_without_cache_picousd",
    "cache_markers_added",
    "cache_markers_client",
    "cache_reads_by_tollgate",
    "surface",
    "ttfb_us",
    "total_us",
    "bytes_in",
    "bytes_out",
    "user_agent",
    "is_batch",
    "incomplete",
    "request_headers",
    "response_headers",
    "error_body",
    "request_body",
    "response_body",
};
constexpr int kColumnCount = int(std::size(kColumns));

QString columnList()
{
    QStringList names;
    for (const char *name : kColumns)
        names.append(QLatin1String(name));
    return names.join(QStringLiteral(", "));
}

// Named placeholders ":v0", ":v1", ... one per value of the largest statement (PostgreSQL's). Qt
// binds a value to a name by a hash lookup, but to a position by first formatting the position as
// a name, which costs more than SQLite's own work on a row.
const QStringList &placeholders()
{
    static const QStringList names = [] {
        QStringList list;
        for (int i = 0; i < kPostgresRowsPerStatement * kColumnCount; ++i)
            list.append(QStringLiteral(":v%1").arg(i));
        return list;
    }();
    return names;
}

// For SQLite's own API, which binds by position: "?", whose parse costs nothing per name (a
// block of named ones takes milliseconds to prepare).
QString positionalRows(int rows)
{
    const QString tuple = QLatin1Char('(')
        + QStringList(kColumnCount, QStringLiteral("?")).join(QLatin1Char(',')) + QLatin1Char(')');
    return QStringList(rows, tuple).join(QLatin1Char(','));
}

QString placeholderRows(int rows)
{
    QStringList tuples;
    for (int row = 0; row < rows; ++row) {
        const QStringList names = placeholders().mid(row * kColumnCount, kColumnCount);
        tuples.append(QLatin1Char('(') + names.join(QLatin1Char(',')) + QLatin1Char(')'));
    }
    return tuples.join(QLatin1Char(','));
}

// Text columns are NOT NULL: a null QString would bind as NULL, so it becomes "". NUL
// characters become U+FFFD: PostgreSQL's text type cannot hold them, and one such value
// (a session id from a request body can carry \u0000) must not fail a batch forever.
QVariant text(const QString &value)
{
    if (value.isNull())
        return QString(QLatin1String(""));
    if (!value.contains(QChar(0)))
        return value;
    QString cleaned = value;
    cleaned.replace(QChar(0), QChar(QChar::ReplacementCharacter));
    return cleaned;
}

QVariant text(const QByteArray &value)
{
    return text(QString::fromUtf8(value));
}

// Empty bytes are stored as NULL: most rows have no error body and no logged bodies.
QVariant bytes(const QByteArray &value)
{
    return value.isEmpty() ? QVariant(QMetaType(QMetaType::QByteArray)) : QVariant(value);
}

QVariant nullable(const std::optional<qint64> &value)
{
    return value ? QVariant(*value) : QVariant();
}

std::optional<qint64> optionalValue(const QSqlQuery &query, int index)
{
    if (query.isNull(index))
        return std::nullopt;
    return query.value(index).toLongLong();
}

// A row's values in the order of columnList(), each handed to the sink by kind: an integer
// or a boolean, an integer or NULL, a text (NOT NULL: a null string is ""), or bytes
// (NULL when empty: most rows have no error body and no logged bodies).
template<typename Sink>
void forEachValue(const RequestRecord &row, const QString &instance, Sink &sink)
{
    // A record always has its start time; should one lack it, the time it is written is the
    // best estimate, and keeps it out of the way of retention.
    sink.integer(row.startedAt.isValid() ? row.startedAt.toMSecsSinceEpoch()
                                         : QDateTime::currentMSecsSinceEpoch());
    sink.text(instance);
    sink.text(row.requestId);
    sink.text(row.sessionId);
    sink.text(row.project);
    sink.text(row.virtualKeyAlias);
    sink.text(row.billingTag);
    sink.text(row.provider);
    sink.text(row.upstreamKeyAlias);
    sink.text(row.method);
    sink.text(row.target);
    sink.text(row.model);
    sink.integer(row.isStreaming);
    sink.integer(row.status);
    sink.text(row.errorType);
    sink.text(row.error);
    sink.integer(row.usage.inputTokens);
    sink.integer(row.usage.outputTokens);
    sink.integer(row.usage.cacheWrite5mTokens);
    sink.integer(row.usage.cacheWrite1hTokens);
    sink.integer(row.usage.cacheReadTokens);
    sink.integer(row.usage.webSearchRequests);
    sink.integer(row.usage.webFetchRequests);
    sink.text(row.usage.serviceTier);
    sink.text(row.usage.speed);
    sink.text(row.usage.inferenceGeo);
    sink.text(row.usage.stopReason);
    sink.nullableInteger(row.costPicoUsd);
    sink.nullableInteger(row.costWithoutCachePicoUsd);
    sink.integer(row.cacheMarkersAdded);
    sink.integer(row.cacheMarkersClient);
    sink.integer(row.cacheReadsByTollgate);
    sink.text(row.surface);
    sink.nullableInteger(row.ttfbUs < 0 ? std::nullopt : std::optional<qint64>(row.ttfbUs));
    sink.integer(row.totalUs);
    sink.integer(row.requestBytes);
    sink.integer(row.responseBytes);
    sink.text(row.userAgent);
    sink.integer(row.isBatch);
    sink.integer(row.isIncomplete);
    sink.bytes(row.requestHeaders);
    sink.bytes(row.responseHeaders);
    sink.bytes(row.errorBody);
    sink.bytes(row.storedRequestBody);
    sink.bytes(row.storedResponseBody);
}

// The values as QVariants, for Qt's binding.
struct VariantSink
{
    QList<QVariant> values;
    // Booleans stay booleans: PostgreSQL's boolean columns take no integer.
    template<typename Integer>
    void integer(Integer value)
    {
        values.append(QVariant::fromValue(value));
    }
    void nullableInteger(const std::optional<qint64> &value) { values.append(nullable(value)); }
    void text(const QString &value) { values.append(tollgate::text(value)); }
    void text(const QByteArray &value) { values.append(tollgate::text(value)); }
    void bytes(const QByteArray &value) { values.append(tollgate::bytes(value)); }
};

#ifdef TOLLGATE_HAVE_SQLITE_API
// The values bound straight to SQLite's statement, as Qt's binding would store them.
struct SqliteSink
{
    SqliteRowWriter &writer;
    template<typename Integer>
    void integer(Integer value)
    {
        writer.bindInteger(qint64(value));
    }
    void nullableInteger(const std::optional<qint64> &value)
    {
        if (value)
            writer.bindInteger(*value);
        else
            writer.bindNull();
    }
    void text(const QString &value)
    {
        if (value.contains(QChar(0)))
            writer.bindText(tollgate::text(value).toString());
        else
            writer.bindText(value);
    }
    // UTF-8 as it is when it is valid and has no NUL; else as Qt would decode it.
    void text(const QByteArray &value)
    {
        if (QUtf8StringView(value).isValidUtf8() && !value.contains('\0'))
            writer.bindUtf8(value);
        else
            text(QString::fromUtf8(value));
    }
    void bytes(const QByteArray &value)
    {
        if (value.isEmpty())
            writer.bindNull();
        else
            writer.bindBlob(value);
    }
};
#endif

void bindRow(QSqlQuery &query, int first, const RequestRecord &row, const QString &instance)
{
    // By name: Qt 6.4 formats a placeholder name for every positional bind, which costs
    // more than looking the name up.
    const QStringList &names = placeholders();
    int index = first;
    VariantSink sink;
    sink.values.reserve(kColumnCount);
    forEachValue(row, instance, sink);
    for (const QVariant &value : std::as_const(sink.values))
        query.bindValue(names[index++], value);
}

} // namespace

QString LedgerStore::selectColumns()
{
    return QStringLiteral("id, ") + columnList();
}

// The inverse of bindRow() for `SELECT id, <columns>`.
RequestRecord LedgerStore::recordFrom(const QSqlQuery &query)
{
    int index = 0;
    const auto next = [&] { return query.value(index++); };
    RequestRecord row;
    row.id = next().toULongLong();
    row.startedAt = QDateTime::fromMSecsSinceEpoch(next().toLongLong(), Qt::UTC);
    ++index; // instance: not part of a RequestRecord
    row.requestId = next().toString().toUtf8();
    row.sessionId = next().toString().toUtf8();
    row.project = next().toString();
    row.virtualKeyAlias = next().toString();
    row.billingTag = next().toString();
    row.provider = next().toString();
    row.upstreamKeyAlias = next().toString();
    row.method = next().toString().toUtf8();
    row.target = next().toString().toUtf8();
    row.model = next().toString();
    row.isStreaming = next().toBool();
    row.status = next().toInt();
    row.errorType = next().toString();
    row.error = next().toString();
    row.usage.inputTokens = next().toLongLong();
    row.usage.outputTokens = next().toLongLong();
    row.usage.cacheWrite5mTokens = next().toLongLong();
    row.usage.cacheWrite1hTokens = next().toLongLong();
    row.usage.cacheReadTokens = next().toLongLong();
    row.usage.webSearchRequests = next().toLongLong();
    row.usage.webFetchRequests = next().toLongLong();
    row.usage.serviceTier = next().toString();
    row.usage.speed = next().toString();
    row.usage.inferenceGeo = next().toString();
    row.usage.stopReason = next().toString();
    row.costPicoUsd = optionalValue(query, index++);
    row.costWithoutCachePicoUsd = optionalValue(query, index++);
    row.cacheMarkersAdded = next().toLongLong();
    row.cacheMarkersClient = next().toInt();
    row.cacheReadsByTollgate = next().toBool();
    row.surface = next().toString();
    row.ttfbUs = query.isNull(index) ? -1 : query.value(index).toLongLong();
    ++index;
    row.totalUs = next().toLongLong();
    row.requestBytes = next().toLongLong();
    row.responseBytes = next().toLongLong();
    row.userAgent = next().toString().toUtf8();
    row.isBatch = next().toBool();
    row.isIncomplete = next().toBool();
    row.requestHeaders = next().toByteArray();
    row.responseHeaders = next().toByteArray();
    row.errorBody = next().toByteArray();
    row.storedRequestBody = next().toByteArray();
    row.storedResponseBody = next().toByteArray();
    return row;
}

namespace {

// The grouping column, as SQL text chosen from this fixed list (never a caller's value).
QString groupExpression(LedgerStore::Grouping by)
{
    switch (by) {
    case LedgerStore::Grouping::None:
        return QStringLiteral("''");
    case LedgerStore::Grouping::Day:
        // The local day number: request times are after 1970, so the shifted time is
        // positive and integer division rounds down on both backends.
        return QStringLiteral("(time_ms + ?) / %1").arg(kDayMs);
    case LedgerStore::Grouping::Model:
        return QStringLiteral("model");
    case LedgerStore::Grouping::Tag:
        return QStringLiteral("billing_tag");
    case LedgerStore::Grouping::Session:
        return QStringLiteral("session_id");
    case LedgerStore::Grouping::Key:
        return QStringLiteral("virtual_key");
    case LedgerStore::Grouping::Project:
        return QStringLiteral("project");
    case LedgerStore::Grouping::Provider:
        return QStringLiteral("provider");
    case LedgerStore::Grouping::Instance:
        return QStringLiteral("instance");
    }
    return QStringLiteral("''");
}

// SUM of a BIGINT column as a BIGINT on both backends (PostgreSQL's SUM(bigint) is NUMERIC,
// which Qt would hand back as a double), 0 when no row counts.
QString sumOf(const char *expression)
{
    return QStringLiteral("CAST(COALESCE(SUM(%1), 0) AS BIGINT)").arg(QLatin1String(expression));
}

QString totalsSql(LedgerStore::Grouping by, bool hasLimit)
{
    // The order of these columns is the order totals() reads them in.
    const QStringList columns = {
        groupExpression(by) + QStringLiteral(" AS group_key"),
        QStringLiteral("COUNT(*) AS requests"),
        sumOf("CASE WHEN status < 200 OR status >= 400 OR error <> '' OR error_type <> '' "
              "THEN 1 ELSE 0 END"),
        sumOf("input_tokens"),
        sumOf("output_tokens"),
        sumOf("cache_write_5m_tokens"),
        sumOf("cache_write_1h_tokens"),
        sumOf("cache_read_tokens"),
        sumOf("cost_picousd") + QStringLiteral(" AS cost"),
        sumOf("cost_without_cache_picousd"),
        sumOf("CASE WHEN cost_picousd IS NULL THEN 1 ELSE 0 END"),
        QStringLiteral("MIN(time_ms)"),
        QStringLiteral("MAX(time_ms)"),
        sumOf("CASE WHEN cache_markers_added > 0 THEN 1 ELSE 0 END"),
        sumOf("CASE WHEN cache_reads_by_tollgate THEN 1 ELSE 0 END"),
        // A priced row without its no-cache cost saved nothing (as DashboardModel counts it).
        sumOf("CASE WHEN cache_reads_by_tollgate AND cost_picousd IS NOT NULL "
              "THEN COALESCE(cost_without_cache_picousd, cost_picousd) - cost_picousd "
              "ELSE 0 END"),
    };
    QString sql = QStringLiteral("SELECT ") + columns.join(QStringLiteral(", "))
        + QStringLiteral(" FROM requests WHERE time_ms >= ? AND time_ms < ?");
    // Without GROUP BY the aggregate is one row even over no rows; totals() drops it then.
    // (HAVING without GROUP BY would need SQLite 3.39.)
    if (by != LedgerStore::Grouping::None)
        sql += QStringLiteral(" GROUP BY 1");
    if (by == LedgerStore::Grouping::Day)
        sql += QStringLiteral(" ORDER BY 1");
    else if (by != LedgerStore::Grouping::None)
        sql += QStringLiteral(" ORDER BY cost DESC, requests DESC, group_key");
    if (hasLimit)
        sql += QStringLiteral(" LIMIT ?");
    return sql;
}

QString errorText(const QSqlError &error)
{
    const QString text = error.text().trimmed();
    return text.isEmpty() ? QStringLiteral("unknown database error") : text;
}

std::atomic<quint64> s_connectionCount {0};
} // namespace

LedgerStore::LedgerStore(StoreConfig config)
    : m_config(std::move(config))
    , m_connectionName(QStringLiteral("tollgate-ledger-%1").arg(++s_connectionCount))
    , m_instance(m_config.instance.isEmpty() ? QSysInfo::machineHostName() : m_config.instance)
    , m_thread(QThread::currentThread())
{
}

LedgerStore::~LedgerStore()
{
    assertThread();
    close();
    if (m_db.isValid()) {
        // removeDatabase() wants every handle to the connection gone first.
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
}

void LedgerStore::assertThread() const
{
    Q_ASSERT_X(QThread::currentThread() == m_thread, "LedgerStore",
               "a LedgerStore is used only on the thread that created it");
}

QString LedgerStore::backendName() const
{
    return isSqlite() ? QStringLiteral("sqlite") : QStringLiteral("postgresql");
}

bool LedgerStore::isOpen() const
{
    return m_isOpen && m_db.isOpen();
}

bool LedgerStore::fail(QString *error, const QString &what, const QString &why)
{
    if (error)
        *error = what + QStringLiteral(": ") + why;
    return false;
}

bool LedgerStore::open(QString *error)
{
    assertThread();
    if (isOpen())
        return true;
    close();
    m_migrationsApplied = 0;
    if (!connectDatabase(error))
        return false;
    if (!migrate(error)) {
        close();
        return false;
    }
    m_isOpen = true;
    return true;
}

void LedgerStore::resetRowWriter()
{
#ifdef TOLLGATE_HAVE_SQLITE_API
    for (int kind = 0; kind < 2; ++kind) {
        m_rowWriters[kind].reset(); // finalized before the connection closes
        m_isRowWriterTried[kind] = false;
    }
#endif
}

void LedgerStore::close()
{
    assertThread();
    m_insertOne.reset();
    m_insertBlock.reset();
    resetRowWriter();
    m_isOpen = false;
    m_schemaVersion = 0;
    if (m_db.isOpen())
        m_db.close();
}

bool LedgerStore::connectDatabase(QString *error)
{
    const QString driver = isSqlite() ? QStringLiteral("QSQLITE") : QStringLiteral("QPSQL");
    if (!QSqlDatabase::isDriverAvailable(driver)) {
        return fail(error, QStringLiteral("cannot open the request log"),
                    isSqlite() ? QStringLiteral("Qt's SQLite driver is not installed (Debian: "
                                                "libqt6sql6-sqlite)")
                               : QStringLiteral("Qt's PostgreSQL driver is not installed "
                                                "(Debian: libqt6sql6-psql)"));
    }
    if (!m_db.isValid())
        m_db = QSqlDatabase::addDatabase(driver, m_connectionName);

    bool isNewFile = false;
    if (isSqlite()) {
        if (m_config.sqlitePath.isEmpty())
            return fail(error, QStringLiteral("cannot open the request log"),
                        QStringLiteral("no SQLite file is given"));
        const QFileInfo file(m_config.sqlitePath);
        const QString directory = file.absolutePath();
        QString why;
        if (!PrivatePaths::makeDirectory(directory, &why))
            return fail(error, QStringLiteral("cannot open the request log"), why);
        isNewFile = !file.exists();
        m_db.setDatabaseName(m_config.sqlitePath);
        m_db.setConnectOptions(
            QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(qMax(0, m_config.sqliteBusyTimeoutMs)));
    } else {
        for (const auto &[keyword, value] : m_config.options) {
            QString why;
            if (!StoreConfig::isValidOption(keyword, value, &why))
                return fail(error, QStringLiteral("cannot open the request log"), why);
        }
        m_db.setHostName(m_config.host);
        m_db.setPort(m_config.port);
        m_db.setDatabaseName(m_config.databaseName);
        m_db.setUserName(m_config.userName);
        m_db.setPassword(m_config.password);
        m_db.setConnectOptions(m_config.connectOptions());
    }
    if (!m_db.open())
        return fail(error, QStringLiteral("cannot open %1").arg(m_config.displayName()),
                    errorText(m_db.lastError()));
    if (isSqlite()) {
        // The log says which projects a user worked on: private to the user, like the
        // directory it lives in. SQLite gives its -wal and -shm files the same mode.
        if (isNewFile) {
            QFile::setPermissions(m_config.sqlitePath, QFile::ReadOwner | QFile::WriteOwner);
        } else if (PrivatePaths::isAppDirectory(QFileInfo(m_config.sqlitePath).absolutePath())) {
            // In the app's own directory, a log an older version left readable to others.
            for (const char *suffix : {"", "-wal", "-shm"})
                PrivatePaths::restrictFile(m_config.sqlitePath + QLatin1String(suffix));
        }
        if (!configureSqlite(error)) {
            m_db.close();
            return false;
        }
    } else if (!execute(QStringLiteral("SET client_min_messages TO WARNING"), error)) {
        // Keeps "relation already exists, skipping" notices of the migration out of the log.
        m_db.close();
        return false;
    }
    return true;
}

bool LedgerStore::configureSqlite(QString *error)
{
    if (!execute(
            QStringLiteral("PRAGMA busy_timeout=%1").arg(qMax(0, m_config.sqliteBusyTimeoutMs)),
            error))
        return false;
    // Set before the first table exists (they have no effect on a database that already
    // has one). Pages freed by retention can then be returned to the file system. Each
    // commit appends its changed pages to the WAL with two writes per page; a row with its
    // header lines fills most of a 4 KiB page, so 16 KiB pages take a quarter of the write
    // calls for the same rows.
    if (!execute(QStringLiteral("PRAGMA page_size=16384"), error)
        || !execute(QStringLiteral("PRAGMA auto_vacuum=INCREMENTAL"), error))
        return false;
    // Two connections switching a new file to WAL at once (the gateway and the usage
    // window both starting) each hold a shared lock and want an exclusive one. SQLite
    // answers one of them SQLITE_BUSY at once rather than deadlock, without calling the
    // busy handler, so the switch is retried here until the busy timeout.
    QSqlQuery query(m_db);
    QElapsedTimer waited;
    waited.start();
    for (int pauseMs = 5;; pauseMs = qMin(pauseMs * 2, 100)) {
        if (query.exec(QStringLiteral("PRAGMA journal_mode=WAL")) && query.next())
            break;
        const bool busy = query.lastError().nativeErrorCode() == QLatin1String("5") // SQLITE_BUSY
            || query.lastError().databaseText().contains(QLatin1String("locked"));
        if (!busy || waited.elapsed() >= m_config.sqliteBusyTimeoutMs)
            return fail(error, QStringLiteral("cannot switch the request log to WAL"),
                        errorText(query.lastError()));
        query.finish();
        QThread::msleep(static_cast<unsigned long>(pauseMs));
    }
    // Readers (the usage window, exports) then never block the writer nor it them. A file
    // system without shared memory (some network shares) stays in its journal mode.
    if (query.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        qCWarning(lcStore).noquote()
            << QStringLiteral("request log %1: journal mode stays %2 (WAL is not available)")
                   .arg(m_config.displayName(), query.value(0).toString());
    query.finish();
    // In WAL mode NORMAL is durable against application crashes, and loses at most the last
    // commits on power loss, which is the trade a request log wants for fast inserts.
    return execute(QStringLiteral("PRAGMA synchronous=NORMAL"), error);
}

bool LedgerStore::execute(const QString &sql, QString *error)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql))
        return fail(error, sql, errorText(query.lastError()));
    return true;
}

bool LedgerStore::beginWrite(QString *error)
{
    // SQLite: take the write lock up front, so a busy database waits (busy_timeout) here
    // rather than failing half way through the batch.
    return execute(isSqlite() ? QStringLiteral("BEGIN IMMEDIATE") : QStringLiteral("BEGIN"), error);
}

bool LedgerStore::commit(QString *error)
{
    return execute(QStringLiteral("COMMIT"), error);
}

void LedgerStore::rollback()
{
    QString ignored;
    execute(QStringLiteral("ROLLBACK"), &ignored);
}

bool LedgerStore::migrate(QString *error)
{
    const QString what =
        QStringLiteral("cannot prepare the request log %1").arg(m_config.displayName());
    QString why;
    if (!beginWrite(&why))
        return fail(error, what, why);
    const auto abort = [&](const QString &reason) {
        rollback();
        return fail(error, what, reason);
    };
    if (!isSqlite()) {
        QSqlQuery lock(m_db);
        lock.prepare(QStringLiteral("SELECT pg_advisory_xact_lock(?)"));
        lock.addBindValue(kMigrationLockKey);
        if (!lock.exec())
            return abort(errorText(lock.lastError()));
    }
    if (!execute(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                "version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)"),
                 &why))
        return abort(why);
    QSqlQuery current(m_db);
    if (!current.exec(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        || !current.next())
        return abort(errorText(current.lastError()));
    int version = current.value(0).toInt();
    current.finish();
    if (version > LedgerSchema::latestVersion())
        return abort(QStringLiteral("its schema version %1 is newer than this Tollgate knows (%2); "
                                    "update Tollgate")
                         .arg(version)
                         .arg(LedgerSchema::latestVersion()));
    int applied = 0;
    for (const LedgerSchema::Migration &migration : LedgerSchema::migrations(m_config.backend)) {
        if (migration.version <= version)
            continue;
        for (const QString &statement : migration.statements) {
            if (!execute(statement, &why))
                return abort(
                    QStringLiteral("migration %1 failed: %2").arg(migration.version).arg(why));
        }
        QSqlQuery record(m_db);
        record.prepare(QStringLiteral("INSERT INTO schema_migrations (version, applied_ms) "
                                      "VALUES (?, ?)"));
        record.addBindValue(migration.version);
        record.addBindValue(QDateTime::currentMSecsSinceEpoch());
        if (!record.exec())
            return abort(errorText(record.lastError()));
        version = migration.version;
        ++applied;
    }
    if (!commit(&why))
        return abort(why);
    if (applied > 0)
        qCInfo(lcStore).noquote() << QStringLiteral("request log %1: schema version %2")
                                         .arg(m_config.displayName())
                                         .arg(version);
    m_schemaVersion = version;
    m_migrationsApplied = applied;
    return true;
}

void LedgerStore::checkConnection()
{
    // A PostgreSQL statement that failed most often means the server went away (restart,
    // network). Qt may still report the connection open, so ask the server. Closing makes
    // isOpen() false and the next open() connects afresh.
    if (isSqlite() || !m_isOpen)
        return;
    QString why = m_db.lastError().isValid() ? errorText(m_db.lastError())
                                             : QStringLiteral("the connection was closed");
    if (m_db.isOpen()) {
        QSqlQuery ping(m_db);
        if (ping.exec(QStringLiteral("SELECT 1")))
            return;
        why = errorText(ping.lastError());
    }
    qCWarning(lcStore).noquote()
        << QStringLiteral("request log %1: connection lost (%2)").arg(m_config.displayName(), why);
    close();
}

QSqlQuery *LedgerStore::insertStatement(int rows, QString *error)
{
    std::unique_ptr<QSqlQuery> &statement = rows == 1 ? m_insertOne : m_insertBlock;
    if (statement)
        return statement.get();
    auto query = std::make_unique<QSqlQuery>(m_db);
    if (!query->prepare(QStringLiteral("INSERT INTO requests (") + columnList()
                        + QStringLiteral(") VALUES ") + placeholderRows(rows))) {
        fail(error, QStringLiteral("cannot prepare the insert"), errorText(query->lastError()));
        return nullptr;
    }
    statement = std::move(query);
    return statement.get();
}

bool LedgerStore::insertRows(const QList<RequestRecord> &records, qsizetype first, int count,
                             QString *error)
{
#ifdef TOLLGATE_HAVE_SQLITE_API
    if (isSqlite() && (count == 1 || count == kSqliteRowsPerStatement)) {
        const int kind = count == 1 ? 0 : 1;
        std::unique_ptr<SqliteRowWriter> &writer = m_rowWriters[kind];
        if (!m_isRowWriterTried[kind]) {
            m_isRowWriterTried[kind] = true;
            QString why;
            writer =
                SqliteRowWriter::attach(m_db,
                                        QStringLiteral("INSERT INTO requests (") + columnList()
                                            + QStringLiteral(") VALUES ") + positionalRows(count),
                                        &why);
            if (!writer)
                qCDebug(lcStore).noquote()
                    << QStringLiteral("request log: rows go through Qt's binding: %1").arg(why);
        }
        if (writer) {
            SqliteSink sink {*writer};
            for (int i = 0; i < count; ++i)
                forEachValue(records.at(first + i), m_instance, sink);
            QString why;
            if (writer->run(&why))
                return true;
            return fail(error, QStringLiteral("cannot insert into the request log"), why);
        }
    }
#endif
    QSqlQuery *query = insertStatement(count, error);
    if (!query)
        return false;
    for (int i = 0; i < count; ++i)
        bindRow(*query, i * kColumnCount, records.at(first + i), m_instance);
    if (!query->exec())
        return fail(error, QStringLiteral("cannot insert into the request log"),
                    errorText(query->lastError()));
    query->finish();
    return true;
}

bool LedgerStore::insert(const QList<RequestRecord> &records, QString *error)
{
    assertThread();
    if (records.isEmpty())
        return true;
    if (!isOpen())
        return fail(error, QStringLiteral("cannot write to the request log"),
                    QStringLiteral("it is not open"));
    if (!beginWrite(error)) {
        checkConnection();
        return false;
    }
    const int block = isSqlite() ? kSqliteRowsPerStatement : kPostgresRowsPerStatement;
    qsizetype done = 0;
    bool isWritten = true;
    while (isWritten && records.size() - done >= block) {
        isWritten = insertRows(records, done, block, error);
        done += block;
    }
    while (isWritten && done < records.size()) {
        isWritten = insertRows(records, done, 1, error);
        ++done;
    }
    if (isWritten && commit(error))
        return true;
    rollback();
    // The retry prepares afresh: a server-side prepared statement may be what failed (a
    // pooler such as pgbouncer that moved the session, a schema another instance changed).
    m_insertOne.reset();
    m_insertBlock.reset();
    resetRowWriter();
    checkConnection();
    return false;
}

QList<LedgerStore::Totals> LedgerStore::totals(qint64 fromMs, qint64 toMs, Grouping by,
                                               int utcOffsetSeconds, int limit, QString *error)
{
    assertThread();
    QList<Totals> result;
    if (!isOpen()) {
        fail(error, QStringLiteral("cannot read the request log"),
             QStringLiteral("it is not open"));
        return result;
    }
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    if (!query.prepare(totalsSql(by, limit >= 0))) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        return result;
    }
    if (by == Grouping::Day)
        query.addBindValue(qint64(utcOffsetSeconds) * 1000);
    query.addBindValue(fromMs);
    query.addBindValue(toMs);
    if (limit >= 0)
        query.addBindValue(limit);
    if (!query.exec()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return result;
    }
    const QDate epoch(1970, 1, 1);
    while (query.next()) {
        Totals totals;
        totals.key = by == Grouping::Day
            ? epoch.addDays(query.value(0).toLongLong()).toString(Qt::ISODate)
            : query.value(0).toString();
        totals.requests = query.value(1).toLongLong();
        totals.errors = query.value(2).toLongLong();
        totals.inputTokens = query.value(3).toLongLong();
        totals.outputTokens = query.value(4).toLongLong();
        totals.cacheWrite5mTokens = query.value(5).toLongLong();
        totals.cacheWrite1hTokens = query.value(6).toLongLong();
        totals.cacheReadTokens = query.value(7).toLongLong();
        totals.costPicoUsd = query.value(8).toLongLong();
        totals.costWithoutCachePicoUsd = query.value(9).toLongLong();
        totals.unpricedRequests = query.value(10).toLongLong();
        totals.firstMs = query.value(11).toLongLong();
        totals.lastMs = query.value(12).toLongLong();
        totals.requestsWithTollgateMarkers = query.value(13).toLongLong();
        totals.requestsWithTollgateReads = query.value(14).toLongLong();
        totals.savedByTollgatePicoUsd = query.value(15).toLongLong();
        if (totals.requests > 0)
            result.append(totals);
    }
    if (query.lastError().isValid()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return {};
    }
    return result;
}

QList<LedgerStore::TimelinePoint> LedgerStore::sessionTimeline(const QByteArray &sessionId,
                                                               QString *error)
{
    assertThread();
    QList<TimelinePoint> points;
    if (!isOpen()) {
        fail(error, QStringLiteral("cannot read the request log"),
             QStringLiteral("it is not open"));
        return points;
    }
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral(
        "SELECT time_ms, cost_picousd, input_tokens + output_tokens + cache_write_5m_tokens"
        " + cache_write_1h_tokens + cache_read_tokens FROM requests WHERE session_id = ?"
        " ORDER BY time_ms, id"));
    query.addBindValue(text(sessionId));
    if (!query.exec()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return points;
    }
    TimelinePoint point;
    while (query.next()) {
        point.timeMs = query.value(0).toLongLong();
        point.cumulativeCostPicoUsd += query.value(1).toLongLong(); // NULL (unpriced) reads 0
        point.cumulativeTokens += query.value(2).toLongLong();
        points.append(point);
    }
    if (query.lastError().isValid()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return {};
    }
    return points;
}

bool LedgerStore::forEachRow(qint64 fromMs, qint64 toMs,
                             const std::function<bool(const RequestRecord &)> &visit,
                             QString *error)
{
    assertThread();
    if (!isOpen())
        return fail(error, QStringLiteral("cannot read the request log"),
                    QStringLiteral("it is not open"));
    // Forward-only: SQLite steps through the result and PostgreSQL sends it row by row, so
    // an export of a year holds one row in memory at a time.
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT ") + selectColumns()
                  + QStringLiteral(" FROM requests WHERE time_ms >= ? AND time_ms < ?"
                                   " ORDER BY time_ms, id"));
    query.addBindValue(fromMs);
    query.addBindValue(toMs);
    if (!query.exec()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return false;
    }
    while (query.next()) {
        if (!visit(recordFrom(query)))
            return true;
    }
    if (query.lastError().isValid()) {
        fail(error, QStringLiteral("cannot read the request log"), errorText(query.lastError()));
        checkConnection();
        return false;
    }
    return true;
}

qint64 LedgerStore::purgeOlderThan(qint64 cutoffMs, QString *error)
{
    assertThread();
    if (!isOpen()) {
        fail(error, QStringLiteral("cannot clean up the request log"),
             QStringLiteral("it is not open"));
        return -1;
    }
    QSqlQuery query(m_db);
    query.prepare(QStringLiteral("DELETE FROM requests WHERE id IN "
                                 "(SELECT id FROM requests WHERE time_ms < ? LIMIT ?)"));
    qint64 removed = 0;
    for (;;) {
        query.bindValue(0, cutoffMs);
        query.bindValue(1, kPurgeChunkRows);
        if (!query.exec()) {
            fail(error, QStringLiteral("cannot clean up the request log"),
                 errorText(query.lastError()));
            query = QSqlQuery();
            checkConnection();
            return -1;
        }
        const int chunk = query.numRowsAffected();
        query.finish();
        removed += qMax(0, chunk);
        if (chunk < kPurgeChunkRows)
            return removed;
    }
}

bool LedgerStore::reclaimSpace(QString *error)
{
    assertThread();
    // PostgreSQL's autovacuum does this by itself.
    if (!isSqlite())
        return true;
    // Qt steps a statement without result columns once, and each step of incremental_vacuum
    // frees one page: so it runs until the free list is empty or stops shrinking.
    const auto freePages = [this] {
        QSqlQuery count(m_db);
        return count.exec(QStringLiteral("PRAGMA freelist_count")) && count.next()
            ? count.value(0).toLongLong()
            : qint64(-1);
    };
    qint64 before = freePages();
    while (before > 0) {
        QSqlQuery vacuum(m_db);
        if (!vacuum.exec(QStringLiteral("PRAGMA incremental_vacuum(%1)").arg(before)))
            return fail(error, QStringLiteral("cannot shrink the request log"),
                        errorText(vacuum.lastError()));
        vacuum.finish();
        const qint64 after = freePages();
        if (after < 0 || after >= before)
            break; // not in incremental mode (a file created before it was set)
        before = after;
    }
    return true;
}

} // namespace tollgate
