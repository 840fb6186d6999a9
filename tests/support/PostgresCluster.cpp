#include "PostgresCluster.h"

#include <QCollator>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <algorithm>
#include <cerrno>
#include <cstring>
#if __has_include(<unistd.h>)
#include <pwd.h>
#include <unistd.h>
#define TOLLGATE_HAVE_POSIX_USERS
#endif

namespace tollgate::test {

namespace {
const QString kServerUser = QStringLiteral("postgres");

// A port nothing listens on right now. Another process could take it before the server
// binds it; start() then fails with pg_ctl's message.
quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

bool isExecutable(const QString &path)
{
    const QFileInfo info(path);
    return info.isFile() && info.isExecutable();
}
} // namespace

PostgresCluster::PostgresCluster()
    : m_bin(binDirectory())
{
}

PostgresCluster::~PostgresCluster()
{
    if (m_isRunning)
        stop();
}

QString PostgresCluster::binDirectory()
{
    QDir versions(QStringLiteral("/usr/lib/postgresql"));
    QStringList names = versions.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCollator numeric;
    numeric.setNumericMode(true);
    std::sort(names.begin(), names.end(),
              [&](const QString &a, const QString &b) { return numeric.compare(a, b) > 0; });
    for (const QString &version : std::as_const(names)) {
        const QString bin = versions.filePath(version + QStringLiteral("/bin"));
        if (isExecutable(bin + QStringLiteral("/initdb"))
            && isExecutable(bin + QStringLiteral("/pg_ctl")))
            return bin;
    }
    const QString initdb = QStandardPaths::findExecutable(QStringLiteral("initdb"));
    if (initdb.isEmpty())
        return {};
    // A symlink in PATH (/usr/local/bin/initdb -> .../bin/initdb): the real directory has
    // the server binaries next to it.
    const QString bin = QFileInfo(QFileInfo(initdb).canonicalFilePath()).absolutePath();
    return isExecutable(bin + QStringLiteral("/pg_ctl")) ? bin : QString();
}

QString PostgresCluster::dataDirectory() const
{
    return m_dir.filePath(QStringLiteral("data"));
}

bool PostgresCluster::initialise()
{
    if (m_bin.isEmpty()) {
        m_error = QStringLiteral("PostgreSQL is not installed (Debian: apt-get install "
                                 "postgresql, or scripts/install-deps.sh --test)");
        return false;
    }
    if (!m_dir.isValid()) {
        m_error =
            QStringLiteral("cannot create a temporary directory: %1").arg(m_dir.errorString());
        return false;
    }
#ifdef TOLLGATE_HAVE_POSIX_USERS
    m_asPostgresUser = geteuid() == 0;
    if (m_asPostgresUser) {
        const passwd *user = getpwnam(kServerUser.toLocal8Bit().constData());
        if (!user) {
            m_error = QStringLiteral("running as root, the server must run as user \"postgres\", "
                                     "which does not exist (it comes with Debian's postgresql "
                                     "package)");
            return false;
        }
        if (chown(QFile::encodeName(m_dir.path()).constData(), user->pw_uid, user->pw_gid) != 0) {
            m_error = QStringLiteral("cannot hand %1 to user postgres: %2")
                          .arg(m_dir.path(), QString::fromLocal8Bit(strerror(errno)));
            return false;
        }
    }
#endif
    // Test data only: no fsync at initdb, C locale so that text sorts the same everywhere.
    if (!run(m_bin + QStringLiteral("/initdb"),
             {QStringLiteral("--auth=trust"), QStringLiteral("--username=") + superUser(),
              QStringLiteral("--encoding=UTF8"), QStringLiteral("--locale=C"),
              QStringLiteral("--no-sync"), QStringLiteral("-D"), dataDirectory()},
             m_asPostgresUser))
        return false;
    m_port = freePort();
    if (m_port == 0) {
        m_error = QStringLiteral("no free port on 127.0.0.1");
        return false;
    }
    m_isInitialised = true;
    return true;
}

bool PostgresCluster::start()
{
    if (m_isRunning)
        return true;
    if (!m_isInitialised && !initialise())
        return false;
    const QString settings =
        QStringLiteral("-c listen_addresses=127.0.0.1 -c port=%1 -c unix_socket_directories='%2'")
            .arg(m_port)
            .arg(m_dir.path());
    if (!run(m_bin + QStringLiteral("/pg_ctl"),
             {QStringLiteral("start"), QStringLiteral("--wait"), QStringLiteral("--timeout=60"),
              QStringLiteral("-D"), dataDirectory(), QStringLiteral("-l"),
              m_dir.filePath(QStringLiteral("server.log")), QStringLiteral("-o"), settings},
             m_asPostgresUser)) {
        QFile log(m_dir.filePath(QStringLiteral("server.log")));
        if (log.open(QIODevice::ReadOnly))
            m_error += QStringLiteral("\nserver log:\n") + QString::fromLocal8Bit(log.readAll());
        return false;
    }
    m_isRunning = true;
    return true;
}

bool PostgresCluster::stop()
{
    if (!m_isRunning)
        return true;
    m_isRunning = !run(m_bin + QStringLiteral("/pg_ctl"),
                       {QStringLiteral("stop"), QStringLiteral("--wait"), QStringLiteral("-m"),
                        QStringLiteral("fast"), QStringLiteral("-D"), dataDirectory()},
                       m_asPostgresUser);
    return !m_isRunning;
}

bool PostgresCluster::createDatabase(const QString &name)
{
    const QString createdb = m_bin + QStringLiteral("/createdb");
    return run(isExecutable(createdb) ? createdb
                                      : QStandardPaths::findExecutable(QStringLiteral("createdb")),
               {QStringLiteral("--host=127.0.0.1"), QStringLiteral("--port=%1").arg(m_port),
                QStringLiteral("--username=") + superUser(), name},
               false);
}

QString PostgresCluster::connectionUrl(const QString &database) const
{
    return QStringLiteral("postgresql://%1@127.0.0.1:%2/%3?sslmode=disable")
        .arg(superUser())
        .arg(m_port)
        .arg(database);
}

QString PostgresCluster::keyValueConnectionString(const QString &database) const
{
    return QStringLiteral("host=127.0.0.1 port=%1 dbname=%2 user=%3 sslmode=disable")
        .arg(m_port)
        .arg(database, superUser());
}

bool PostgresCluster::run(const QString &program, const QStringList &arguments, bool asServerUser,
                          int timeoutMs)
{
    QProcess process;
    if (asServerUser) {
        process.setProgram(QStringLiteral("runuser"));
        process.setArguments(
            QStringList {QStringLiteral("-u"), kServerUser, QStringLiteral("--"), program}
            + arguments);
    } else {
        process.setProgram(program);
        process.setArguments(arguments);
    }
    // The server user may not enter the test's working directory; PostgreSQL's tools
    // refuse to start where they cannot.
    process.setWorkingDirectory(m_dir.path());
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start();
    if (!process.waitForFinished(timeoutMs) || process.exitStatus() != QProcess::NormalExit
        || process.exitCode() != 0) {
        const QString why = process.error() == QProcess::UnknownError
            ? QStringLiteral("exit code %1").arg(process.exitCode())
            : process.errorString();
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
        m_error = QStringLiteral("%1 %2 failed (%3): %4")
                      .arg(QFileInfo(program).fileName(), arguments.join(QLatin1Char(' ')), why,
                           QString::fromLocal8Bit(process.readAll()).trimmed());
        return false;
    }
    return true;
}

} // namespace tollgate::test
