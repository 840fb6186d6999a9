#pragma once

#include <QList>
#include <QString>
#include <optional>
#include <utility>

namespace tollgate {

// Where the request log lives: a SQLite file (the default) or a PostgreSQL database that
// several Tollgate instances share. Built from the one string a user writes in the
// settings: a file path, a `postgresql://` URL, or libpq's `key=value` form.
// The password only ever reaches the database driver: displayName() and every parse error
// leave it out, so neither can carry it into a log.
struct StoreConfig
{
    enum class Backend { Sqlite, Postgresql };

    Backend backend = Backend::Sqlite;

    // SQLite.
    QString sqlitePath; // the database file; open() creates its directory
    int sqliteBusyTimeoutMs = 5000; // how long a write waits while another process holds the lock

    // PostgreSQL: libpq's parameters. Empty (or port -1) means libpq's default.
    QString host; // host name, address, or the directory of a Unix socket
    int port = -1;
    QString databaseName;
    QString userName;
    QString password;
    // Further libpq parameters (sslmode, connect_timeout, ...), in the order given. Values
    // never contain ';' (Qt's driver treats it as a separator); the parsers refuse it.
    QList<std::pair<QString, QString>> options;

    // This machine's name in the `instance` column, so that the rows of several gateways
    // writing into one PostgreSQL database stay apart. Empty: the host name.
    QString instance;

    static StoreConfig sqlite(const QString &path);
    // `postgresql://user:password@host:port/dbname?sslmode=require` (also `postgres://`;
    // user, password, host and dbname percent-encoded) or `host=... port=... dbname=...
    // user=... password='...'` (values quoted with '...' and \-escapes, as libpq reads them).
    // nullopt and *error (without the password) when the string is not one of them.
    static std::optional<StoreConfig> postgresql(const QString &connection,
                                                 QString *error = nullptr);
    // What a user writes for the request log: a PostgreSQL connection string in either form
    // above, else the path of a SQLite file.
    static std::optional<StoreConfig> parse(const QString &text, QString *error = nullptr);
    static bool isPostgresqlString(const QString &text);

    // Checks a libpq parameter other than host, port, dbname, user and password: known to
    // libpq, and a value Qt's driver can pass on. *error never contains a secret value.
    static bool isValidOption(const QString &keyword, const QString &value,
                              QString *error = nullptr);

    QString option(const QString &keyword) const; // empty when not set
    void setOption(const QString &keyword, const QString &value);
    // The options in QSqlDatabase::setConnectOptions() form for QPSQL, with
    // application_name=tollgate unless the user named it otherwise.
    QString connectOptions() const;
    // For messages and logs: the file, or the database as a URL without the password.
    QString displayName() const;

    // Same database, opened the same way: every field equal.
    friend bool operator==(const StoreConfig &, const StoreConfig &) = default;
};

} // namespace tollgate
