#pragma once

#include <QList>
#include <QString>
#include <QVariant>
#include <memory>

class QSqlDatabase;
struct sqlite3;
struct sqlite3_stmt;

namespace tollgate {

// Writes request-log rows with SQLite's own API on the connection Qt opened. Qt 6.4's
// QSqlResult::bindValue looks each placeholder up by name in a hash (or formats a name for
// a positional one), which made up most of the CPU a row's write takes with 45 columns.
// Only where Qt's SQLite driver runs on this very SQLite library (Debian's Qt links the
// system libsqlite3); where Qt carries its own copy (Qt's installers), attach() declines and
// the caller binds through Qt as before.
class SqliteRowWriter
{
public:
    // The writer of `sql` (an INSERT with one placeholder per value, bound in the order
    // they appear) on db's connection, or null with *why when it cannot be used there.
    static std::unique_ptr<SqliteRowWriter> attach(const QSqlDatabase &db, const QString &sql,
                                                   QString *why);
    ~SqliteRowWriter(); // finalizes the statement
    SqliteRowWriter(const SqliteRowWriter &) = delete;
    SqliteRowWriter &operator=(const SqliteRowWriter &) = delete;

    // Binds the values in order (as Qt's driver would: null, integers, text, blobs) and
    // runs the statement once. False with *error on failure.
    bool write(const QList<QVariant> &values, QString *error);

private:
    SqliteRowWriter(sqlite3 *db, sqlite3_stmt *statement);

    sqlite3 *m_db;
    sqlite3_stmt *m_statement;
};

} // namespace tollgate
