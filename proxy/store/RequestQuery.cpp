#include "RequestQuery.h"

#include "store/LedgerStore.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

namespace tollgate {

namespace {

// LIKE's escape character: not a backslash, whose meaning inside a string literal differs
// between SQL dialects and settings.
constexpr QChar kEscape = u'!';
// Rows per statement when every column of every matching row is read (exports): bounded
// memory whatever the header blocks and bodies weigh.
constexpr int kBatchRows = 500;

// The columns of the list: LedgerStore's full column list with the header blocks, error body
// and stored bodies read as NULL, so that LedgerStore::recordFrom() maps the rows (the
// positions stay) while the heavy values never leave the database.
QString leanColumns()
{
    static const QString lean = [] {
        const char *const heavy[] = {"request_headers", "response_headers", "error_body",
                                     "request_body", "response_body"};
        QStringList columns = LedgerStore::selectColumns().split(u',');
        for (QString &column : columns) {
            column = column.trimmed();
            for (const char *name : heavy) {
                if (column == QLatin1String(name))
                    column = QStringLiteral("NULL");
            }
        }
        return columns.join(QStringLiteral(", "));
    }();
    return lean;
}

// The columns searched for Filter::search, as SQL text from this fixed list.
const char *const kSearchColumns[] = {"path",    "model", "session_id",
                                      "project", "error", "request_id"};

// A text value as the log stores it: never NULL (the columns hold '' for "none"), so that
// filtering on an empty tag finds the untagged rows.
QVariant text(const QString &value)
{
    return value.isNull() ? QVariant(QString(QLatin1String(""))) : QVariant(value);
}

QVariant text(const QByteArray &value)
{
    return text(QString::fromUtf8(value));
}

QString errorText(const QSqlError &error)
{
    const QString text = error.text().trimmed();
    return text.isEmpty() ? QStringLiteral("unknown database error") : text;
}

bool fail(QString *error, const QString &why)
{
    if (error)
        *error = QStringLiteral("cannot read the request log: ") + why;
    return false;
}

// A prepared, executed, forward-only query on the store's connection; false and *error when
// the store is not open or the statement failed.
bool execute(QSqlQuery &query, const QString &sql, const QVariantList &values, QString *error)
{
    query.setForwardOnly(true);
    if (!query.prepare(sql))
        return fail(error, errorText(query.lastError()));
    for (const QVariant &value : values)
        query.addBindValue(value);
    if (!query.exec())
        return fail(error, errorText(query.lastError()));
    return true;
}

QSqlDatabase databaseOf(LedgerStore *store)
{
    return QSqlDatabase::database(store->connectionName(), false);
}

bool isUsable(LedgerStore *store, QString *error)
{
    if (store && store->isOpen())
        return true;
    return fail(error, QStringLiteral("it is not open"));
}

bool isFailure(int status)
{
    return status < 200 || status >= 400;
}

bool statusMatches(const RequestQuery::Filter &filter, int status)
{
    if (filter.status)
        return status == *filter.status;
    switch (filter.statusClass) {
    case RequestQuery::StatusClass::Any:
        return true;
    case RequestQuery::StatusClass::Success:
        return status >= 200 && status < 300;
    case RequestQuery::StatusClass::Redirect:
        return status >= 300 && status < 400;
    case RequestQuery::StatusClass::ClientError:
        return status >= 400 && status < 500;
    case RequestQuery::StatusClass::ServerError:
        return status >= 500 && status < 600;
    case RequestQuery::StatusClass::NoResponse:
        return status == 0;
    }
    return true;
}

// The status condition as a range [low, high) on the status column.
std::optional<std::pair<int, int>> statusRange(const RequestQuery::Filter &filter)
{
    if (filter.status)
        return std::pair {*filter.status, *filter.status + 1};
    switch (filter.statusClass) {
    case RequestQuery::StatusClass::Any:
        return std::nullopt;
    case RequestQuery::StatusClass::Success:
        return std::pair {200, 300};
    case RequestQuery::StatusClass::Redirect:
        return std::pair {300, 400};
    case RequestQuery::StatusClass::ClientError:
        return std::pair {400, 500};
    case RequestQuery::StatusClass::ServerError:
        return std::pair {500, 600};
    case RequestQuery::StatusClass::NoResponse:
        return std::pair {0, 1};
    }
    return std::nullopt;
}

QString searchText(const QString &search)
{
    return search.trimmed().toLower();
}

QString columnOf(RequestQuery::Field field)
{
    switch (field) {
    case RequestQuery::Field::SessionId:
        return QStringLiteral("session_id");
    case RequestQuery::Field::Model:
        return QStringLiteral("model");
    case RequestQuery::Field::BillingTag:
        return QStringLiteral("billing_tag");
    case RequestQuery::Field::Status:
        return QStringLiteral("status");
    }
    return QStringLiteral("model");
}

} // namespace

bool RequestQuery::Filter::matches(const RequestRecord &record) const
{
    const qint64 startMs = record.startedAt.toMSecsSinceEpoch();
    if (startMs < fromMs || startMs >= toMs)
        return false;
    if (sessionId && record.sessionId != *sessionId)
        return false;
    if (model && record.model != *model)
        return false;
    if (billingTag && record.billingTag != *billingTag)
        return false;
    if (!statusMatches(*this, record.status))
        return false;
    if (isErrorsOnly && !isFailure(record.status) && record.error.isEmpty()
        && record.errorType.isEmpty())
        return false;
    const QString needle = searchText(search);
    if (needle.isEmpty())
        return true;
    const QString haystacks[] = {QString::fromUtf8(record.target),
                                 record.model,
                                 QString::fromUtf8(record.sessionId),
                                 record.project,
                                 record.error,
                                 QString::fromUtf8(record.requestId)};
    for (const QString &haystack : haystacks) {
        if (haystack.toLower().contains(needle))
            return true;
    }
    return false;
}

QString RequestQuery::likePattern(const QString &text)
{
    QString escaped;
    escaped.reserve(text.size() + 2);
    escaped.append(u'%');
    for (const QChar c : text) {
        if (c == kEscape || c == u'%' || c == u'_')
            escaped.append(kEscape);
        escaped.append(c);
    }
    escaped.append(u'%');
    return escaped;
}

RequestQuery::Position RequestQuery::positionOf(const RequestRecord &record)
{
    return {record.startedAt.toMSecsSinceEpoch(), record.id};
}

RequestQuery::Clause RequestQuery::where(const Filter &filter, quint64 beforeId,
                                         const std::optional<Position> &after)
{
    QStringList conditions;
    Clause clause;
    const auto add = [&](const QString &condition, std::initializer_list<QVariant> values) {
        conditions.append(condition);
        for (const QVariant &value : values)
            clause.values.append(value);
    };
    // "+id": not a rowid range for SQLite's planner, which would then read the table rather
    // than the time index to count or skip rows.
    if (beforeId > 0)
        add(QStringLiteral("+id < ?"), {qint64(beforeId)});
    // Below the position in (time_ms DESC, id DESC) order, written so that both databases
    // seek the time index to it.
    if (after) {
        add(QStringLiteral("time_ms <= ? AND (time_ms < ? OR id < ?)"),
            {after->timeMs, after->timeMs, qint64(after->id)});
    }
    if (filter.fromMs > 0)
        add(QStringLiteral("time_ms >= ?"), {filter.fromMs});
    if (filter.toMs < std::numeric_limits<qint64>::max())
        add(QStringLiteral("time_ms < ?"), {filter.toMs});
    if (filter.sessionId)
        add(QStringLiteral("session_id = ?"), {text(*filter.sessionId)});
    if (filter.model)
        add(QStringLiteral("model = ?"), {text(*filter.model)});
    if (filter.billingTag)
        add(QStringLiteral("billing_tag = ?"), {text(*filter.billingTag)});
    if (const auto range = statusRange(filter))
        add(QStringLiteral("status >= ? AND status < ?"), {range->first, range->second});
    if (filter.isErrorsOnly) {
        add(QStringLiteral("(status < 200 OR status >= 400 OR error <> '' OR error_type <> '')"),
            {});
    }
    const QString needle = searchText(filter.search);
    if (!needle.isEmpty()) {
        const QString pattern = likePattern(needle);
        QStringList alternatives;
        for (const char *column : kSearchColumns) {
            alternatives.append(QStringLiteral("LOWER(%1) LIKE ? ESCAPE '%2'")
                                    .arg(QLatin1String(column), QString(kEscape)));
            clause.values.append(pattern);
        }
        conditions.append(u'(' + alternatives.join(QStringLiteral(" OR ")) + u')');
    }
    if (!conditions.isEmpty())
        clause.sql = QStringLiteral(" WHERE ") + conditions.join(QStringLiteral(" AND "));
    return clause;
}

qint64 RequestQuery::count(LedgerStore *store, const Filter &filter, quint64 beforeId,
                           QString *error)
{
    if (!isUsable(store, error))
        return -1;
    const Clause clause = where(filter, beforeId);
    QSqlQuery query(databaseOf(store));
    if (!execute(query, QStringLiteral("SELECT COUNT(*) FROM requests") + clause.sql, clause.values,
                 error))
        return -1;
    if (!query.next()) {
        fail(error, errorText(query.lastError()));
        return -1;
    }
    return query.value(0).toLongLong();
}

std::optional<quint64> RequestQuery::latestId(LedgerStore *store, QString *error)
{
    if (!isUsable(store, error))
        return std::nullopt;
    QSqlQuery query(databaseOf(store));
    if (!execute(query, QStringLiteral("SELECT MAX(id) FROM requests"), {}, error))
        return std::nullopt;
    if (!query.next()) {
        fail(error, errorText(query.lastError()));
        return std::nullopt;
    }
    return query.isNull(0) ? 0 : query.value(0).toULongLong();
}

QList<RequestRecord> RequestQuery::page(LedgerStore *store, const Filter &filter, const Page &page,
                                        QString *error)
{
    QList<RequestRecord> rows;
    if (!isUsable(store, error) || page.limit <= 0)
        return rows;
    Clause clause = where(filter, page.beforeId, page.after);
    clause.values.append(page.limit);
    clause.values.append(qMax<qint64>(0, page.offset));
    QSqlQuery query(databaseOf(store));
    if (!execute(query,
                 QStringLiteral("SELECT ") + leanColumns() + QStringLiteral(" FROM requests")
                     + clause.sql
                     + QStringLiteral(" ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?"),
                 clause.values, error))
        return rows;
    rows.reserve(page.limit);
    while (query.next())
        rows.append(LedgerStore::recordFrom(query));
    if (query.lastError().isValid()) {
        fail(error, errorText(query.lastError()));
        rows.clear();
    }
    return rows;
}

std::optional<RequestRecord> RequestQuery::detail(LedgerStore *store, quint64 id, QString *error)
{
    if (!isUsable(store, error))
        return std::nullopt;
    QSqlQuery query(databaseOf(store));
    if (!execute(query,
                 QStringLiteral("SELECT ") + LedgerStore::selectColumns()
                     + QStringLiteral(" FROM requests WHERE id = ?"),
                 {qint64(id)}, error))
        return std::nullopt;
    if (!query.next()) {
        if (query.lastError().isValid())
            fail(error, errorText(query.lastError()));
        return std::nullopt;
    }
    return LedgerStore::recordFrom(query);
}

std::optional<quint64> RequestQuery::findId(LedgerStore *store, const RequestRecord &record,
                                            QString *error)
{
    if (!isUsable(store, error))
        return std::nullopt;
    QSqlQuery query(databaseOf(store));
    const QVariantList values = {record.startedAt.toMSecsSinceEpoch(), text(record.sessionId),
                                 text(record.requestId), record.totalUs, text(record.model)};
    if (!execute(query,
                 QStringLiteral("SELECT id FROM requests WHERE time_ms = ? AND session_id = ? "
                                "AND request_id = ? AND total_us = ? AND model = ? "
                                "ORDER BY id DESC LIMIT 1"),
                 values, error))
        return std::nullopt;
    if (!query.next())
        return std::nullopt;
    return query.value(0).toULongLong();
}

bool RequestQuery::forEach(LedgerStore *store, const Filter &filter, quint64 beforeId,
                           const std::function<bool(const RequestRecord &)> &visit, QString *error)
{
    if (!isUsable(store, error))
        return false;
    // Batches continue after the last row seen: each statement is short, and rows logged
    // meanwhile never shift what comes next.
    std::optional<Position> after;
    for (;;) {
        Clause clause = where(filter, beforeId, after);
        clause.values.append(kBatchRows);
        QSqlQuery query(databaseOf(store));
        if (!execute(query,
                     QStringLiteral("SELECT ") + LedgerStore::selectColumns()
                         + QStringLiteral(" FROM requests") + clause.sql
                         + QStringLiteral(" ORDER BY time_ms DESC, id DESC LIMIT ?"),
                     clause.values, error))
            return false;
        int rows = 0;
        while (query.next()) {
            const RequestRecord record = LedgerStore::recordFrom(query);
            ++rows;
            after = positionOf(record);
            if (!visit(record))
                return true;
        }
        if (query.lastError().isValid())
            return fail(error, errorText(query.lastError()));
        if (rows < kBatchRows)
            return true;
    }
}

QStringList RequestQuery::distinctValues(LedgerStore *store, Field field, qint64 fromMs, int limit,
                                         QString *error)
{
    QStringList values;
    if (!isUsable(store, error) || limit <= 0)
        return values;
    const QString column = columnOf(field);
    // Grouping rather than DISTINCT, so that the values can be ordered by their last use.
    QSqlQuery query(databaseOf(store));
    if (!execute(query,
                 QStringLiteral("SELECT %1 FROM requests WHERE time_ms >= ? GROUP BY %1 "
                                "ORDER BY MAX(id) DESC LIMIT ?")
                     .arg(column),
                 {fromMs, limit}, error))
        return values;
    while (query.next()) {
        const QString value = query.value(0).toString();
        if (!value.isEmpty())
            values.append(value);
    }
    return values;
}

} // namespace tollgate
