#include "SqliteRowWriter.h"

#include <QSqlDatabase>
#include <QSqlDriver>
#include <QStringEncoder>
#include <dlfcn.h>
#include <sqlite3.h>

namespace tollgate {

namespace {

// Whether the library that implements Qt's SQLite driver resolves SQLite's API to the same
// library this code calls. The driver object's vtable lies in the driver plugin; dlsym on
// that plugin's handle searches it and the libraries it depends on, so it finds this
// process's libsqlite3 only when the plugin links it. A plugin with SQLite compiled in hides
// those symbols, and gives another address or none.
bool driverUsesThisSqlite(const QSqlDriver *driver)
{
    Dl_info info {};
    const void *vtable = *reinterpret_cast<void *const *>(driver);
    if (!vtable || dladdr(vtable, &info) == 0 || !info.dli_fname)
        return false;
    void *plugin = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!plugin)
        return false;
    void *theirs = dlsym(plugin, "sqlite3_prepare_v2");
    dlclose(plugin);
    return theirs == reinterpret_cast<void *>(&sqlite3_prepare_v2);
}

} // namespace

std::unique_ptr<SqliteRowWriter> SqliteRowWriter::attach(const QSqlDatabase &db, const QString &sql,
                                                         QString *why)
{
    const QSqlDriver *driver = db.driver();
    const QVariant handle = driver ? driver->handle() : QVariant();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0) {
        *why = QStringLiteral("not a SQLite connection");
        return nullptr;
    }
    if (!driverUsesThisSqlite(driver)) {
        *why = QStringLiteral("Qt's SQLite driver has a SQLite library of its own");
        return nullptr;
    }
    sqlite3 *connection = *static_cast<sqlite3 *const *>(handle.constData());
    if (!connection) {
        *why = QStringLiteral("the connection is closed");
        return nullptr;
    }
    const QByteArray text = sql.toUtf8();
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v3(connection, text.constData(), int(text.size()),
                           SQLITE_PREPARE_PERSISTENT, &statement, nullptr)
        != SQLITE_OK) {
        *why = QString::fromUtf8(sqlite3_errmsg(connection));
        sqlite3_finalize(statement);
        return nullptr;
    }
    return std::unique_ptr<SqliteRowWriter>(new SqliteRowWriter(connection, statement));
}

SqliteRowWriter::SqliteRowWriter(sqlite3 *db, sqlite3_stmt *statement)
    : m_db(db)
    , m_statement(statement)
{
}

SqliteRowWriter::~SqliteRowWriter()
{
    sqlite3_finalize(m_statement);
}

void SqliteRowWriter::check(int result)
{
    if (m_result == SQLITE_OK)
        m_result = result;
}

void SqliteRowWriter::bindNull()
{
    check(sqlite3_bind_null(m_statement, nextColumn()));
}

void SqliteRowWriter::bindInteger(qint64 value)
{
    check(sqlite3_bind_int64(m_statement, nextColumn(), value));
}

// In place (SQLITE_STATIC): request and response headers are kilobytes a row, and SQLite
// would copy every one of them otherwise.
void SqliteRowWriter::bindUtf8(QByteArrayView utf8)
{
    // A null view would bind NULL: the columns these go to are NOT NULL.
    check(sqlite3_bind_text64(m_statement, nextColumn(), utf8.isNull() ? "" : utf8.data(),
                              sqlite3_uint64(utf8.size()), SQLITE_STATIC, SQLITE_UTF8));
}

void SqliteRowWriter::bindText(QStringView text)
{
    if (m_textsUsed == m_texts.size())
        m_texts.emplace_back();
    QByteArray &utf8 = m_texts[m_textsUsed++];
    // Within the capacity an earlier row left, with no allocation.
    const qsizetype most = text.size() * 3;
    if (utf8.capacity() < most)
        utf8.reserve(most);
    utf8.resize(most);
    QStringEncoder encoder(QStringEncoder::Utf8, QStringConverter::Flag::Stateless);
    char *end = encoder.appendToBuffer(utf8.data(), text);
    utf8.resize(end - utf8.constData());
    bindUtf8(utf8);
}

void SqliteRowWriter::bindBlob(QByteArrayView bytes)
{
    check(sqlite3_bind_blob64(m_statement, nextColumn(), bytes.data(), sqlite3_uint64(bytes.size()),
                              SQLITE_STATIC));
}

// The statement is reset after every run, so each run starts from a fresh one; every value
// is bound again, so no earlier binding is left over.
bool SqliteRowWriter::run(QString *error)
{
    int result = m_result;
    if (result == SQLITE_OK) {
        result = sqlite3_step(m_statement);
        if (result == SQLITE_DONE)
            result = SQLITE_OK;
    }
    if (result != SQLITE_OK)
        *error = QString::fromUtf8(sqlite3_errmsg(m_db));
    // Before the texts are reused: a reset statement no longer reads its bindings.
    sqlite3_reset(m_statement);
    m_column = 0;
    m_result = SQLITE_OK;
    m_textsUsed = 0;
    return result == SQLITE_OK;
}

} // namespace tollgate
