#pragma once

#include <QList>
#include <QString>
#include <QVariant>
#include <memory>
#include <vector>

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

    // Bind the next placeholder's value. Texts and blobs are bound in place: a view must stay
    // valid until run(). A QString's UTF-8 is kept here until then.
    void bindNull();
    void bindInteger(qint64 value);
    void bindUtf8(QByteArrayView utf8);
    void bindText(QStringView text);
    void bindBlob(QByteArrayView bytes);
    // Runs the statement once with the values bound since the last run, then forgets them.
    // False with *error on failure (a bind's failure included).
    bool run(QString *error);

private:
    SqliteRowWriter(sqlite3 *db, sqlite3_stmt *statement);
    int nextColumn() { return ++m_column; }
    void check(int result);

    sqlite3 *m_db;
    sqlite3_stmt *m_statement;
    int m_column = 0; // placeholders bound so far
    int m_result = 0; // SQLITE_OK, or the first bind's failure
    // The UTF-8 of the QStrings bound since the last run: one buffer per text, kept until
    // the run, and reused after it (steady state: no allocation per row).
    std::vector<QByteArray> m_texts;
    std::size_t m_textsUsed = 0;
};

} // namespace tollgate
