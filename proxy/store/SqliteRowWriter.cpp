#include "SqliteRowWriter.h"

#include <QSqlDatabase>
#include <QSqlDriver>
#include <QVarLengthArray>
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

// NULL as Qt's SQL module decides it (QSqlResultPrivate::isVariantNull): no value, or a null
// string or byte array inside one.
bool isNullValue(const QVariant &value)
{
    if (value.isNull())
        return true;
    if (value.typeId() == QMetaType::QString)
        return static_cast<const QString *>(value.constData())->isNull();
    if (value.typeId() == QMetaType::QByteArray)
        return static_cast<const QByteArray *>(value.constData())->isNull();
    return false;
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

// The statement is reset after every run, so each write starts from a fresh one; every
// value is bound again, so no earlier binding is left over. Values are bound in place
// (SQLITE_STATIC): the list, and the UTF-8 of its strings kept here, outlive the step, which
// spares SQLite a copy of every text (request and response headers are kilobytes a row).
bool SqliteRowWriter::write(const QList<QVariant> &values, QString *error)
{
    QVarLengthArray<QByteArray, 64> texts;
    texts.reserve(values.size());
    int result = SQLITE_OK;
    for (int i = 0; i < values.size() && result == SQLITE_OK; ++i) {
        const QVariant &value = values.at(i);
        const int column = i + 1;
        if (isNullValue(value)) {
            result = sqlite3_bind_null(m_statement, column);
            continue;
        }
        switch (value.typeId()) {
        case QMetaType::Bool:
        case QMetaType::Int:
        case QMetaType::LongLong:
        case QMetaType::UInt:
        case QMetaType::ULongLong:
            result = sqlite3_bind_int64(m_statement, column, value.toLongLong());
            break;
        case QMetaType::Double:
            result = sqlite3_bind_double(m_statement, column, value.toDouble());
            break;
        case QMetaType::QByteArray: {
            // The variant's own bytes: toByteArray() shares them.
            const QByteArray &bytes = texts.emplace_back(value.toByteArray());
            result = sqlite3_bind_blob64(m_statement, column, bytes.constData(),
                                         sqlite3_uint64(bytes.size()), SQLITE_STATIC);
            break;
        }
        default: {
            const QByteArray &text = texts.emplace_back(value.toString().toUtf8());
            result = sqlite3_bind_text64(m_statement, column, text.constData(),
                                         sqlite3_uint64(text.size()), SQLITE_STATIC, SQLITE_UTF8);
            break;
        }
        }
    }
    if (result == SQLITE_OK) {
        result = sqlite3_step(m_statement);
        if (result == SQLITE_DONE)
            result = SQLITE_OK;
    }
    if (result != SQLITE_OK)
        *error = QString::fromUtf8(sqlite3_errmsg(m_db));
    // Before `texts` goes: a reset statement no longer reads its bindings, and the next
    // write binds every value again.
    sqlite3_reset(m_statement);
    return result == SQLITE_OK;
}

} // namespace tollgate
