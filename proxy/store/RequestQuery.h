#pragma once

#include "RequestRecord.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <QVariantList>
#include <functional>
#include <limits>
#include <optional>

namespace tollgate {

class LedgerStore;

// The filtered, paged reads of the request log behind the window's request list: which
// rows match a filter, how many there are, one page of them newest first, and one row in
// full. Rows are ordered by start time, newest first, and by id among requests that started
// in the same millisecond: the order the time index holds them in, so that counting and
// skipping rows reads the index rather than the rows.
//
// A filter becomes a WHERE clause of fixed SQL text with every value bound as a parameter,
// never spliced in, so that a hostile session id or search text stays data. Only SQL that
// SQLite and PostgreSQL both understand is used. Every function runs on the store's thread.
class RequestQuery
{
public:
    enum class StatusClass {
        Any,
        Success, // 2xx
        Redirect, // 3xx
        ClientError, // 4xx
        ServerError, // 5xx
        NoResponse, // status 0: the client got no response at all
    };

    struct Filter
    {
        // Requests that started in [fromMs, toMs), epoch milliseconds UTC.
        qint64 fromMs = 0;
        qint64 toMs = std::numeric_limits<qint64>::max();
        std::optional<QByteArray> sessionId;
        std::optional<QString> model;
        std::optional<QString> billingTag;
        StatusClass statusClass = StatusClass::Any;
        std::optional<int> status; // an exact status; overrides statusClass
        // Failed requests only, as LedgerStore::Totals::errors counts them: no response, a
        // status outside 2xx/3xx, or an error recorded (an error event in a 200 stream).
        bool isErrorsOnly = false;
        // A substring of the path, model, session id, project, error or request id; % and _
        // match themselves, surrounding white space is ignored. Case-insensitive for ASCII
        // letters everywhere (SQLite's LOWER() folds only those) and for every letter on
        // PostgreSQL and in matches().
        QString search;

        // The same decision as the WHERE clause, for a finished request not yet read back.
        bool matches(const RequestRecord &record) const;
        bool operator==(const Filter &other) const = default;
    };

    // A row's place in the list order.
    struct Position
    {
        qint64 timeMs = 0;
        quint64 id = 0;
        bool operator==(const Position &other) const = default;
    };
    static Position positionOf(const RequestRecord &record);

    // Which rows a page holds. beforeId bounds the rows to those logged before it (0: no
    // bound): a reader that keeps latestId() + 1 as beforeId sees the same rows at the same
    // offsets however many requests are logged meanwhile. The page starts after the row at
    // `after` when given (cheap however deep), else after `offset` rows.
    struct Page
    {
        quint64 beforeId = 0;
        qint64 offset = 0;
        int limit = 200;
        std::optional<Position> after = std::nullopt;
    };

    enum class Field { SessionId, Model, BillingTag, Status };

    // "WHERE ..." (empty when the filter matches every row) and its values, in order.
    struct Clause
    {
        QString sql;
        QVariantList values;
    };
    static Clause where(const Filter &filter, quint64 beforeId = 0,
                        const std::optional<Position> &after = std::nullopt);

    // The number of matching rows with id < beforeId (0: all); -1 and *error on failure.
    static qint64 count(LedgerStore *store, const Filter &filter, quint64 beforeId = 0,
                        QString *error = nullptr);
    // The newest row id in the log, 0 when it is empty; nullopt and *error on failure.
    static std::optional<quint64> latestId(LedgerStore *store, QString *error = nullptr);
    // One page of matching rows, newest first, with the columns a list shows: no header
    // blocks, error body or stored bodies (see detail()). Empty and *error on failure.
    static QList<RequestRecord> page(LedgerStore *store, const Filter &filter, const Page &page,
                                     QString *error = nullptr);
    // The row with every column; nullopt when there is none (or *error on failure).
    static std::optional<RequestRecord> detail(LedgerStore *store, quint64 id,
                                               QString *error = nullptr);
    // The id of the logged row for a request reported live (which carries no id yet):
    // nullopt when it is not in the log (yet).
    static std::optional<quint64> findId(LedgerStore *store, const RequestRecord &record,
                                         QString *error = nullptr);
    // Every matching row with id < beforeId (0: all) and every column, in list order, read
    // in bounded batches, until visit returns false. False and *error on failure.
    static bool forEach(LedgerStore *store, const Filter &filter, quint64 beforeId,
                        const std::function<bool(const RequestRecord &)> &visit,
                        QString *error = nullptr);
    // The distinct values of a column among the requests since fromMs, most recently used
    // first, at most limit of them; for the filter bar's choices. Status values as text.
    static QStringList distinctValues(LedgerStore *store, Field field, qint64 fromMs, int limit,
                                      QString *error = nullptr);

    // The LIKE pattern for a substring, with the escape character '!' before !, % and _.
    static QString likePattern(const QString &text);
};

} // namespace tollgate
