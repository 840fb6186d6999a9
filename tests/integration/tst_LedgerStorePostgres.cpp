// The request log on a real PostgreSQL server started for this test: the same behaviours as
// on SQLite, and what only a shared server brings (several instances, a server restart).
#include "LedgerStoreChecks.h"
#include "PostgresCluster.h"
#include "store/LedgerSchema.h"
#include "store/LedgerStore.h"
#include "store/StoreConfig.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QTest>
#include <QThread>
#include <algorithm>
#include <vector>

using namespace tollgate;
using namespace tollgate::test;

class tst_LedgerStorePostgres final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();

    void createsSchemaOnceAndReopensWithoutMigrating();
    void refusesSchemaNewerThanItKnows();
    void migratesFromSchemaVersion1KeepingItsRows();
    void opensWithKeyValueConnectionString();
    void reportsMissingDatabase();
    void readsBackEveryField();
    void storesEmptyAndDefaultRecord();
    void keepsUnpricedCostNull();
    void insertsAllOrNothing();
    void countsTotalsWithinRange();
    void groupsDaysByLocalMidnight();
    void ordersGroupsByCost();
    void accumulatesSessionTimeline();
    void purgesOlderRows();
    void storesHostileTextVerbatim();
    void streamsRowsInTimeOrderAndStops();
    void twoInstancesShareOneDatabase();
    void instancesOpeningAtOnceMigrateOnce();
    void reconnectsAfterServerRestart();
    void reportsInsertRate();

private:
    StoreConfig config(const QString &instance = QStringLiteral("pg-test")) const;
    std::unique_ptr<LedgerStore> makeStore() const
    {
        return std::make_unique<LedgerStore>(config());
    }
    // A store open on this test's database; null (and the test failed) when it did not open.
    std::unique_ptr<LedgerStore> openStore() const;

    PostgresCluster m_cluster;
    QString m_database; // a fresh database for each test function
    int m_databaseCount = 0;
};

void tst_LedgerStorePostgres::initTestCase()
{
    if (PostgresCluster::binDirectory().isEmpty())
        QSKIP("PostgreSQL is not installed (Debian: apt-get install postgresql, or "
              "scripts/install-deps.sh --test)");
    QVERIFY2(m_cluster.start(), qPrintable(m_cluster.errorString()));
}

void tst_LedgerStorePostgres::init()
{
    m_database = QStringLiteral("ledger_%1").arg(++m_databaseCount);
    QVERIFY2(m_cluster.createDatabase(m_database), qPrintable(m_cluster.errorString()));
}

StoreConfig tst_LedgerStorePostgres::config(const QString &instance) const
{
    QString error;
    std::optional<StoreConfig> config =
        StoreConfig::parse(m_cluster.connectionUrl(m_database), &error);
    if (!config)
        qFatal("the cluster's own URL does not parse: %s", qPrintable(error));
    config->instance = instance;
    return *config;
}

std::unique_ptr<LedgerStore> tst_LedgerStorePostgres::openStore() const
{
    auto store = makeStore();
    QString error;
    if (!store->open(&error)) {
        QTest::qFail(qPrintable(QStringLiteral("open failed: ") + error), __FILE__, __LINE__);
        return nullptr;
    }
    return store;
}

void tst_LedgerStorePostgres::createsSchemaOnceAndReopensWithoutMigrating()
{
    LedgerStoreChecks::createsSchemaOnce([this] { return makeStore(); });
    QCOMPARE(makeStore()->backendName(), QStringLiteral("postgresql"));
}

void tst_LedgerStorePostgres::refusesSchemaNewerThanItKnows()
{
    LedgerStoreChecks::refusesNewerSchema([this] { return makeStore(); });
}

void tst_LedgerStorePostgres::migratesFromSchemaVersion1KeepingItsRows()
{
    LedgerStoreChecks::migratesFromVersion1([this] { return makeStore(); });
}

void tst_LedgerStorePostgres::opensWithKeyValueConnectionString()
{
    QString error;
    const std::optional<StoreConfig> config =
        StoreConfig::parse(m_cluster.keyValueConnectionString(m_database), &error);
    QVERIFY2(config, qPrintable(error));
    QCOMPARE(config->backend, StoreConfig::Backend::Postgresql);
    QCOMPARE(config->port, int(m_cluster.port()));
    LedgerStore store(*config);
    QVERIFY2(store.open(&error), qPrintable(error));
    QVERIFY2(store.insert({LedgerStoreChecks::fullRecord(1)}, &error), qPrintable(error));
    QCOMPARE(LedgerStoreChecks::rowCount(store), 1);
    // The connection carries its name for the server's activity view.
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    QVERIFY(query.exec(QStringLiteral("SHOW application_name")) && query.next());
    QCOMPARE(query.value(0).toString(), QStringLiteral("tollgate"));
}

void tst_LedgerStorePostgres::reportsMissingDatabase()
{
    StoreConfig missing = config();
    missing.databaseName = QStringLiteral("no_such_ledger");
    missing.password = QStringLiteral("Hunter2-S3cret");
    LedgerStore store(missing);
    QString error;
    QVERIFY(!store.open(&error));
    QVERIFY(!store.isOpen());
    QVERIFY2(error.contains(QLatin1String("no_such_ledger")), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1String("Hunter2-S3cret")), qPrintable(error));
}

void tst_LedgerStorePostgres::readsBackEveryField()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::readsBackEveryField(*store);
}

void tst_LedgerStorePostgres::storesEmptyAndDefaultRecord()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::storesEmptyAndDefaultRecord(*store);
}

void tst_LedgerStorePostgres::keepsUnpricedCostNull()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::keepsUnpricedCostNull(*store);
}

void tst_LedgerStorePostgres::insertsAllOrNothing()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::insertsAllOrNothing(*store);
}

void tst_LedgerStorePostgres::countsTotalsWithinRange()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::countsTotalsWithinRange(*store);
}

void tst_LedgerStorePostgres::groupsDaysByLocalMidnight()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::groupsDaysByLocalMidnight(*store);
}

void tst_LedgerStorePostgres::ordersGroupsByCost()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::ordersGroupsByCost(*store);
}

void tst_LedgerStorePostgres::accumulatesSessionTimeline()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::accumulatesSessionTimeline(*store);
}

void tst_LedgerStorePostgres::purgesOlderRows()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::purgesOlderRows(*store);
}

void tst_LedgerStorePostgres::storesHostileTextVerbatim()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::storesHostileTextVerbatim(*store);
    QSqlQuery query(LedgerStoreChecks::connectionOf(*store));
    QVERIFY(query.exec(QStringLiteral("SELECT to_regclass('requests') IS NOT NULL")));
    QVERIFY(query.next());
    QCOMPARE(query.value(0).toBool(), true);
}

void tst_LedgerStorePostgres::streamsRowsInTimeOrderAndStops()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::streamsRowsInTimeOrderAndStops(*store);
}

void tst_LedgerStorePostgres::twoInstancesShareOneDatabase()
{
    LedgerStore first(config(QStringLiteral("laptop-ann")));
    LedgerStore second(config(QStringLiteral("build-server")));
    QString error;
    QVERIFY2(first.open(&error), qPrintable(error));
    QVERIFY2(second.open(&error), qPrintable(error));
    QCOMPARE(first.migrationsApplied(), LedgerSchema::latestVersion());
    QCOMPARE(second.migrationsApplied(), 0);
    QCOMPARE(second.schemaVersion(), LedgerSchema::latestVersion());

    const qint64 t = LedgerStoreChecks::baseMs();
    for (int i = 0; i < 5; ++i) {
        QVERIFY2(
            first.insert({LedgerStoreChecks::row(t + 2 * i, QStringLiteral("opus"), 100)}, &error),
            qPrintable(error));
        QVERIFY2(second.insert({LedgerStoreChecks::row(t + 2 * i + 1, QStringLiteral("haiku"), 10),
                                LedgerStoreChecks::row(t + 2 * i + 1, QStringLiteral("haiku"), 10)},
                               &error),
                 qPrintable(error));
    }
    // Either instance reads everyone's rows.
    const QList<LedgerStore::Totals> instances =
        first.totals(t, t + 100, LedgerStore::Grouping::Instance, 0, -1, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(instances.size(), 2);
    QCOMPARE(instances[0].key, QStringLiteral("laptop-ann"));
    QCOMPARE(instances[0].requests, 5);
    QCOMPARE(instances[0].costPicoUsd, 500);
    QCOMPARE(instances[1].key, QStringLiteral("build-server"));
    QCOMPARE(instances[1].requests, 10);
    QCOMPARE(instances[1].costPicoUsd, 100);
    const QList<RequestRecord> rows = LedgerStoreChecks::readAll(second);
    QCOMPARE(rows.size(), 15);
    QCOMPARE(rows[0].model, QStringLiteral("opus"));
    QCOMPARE(rows[1].model, QStringLiteral("haiku"));
    QCOMPARE(rows[14].model, QStringLiteral("haiku"));
    for (int i = 1; i < rows.size(); ++i)
        QVERIFY(rows[i].startedAt >= rows[i - 1].startedAt);
}

void tst_LedgerStorePostgres::instancesOpeningAtOnceMigrateOnce()
{
    // Gateways started together on an empty database: one creates the schema, the others
    // wait for it and find it done. Each store lives on its own thread, as LedgerWriter's does.
    constexpr int kInstances = 4;
    std::vector<QString> errors(kInstances);
    std::vector<int> applied(kInstances, -1);
    std::vector<std::unique_ptr<QThread>> threads;
    for (int i = 0; i < kInstances; ++i) {
        const StoreConfig settings = config(QStringLiteral("instance-%1").arg(i));
        threads.emplace_back(QThread::create([&, i, settings] {
            LedgerStore store(settings);
            QString error;
            if (!store.open(&error)
                || !store.insert({LedgerStoreChecks::row(LedgerStoreChecks::baseMs() + i,
                                                         QStringLiteral("m"), 1)},
                                 &error)) {
                errors[i] = error.isEmpty() ? QStringLiteral("failed") : error;
                return;
            }
            applied[i] = store.migrationsApplied();
        }));
    }
    for (const auto &thread : threads)
        thread->start();
    for (const auto &thread : threads)
        QVERIFY(thread->wait(60'000));
    for (const QString &error : std::as_const(errors))
        QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(std::count(applied.cbegin(), applied.cend(), LedgerSchema::latestVersion()), 1);
    QCOMPARE(std::count(applied.cbegin(), applied.cend(), 0), kInstances - 1);

    const auto store = openStore();
    QVERIFY(store);
    QCOMPARE(LedgerStoreChecks::rowCount(*store), kInstances);
    QSqlQuery query(LedgerStoreChecks::connectionOf(*store));
    QVERIFY(query.exec(QStringLiteral("SELECT COUNT(*) FROM schema_migrations")) && query.next());
    QCOMPARE(query.value(0).toInt(), LedgerSchema::latestVersion());
}

void tst_LedgerStorePostgres::reconnectsAfterServerRestart()
{
    const auto store = openStore();
    QVERIFY(store);
    QString error;
    QVERIFY2(store->insert({LedgerStoreChecks::fullRecord(1)}, &error), qPrintable(error));

    QVERIFY2(m_cluster.stop(), qPrintable(m_cluster.errorString()));
    const QList<RequestRecord> batch = {LedgerStoreChecks::fullRecord(2),
                                        LedgerStoreChecks::fullRecord(3)};
    QVERIFY(!store->insert(batch, &error));
    QVERIFY(!error.isEmpty());
    // The store noticed the connection is gone, so the writer's next attempt reconnects.
    QVERIFY(!store->isOpen());
    QVERIFY(!store->open(&error));

    QVERIFY2(m_cluster.start(), qPrintable(m_cluster.errorString()));
    QVERIFY2(store->open(&error), qPrintable(error));
    QCOMPARE(store->migrationsApplied(), 0);
    QVERIFY2(store->insert(batch, &error), qPrintable(error));
    QCOMPARE(LedgerStoreChecks::rowCount(*store), 3);
}

void tst_LedgerStorePostgres::reportsInsertRate()
{
    const auto store = openStore();
    QVERIFY(store);
    LedgerStoreChecks::measuresInsertRate(*store, 40, 500);
}

QTEST_GUILESS_MAIN(tst_LedgerStorePostgres)
#include "tst_LedgerStorePostgres.moc"
