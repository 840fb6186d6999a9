#pragma once

#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace tollgate::test {

// A throwaway PostgreSQL server for one test: initdb into a temporary directory, a server on
// a free port of 127.0.0.1 (its Unix socket inside that directory, trust authentication),
// stopped and deleted with this object. PostgreSQL refuses to run as root, so as root the
// directory goes to the `postgres` user and the server runs as that user (runuser).
// Check start()'s result and errorString() before using the rest.
class PostgresCluster
{
public:
    PostgresCluster();
    ~PostgresCluster();
    PostgresCluster(const PostgresCluster &) = delete;
    PostgresCluster &operator=(const PostgresCluster &) = delete;

    // The directory with initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin
    // (Debian), else where PATH has them. Empty when PostgreSQL is not installed.
    static QString binDirectory();

    // Creates the cluster on first call; after stop(), starts the same cluster on the same
    // port again (for tests of a server that restarts).
    bool start();
    bool stop(); // pg_ctl stop -m fast
    bool isRunning() const { return m_isRunning; }
    QString errorString() const { return m_error; }

    quint16 port() const { return m_port; }
    QString superUser() const { return QStringLiteral("tollgate"); }
    bool createDatabase(const QString &name);
    // postgresql://tollgate@127.0.0.1:<port>/<database>?sslmode=disable
    QString connectionUrl(const QString &database) const;
    // host=127.0.0.1 port=<port> dbname=<database> user=tollgate sslmode=disable
    QString keyValueConnectionString(const QString &database) const;

private:
    bool initialise();
    bool run(const QString &program, const QStringList &arguments, bool asServerUser,
             int timeoutMs = 60'000);
    QString dataDirectory() const;

    QTemporaryDir m_dir;
    QString m_bin;
    QString m_error;
    quint16 m_port = 0;
    bool m_isInitialised = false;
    bool m_isRunning = false;
    bool m_asPostgresUser = false; // running as root: the server runs as `postgres`
};

} // namespace tollgate::test
