// The request log on SQLite, the default backend, in a temporary directory; and the parsing
// of the connection strings that select PostgreSQL instead.
#include "LedgerStoreChecks.h"
#include "store/LedgerStore.h"
#include "store/StoreConfig.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <chrono>
#include <future>
#include <thread>

using namespace tollgate;
using namespace tollgate::test;

class tst_LedgerStore final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void createsSchemaOnceAndReopensWithoutMigrating();
    void refusesSchemaNewerThanItKnows();
    void migratesFromSchemaVersion1KeepingItsRows();
    void configuresWalAndBusyTimeout();
    void opensWhileAReaderHoldsTheFile();
    void opensANewFileTogetherWithAnotherConnection();
    void createsTheDatabaseDirectory();
    void reportsDirectoryThatCannotBeCreatedAndRecovers();
    void readsBackEveryField();
    void storesEmptyAndDefaultRecord();
    void keepsUnpricedCostNull();
    void insertsAllOrNothing();
    void insertFailsOnReadOnlyDatabaseAndRecovers();
    void insertFailsWhileAnotherConnectionHoldsTheLockAndRecovers();
    void countsTotalsWithinRange();
    void groupsDaysByLocalMidnight();
    void ordersGroupsByCost();
    void accumulatesSessionTimeline();
    void purgesOlderRows();
    void returnsPurgedSpaceToTheFileSystem();
    void storesHostileTextVerbatim();
    void streamsRowsInTimeOrderAndStops();
    void reportsInsertRate();

    void parsesPostgresqlStrings_data();
    void parsesPostgresqlStrings();
    void refusesBadPostgresqlStrings_data();
    void refusesBadPostgresqlStrings();
    void keepsPasswordOutOfMessages();
    void tellsSqlitePathFromPostgresqlString_data();
    void tellsSqlitePathFromPostgresqlString();
    void quotesConnectOptionsForTheDriver();

private:
    QString databasePath() const { return m_dir->filePath(QStringLiteral("ledger.db")); }
    StoreConfig config() const;
    std::unique_ptr<LedgerStore> makeStore() const;
    // A store open on a fresh database file; null (and the test failed) when it did not open.
    std::unique_ptr<LedgerStore> openStore() const;

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_LedgerStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_LedgerStore::cleanup()
{
    m_dir.reset();
}

StoreConfig tst_LedgerStore::config() const
{
    StoreConfig config = StoreConfig::sqlite(databasePath());
    config.instance = QStringLiteral("test-instance");
    return config;
}

std::unique_ptr<LedgerStore> tst_LedgerStore::makeStore() const
{
    return std::make_unique<LedgerStore>(config());
}

std::unique_ptr<LedgerStore> tst_LedgerStore::openStore() const
{
    auto store = makeStore();
    QString error;
    if (!store->open(&error)) {
        QTest::qFail(qPrintable(QStringLiteral("open failed: ") + error), __FILE__, __LINE__);
        return nullptr;
    }
    return store;
}

void tst_LedgerStore::createsSchemaOnceAndReopensWithoutMigrating()
{
    LedgerStoreChecks::createsSchemaOnce([this] { return makeStore(); });
    QCOMPARE(makeStore()->backendName(), QStringLiteral("sqlite"));
}

void tst_LedgerStore::refusesSchemaNewerThanItKnows()
{
    LedgerStoreChecks::refusesNewerSchema([this] { return makeStore(); });
}

void tst_LedgerStore::migratesFromSchemaVersion1KeepingItsRows()
{
    LedgerStoreChecks::migratesFromVersion1([this] { return makeStore(); });
}

void tst_LedgerStore::configuresWalAndBusyTimeout()
{
    StoreConfig settings = config();
    settings.sqliteBusyTimeoutMs = 1234;
    LedgerStore store(settings);
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    QVERIFY(query.exec(QStringLiteral("PRAGMA journal_mode")) && query.next());
    QCOMPARE(query.value(0).toString(), QStringLiteral("wal"));
    QVERIFY(query.exec(QStringLiteral("PRAGMA synchronous")) && query.next());
    QCOMPARE(query.value(0).toInt(), 1); // NORMAL
    QVERIFY(query.exec(QStringLiteral("PRAGMA busy_timeout")) && query.next());
    QCOMPARE(query.value(0).toInt(), 1234);
    query.finish();
    // A new file is private to the user: it says which projects they worked on.
    QCOMPARE(QFile::permissions(databasePath())
                 & (QFile::ReadGroup | QFile::WriteGroup | QFile::ReadOther | QFile::WriteOther),
             QFile::Permissions());
}

void tst_LedgerStore::opensWhileAReaderHoldsTheFile()
{
    // The usage window or an export may be reading an existing log (still in its old journal
    // mode) the moment the gateway opens it: the switch to WAL waits, it does not fail.
    {
        QSqlDatabase db =
            QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("seed"));
        db.setDatabaseName(databasePath());
        QVERIFY(db.open());
        QVERIFY(QSqlQuery(db).exec(QStringLiteral("CREATE TABLE other(a)")));
        QVERIFY(QSqlQuery(db).exec(QStringLiteral("INSERT INTO other VALUES (1)")));
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("seed"));

    std::promise<void> reading;
    std::future<void> holding = reading.get_future();
    std::thread reader([&] {
        {
            QSqlDatabase db =
                QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("reader"));
            db.setDatabaseName(databasePath());
            db.open();
            QSqlQuery query(db);
            query.exec(QStringLiteral("BEGIN"));
            query.exec(QStringLiteral("SELECT a FROM other"));
            query.next();
            reading.set_value();
            std::this_thread::sleep_for(std::chrono::milliseconds(400));
            query.finish();
            QSqlQuery(db).exec(QStringLiteral("COMMIT"));
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("reader"));
    });
    holding.wait();

    StoreConfig settings = config();
    settings.sqliteBusyTimeoutMs = 5000;
    LedgerStore store(settings);
    QString error;
    const bool opened = store.open(&error);
    reader.join();
    QVERIFY2(opened, qPrintable(error));
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    QVERIFY(query.exec(QStringLiteral("PRAGMA journal_mode")) && query.next());
    QCOMPARE(query.value(0).toString(), QStringLiteral("wal"));
}

void tst_LedgerStore::opensANewFileTogetherWithAnotherConnection()
{
    // The gateway's writer and the usage window open the same new file at start; both
    // switch it to WAL and create the schema. Neither may fail with "database is locked".
    for (int round = 0; round < 100; ++round) {
        StoreConfig settings =
            StoreConfig::sqlite(m_dir->filePath(QStringLiteral("together-%1.db").arg(round)));
        std::promise<void> go;
        std::shared_future<void> started = go.get_future().share();
        QString errors[4];
        bool opened[4] = {false, false, false, false};
        std::thread openers[4];
        for (int i = 0; i < 4; ++i) {
            openers[i] = std::thread([&, i] {
                LedgerStore store(settings);
                started.wait();
                opened[i] = store.open(&errors[i]);
            });
        }
        go.set_value();
        for (std::thread &opener : openers)
            opener.join();
        for (int i = 0; i < 4; ++i)
            QVERIFY2(opened[i], qPrintable(errors[i]));
    }
}

void tst_LedgerStore::createsTheDatabaseDirectory()
{
    const QString path = m_dir->filePath(QStringLiteral("a/b/c/ledger.db"));
    LedgerStore store(StoreConfig::sqlite(path));
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QVERIFY(QFile::exists(path));
    QVERIFY(store.insert({LedgerStoreChecks::fullRecord(1)}, &error));
    QCOMPARE(LedgerStoreChecks::rowCount(store), 1);
}

void tst_LedgerStore::reportsDirectoryThatCannotBeCreatedAndRecovers()
{
    // A regular file where the directory should be: mkdir fails for root too, unlike a
    // permission bit, which root ignores.
    const QString blocker = m_dir->filePath(QStringLiteral("data"));
    QFile file(blocker);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    LedgerStore store(StoreConfig::sqlite(blocker + QStringLiteral("/tollgate/ledger.db")));
    QString error;
    QVERIFY(!store.open(&error));
    QVERIFY(!store.isOpen());
    QVERIFY2(error.contains(QLatin1String("cannot create the directory"))
                 && error.contains(QDir::toNativeSeparators(blocker + QStringLiteral("/tollgate"))),
             qPrintable(error));
    QVERIFY(!store.insert({LedgerStoreChecks::fullRecord(1)}, &error));

    QVERIFY(QFile::remove(blocker));
    QVERIFY2(store.open(&error), qPrintable(error));
    QVERIFY2(store.insert({LedgerStoreChecks::fullRecord(1)}, &error), qPrintable(error));
    QCOMPARE(LedgerStoreChecks::rowCount(store), 1);
}

void tst_LedgerStore::readsBackEveryField()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::readsBackEveryField(*store);
}

void tst_LedgerStore::storesEmptyAndDefaultRecord()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::storesEmptyAndDefaultRecord(*store);
}

void tst_LedgerStore::keepsUnpricedCostNull()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::keepsUnpricedCostNull(*store);
}

void tst_LedgerStore::insertsAllOrNothing()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::insertsAllOrNothing(*store);
}

void tst_LedgerStore::insertFailsOnReadOnlyDatabaseAndRecovers()
{
    // The tests run as root, which ignores file modes, so a chmod'ed file would stay
    // writable. query_only makes SQLite itself refuse every write on this connection with
    // SQLITE_READONLY, the error a read-only file or directory gives, through the same
    // insert path; clearing it is "permissions restored".
    const auto store = openStore();
    QVERIFY(store);
    QString error;
    QVERIFY(store->insert({LedgerStoreChecks::fullRecord(1)}, &error));
    QSqlQuery pragma(LedgerStoreChecks::connectionOf(*store));
    QVERIFY(pragma.exec(QStringLiteral("PRAGMA query_only=ON")));

    const QList<RequestRecord> batch = {LedgerStoreChecks::fullRecord(2),
                                        LedgerStoreChecks::fullRecord(3)};
    QVERIFY(!store->insert(batch, &error));
    QVERIFY2(error.contains(QLatin1String("readonly"), Qt::CaseInsensitive), qPrintable(error));
    QVERIFY(store->isOpen());
    QCOMPARE(LedgerStoreChecks::rowCount(*store), 1);
    // Reading still works while writing does not.
    QCOMPARE(store->totals(0, LedgerStoreChecks::baseMs() + 10'000, LedgerStore::Grouping::None)
                 .constFirst()
                 .requests,
             1);

    QVERIFY(pragma.exec(QStringLiteral("PRAGMA query_only=OFF")));
    QVERIFY2(store->insert(batch, &error), qPrintable(error));
    QCOMPARE(LedgerStoreChecks::rowCount(*store), 3);
}

void tst_LedgerStore::insertFailsWhileAnotherConnectionHoldsTheLockAndRecovers()
{
    // Another process writing the same file (a second Tollgate, a database browser) holds
    // SQLite's write lock longer than the busy timeout.
    StoreConfig settings = config();
    settings.sqliteBusyTimeoutMs = 100;
    LedgerStore store(settings);
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    {
        const QString name = QStringLiteral("tst_LedgerStore-locker");
        {
            QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
            locker.setDatabaseName(databasePath());
            QVERIFY(locker.open());
            QSqlQuery lock(locker);
            QVERIFY(lock.exec(QStringLiteral("BEGIN IMMEDIATE")));

            QVERIFY(!store.insert({LedgerStoreChecks::fullRecord(1)}, &error));
            QVERIFY2(error.contains(QLatin1String("locked"), Qt::CaseInsensitive),
                     qPrintable(error));
            QVERIFY(store.isOpen());

            QVERIFY(lock.exec(QStringLiteral("ROLLBACK")));
        }
        QSqlDatabase::removeDatabase(name);
    }
    QVERIFY2(store.insert({LedgerStoreChecks::fullRecord(1)}, &error), qPrintable(error));
    QCOMPARE(LedgerStoreChecks::rowCount(store), 1);
}

void tst_LedgerStore::countsTotalsWithinRange()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::countsTotalsWithinRange(*store);
}

void tst_LedgerStore::groupsDaysByLocalMidnight()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::groupsDaysByLocalMidnight(*store);
}

void tst_LedgerStore::ordersGroupsByCost()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::ordersGroupsByCost(*store);
}

void tst_LedgerStore::accumulatesSessionTimeline()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::accumulatesSessionTimeline(*store);
}

void tst_LedgerStore::purgesOlderRows()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::purgesOlderRows(*store);
}

void tst_LedgerStore::storesHostileTextVerbatim()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::storesHostileTextVerbatim(*store);
    // The table the hostile session id tried to drop is still there and complete.
    QSqlQuery query(LedgerStoreChecks::connectionOf(*store));
    QVERIFY(query.exec(QStringLiteral(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'requests'")));
    QVERIFY(query.next());
    QCOMPARE(query.value(0).toInt(), 1);
}

void tst_LedgerStore::streamsRowsInTimeOrderAndStops()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::streamsRowsInTimeOrderAndStops(*store);
}

void tst_LedgerStore::reportsInsertRate()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::measuresInsertRate(*store, 100, 500);
}

void tst_LedgerStore::parsesPostgresqlStrings_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("database");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("sslmode");

    QTest::newRow("url") << "postgresql://alice:s3cr%40t@db.example.com:6543/ledger?sslmode=require"
                         << "db.example.com" << 6543 << "ledger"
                         << "alice"
                         << "s3cr@t"
                         << "require";
    QTest::newRow("short scheme, defaults") << "postgres://bob@localhost/ledger"
                                            << "localhost" << -1 << "ledger"
                                            << "bob" << QString() << QString();
    QTest::newRow("ipv6") << "postgresql://[::1]:5433/tollgate"
                          << "::1" << 5433 << "tollgate" << QString() << QString() << QString();
    QTest::newRow("socket in query")
        << "postgresql:///ledger?host=/var/run/postgresql&port=5434"
        << "/var/run/postgresql" << 5434 << "ledger" << QString() << QString() << QString();
    QTest::newRow("encoded socket host")
        << "postgresql://%2Ftmp%2Fpg/ledger"
        << "/tmp/pg" << -1 << "ledger" << QString() << QString() << QString();
    QTest::newRow("password with colon") << "postgresql://carol:a:b%3Ac@h/d"
                                         << "h" << -1 << "d"
                                         << "carol"
                                         << "a:b:c" << QString();
    QTest::newRow("jdbc ssl") << "postgresql://h/d?ssl=true"
                              << "h" << -1 << "d" << QString() << QString() << "require";
    QTest::newRow("key=value") << "host=db port=5433 dbname=ledger user=carol "
                                  "password='pa ss\\'word' sslmode=verify-full"
                               << "db" << 5433 << "ledger"
                               << "carol"
                               << "pa ss'word"
                               << "verify-full";
    QTest::newRow("key = value, escapes") << "  host = db.internal   dbname=x\\ y user=u\\\\v  "
                                          << "db.internal" << -1 << "x y"
                                          << "u\\v" << QString() << QString();
    QTest::newRow("empty quoted password")
        << "host=h password='' dbname=d"
        << "h" << -1 << "d" << QString() << QString() << QString();
}

void tst_LedgerStore::parsesPostgresqlStrings()
{
    QFETCH(QString, text);
    QString error;
    const std::optional<StoreConfig> parsed = StoreConfig::postgresql(text, &error);
    QVERIFY2(parsed, qPrintable(error));
    QCOMPARE(parsed->backend, StoreConfig::Backend::Postgresql);
    QTEST(parsed->host, "host");
    QTEST(parsed->port, "port");
    QTEST(parsed->databaseName, "database");
    QTEST(parsed->userName, "user");
    QTEST(parsed->password, "password");
    QTEST(parsed->option(QStringLiteral("sslmode")), "sslmode");
    // parse() tells it from a SQLite path the same way.
    const std::optional<StoreConfig> viaParse = StoreConfig::parse(text, &error);
    QVERIFY(viaParse);
    QCOMPARE(viaParse->backend, StoreConfig::Backend::Postgresql);
    QCOMPARE(viaParse->password, parsed->password);
}

void tst_LedgerStore::refusesBadPostgresqlStrings_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << "   "
                           << "it is empty";
    QTest::newRow("port too big") << "postgresql://h:99999/d"
                                  << "port \"99999\" is not a number between 1 and 65535";
    QTest::newRow("port not a number") << "postgresql://h:abc/d"
                                       << "port \"abc\" is not a number between 1 and 65535";
    QTest::newRow("port zero") << "host=h port=0"
                               << "port \"0\" is not a number";
    QTest::newRow("empty port") << "postgresql://h:/d"
                                << "port \"\" is not a number";
    QTest::newRow("several hosts") << "postgresql://h1,h2/d"
                                   << "several hosts are not supported";
    QTest::newRow("several hosts, key=value") << "host=h1,h2"
                                              << "several hosts";
    QTest::newRow("unclosed ipv6") << "postgresql://[::1/d"
                                   << "closing ']'";
    QTest::newRow("bad escape") << "postgresql://u:%zz@h/d"
                                << "password has an invalid %-escape";
    QTest::newRow("unknown url parameter") << "postgresql://h/d?sslmod=require"
                                           << "unknown parameter \"sslmod\"";
    QTest::newRow("url parameter without value") << "postgresql://h/d?sslmode"
                                                 << "query parameter \"sslmode\" has no value";
    QTest::newRow("bad sslmode") << "host=h sslmode=sometimes"
                                 << "sslmode \"sometimes\" is not one of";
    QTest::newRow("unknown keyword") << "host=h dbnmae=x"
                                     << "unknown parameter \"dbnmae\"";
    QTest::newRow("replication refused") << "host=h replication=database"
                                         << "unknown parameter \"replication\"";
    QTest::newRow("missing =") << "host=h dbname"
                               << "expected keyword=value, found \"dbname\"";
    QTest::newRow("value starts with =") << "=x"
                                         << "expected keyword=value";
    QTest::newRow("unterminated quote") << "host=h password='abc"
                                        << "the value of \"password\" misses its closing quote";
    QTest::newRow("semicolon in option") << "host=h application_name=a;b"
                                         << "must not contain ';'";
    QTest::newRow("timeout not a number") << "host=h connect_timeout=soon"
                                          << "connect_timeout \"soon\" is not a number";
    QTest::newRow("other scheme") << "mysql://h/d"
                                  << "must start with postgresql://";
}

void tst_LedgerStore::refusesBadPostgresqlStrings()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    QString error;
    QVERIFY(!StoreConfig::postgresql(text, &error));
    QVERIFY2(error.startsWith(QLatin1String("PostgreSQL connection string: ")), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
}

void tst_LedgerStore::keepsPasswordOutOfMessages()
{
    const QString secret = QStringLiteral("Hunter2-S3cret");
    QString error;
    // Errors about other parts of the string never echo it.
    for (const QString &text : {QStringLiteral("postgresql://alice:Hunter2-S3cret@h:99999/d"),
                                QStringLiteral("postgresql://alice:Hunter2-S3cret@h/d?bogus=1"),
                                QStringLiteral("host=h password=Hunter2-S3cret port=x"),
                                QStringLiteral("host=h password='Hunter2-S3cret"),
                                QStringLiteral("host=h sslpassword=Hunter2-S3cret;x")}) {
        QVERIFY(!StoreConfig::postgresql(text, &error));
        QVERIFY2(!error.isEmpty() && !error.contains(secret), qPrintable(error));
    }
    const std::optional<StoreConfig> parsed =
        StoreConfig::postgresql(QStringLiteral("postgresql://alice:Hunter2-S3cret@db:5433/ledger"));
    QVERIFY(parsed);
    QCOMPARE(parsed->password, secret);
    QCOMPARE(parsed->displayName(), QStringLiteral("postgresql://alice@db:5433/ledger"));
    QVERIFY(!parsed->connectOptions().contains(secret));

    // A connection that fails names the database, never the password.
    StoreConfig unreachable = *parsed;
    unreachable.host = QStringLiteral("127.0.0.1");
    unreachable.port = 1;
    unreachable.setOption(QStringLiteral("connect_timeout"), QStringLiteral("2"));
    LedgerStore store(unreachable);
    QVERIFY(!store.open(&error));
    QVERIFY2(error.contains(QLatin1String("postgresql://alice@127.0.0.1:1/ledger")),
             qPrintable(error));
    QVERIFY2(!error.contains(secret), qPrintable(error));
}

void tst_LedgerStore::tellsSqlitePathFromPostgresqlString_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("isPostgresql");
    QTest::addColumn<QString>("sqlitePath");
    QTest::newRow("absolute path")
        << "/var/lib/tollgate/ledger.db" << false << "/var/lib/tollgate/ledger.db";
    QTest::newRow("windows path") << "C:\\Users\\ann\\AppData\\ledger.db" << false
                                  << "C:\\Users\\ann\\AppData\\ledger.db";
    QTest::newRow("path with =") << "/data/run=3/ledger.db" << false << "/data/run=3/ledger.db";
    QTest::newRow("file named like a word") << "nothost=x.db" << false << "nothost=x.db";
    QTest::newRow("url") << "postgresql://h/d" << true << QString();
    QTest::newRow("upper-case scheme") << "POSTGRES://h/d" << true << QString();
    QTest::newRow("key=value") << "dbname=ledger host=h" << true << QString();
    QTest::newRow("sslmode first") << "sslmode=require host=h" << true << QString();
}

void tst_LedgerStore::tellsSqlitePathFromPostgresqlString()
{
    QFETCH(QString, text);
    QFETCH(bool, isPostgresql);
    QFETCH(QString, sqlitePath);
    QCOMPARE(StoreConfig::isPostgresqlString(text), isPostgresql);
    QString error;
    const std::optional<StoreConfig> parsed = StoreConfig::parse(text, &error);
    QVERIFY2(parsed, qPrintable(error));
    QCOMPARE(parsed->backend,
             isPostgresql ? StoreConfig::Backend::Postgresql : StoreConfig::Backend::Sqlite);
    QCOMPARE(parsed->sqlitePath, sqlitePath);

    QVERIFY(!StoreConfig::parse(QStringLiteral("  "), &error));
    QCOMPARE(error, QStringLiteral("no request log database is given"));
    QVERIFY(!StoreConfig::parse(QStringLiteral("mysql://h/d"), &error));
    QVERIFY2(error.contains(QLatin1String("unsupported database URL")), qPrintable(error));
}

void tst_LedgerStore::quotesConnectOptionsForTheDriver()
{
    const std::optional<StoreConfig> parsed = StoreConfig::postgresql(
        QStringLiteral("host=h sslmode=verify-full sslrootcert='/etc/my ca\\'s.pem' "
                       "options='-c statement_timeout=5000'"));
    QVERIFY(parsed);
    QCOMPARE(parsed->connectOptions(),
             QStringLiteral("sslmode='verify-full';sslrootcert='/etc/my ca\\'s.pem';"
                            "options='-c statement_timeout=5000';application_name='tollgate'"));
    const std::optional<StoreConfig> named =
        StoreConfig::postgresql(QStringLiteral("postgresql://h/d?application_name=ci%20box"));
    QVERIFY(named);
    QCOMPARE(named->connectOptions(), QStringLiteral("application_name='ci box'"));
}

void tst_LedgerStore::returnsPurgedSpaceToTheFileSystem()
{
    auto store = openStore();
    QVERIFY(store);
    QList<RequestRecord> rows;
    for (int i = 0; i < 2000; ++i) {
        RequestRecord record = LedgerStoreChecks::row(LedgerStoreChecks::baseMs(),
                                                      QStringLiteral("claude-opus-4-8"), 1);
        record.storedRequestBody = QByteArray(4096, 'x'); // the opt-in body log
        rows.append(record);
    }
    QVERIFY(store->insert(rows));
    QSqlQuery checkpoint(LedgerStoreChecks::connectionOf(*store));
    QVERIFY(checkpoint.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)")));
    checkpoint.finish();
    const qint64 full = QFileInfo(databasePath()).size();
    QVERIFY2(full > 8 * 1024 * 1024, qPrintable(QString::number(full)));

    QCOMPARE(store->purgeOlderThan(LedgerStoreChecks::baseMs() + 1), 2000);
    QVERIFY(store->reclaimSpace());
    QVERIFY(checkpoint.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)")));
    checkpoint.finish();
    const qint64 after = QFileInfo(databasePath()).size();
    QVERIFY2(after < full / 4, qPrintable(QStringLiteral("%1 -> %2").arg(full).arg(after)));
}

QTEST_GUILESS_MAIN(tst_LedgerStore)
#include "tst_LedgerStore.moc"
