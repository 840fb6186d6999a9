// The window's filtered, paged reads of the request log on a real SQLite file, and the same
// checks on a throwaway PostgreSQL server when PostgreSQL is installed: every filter alone and
// combined, literal search text, hostile values kept as data, and pages that stay put while
// new requests are logged.
#include "PostgresCluster.h"
#include "store/LedgerStore.h"
#include "store/RequestQuery.h"
#include "store/StoreConfig.h"

#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <memory>

using namespace tollgate;
using tollgate::test::PostgresCluster;

namespace {

constexpr qint64 kStart = 1'750'000'000'000;
constexpr qint64 kMinute = 60'000;

RequestRecord row(qint64 minute, const QByteArray &session, const QString &model, int status,
                  const QString &tag = {})
{
    RequestRecord r;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(kStart + minute * kMinute, Qt::UTC);
    r.method = "POST";
    r.target = "/v1/messages";
    r.sessionId = session;
    r.model = model;
    r.status = status;
    r.billingTag = tag;
    r.requestId = "req_" + QByteArray::number(minute);
    r.project = QStringLiteral("/home/me/project");
    r.usage.inputTokens = 10 + minute;
    r.usage.outputTokens = 5;
    r.costPicoUsd = 1000 * (minute + 1);
    r.totalUs = 1000;
    r.ttfbUs = 500;
    r.requestHeaders = "content-type: application/json\r\nx-api-key: sk-ant-…abcd\r\n";
    r.responseHeaders = "request-id: req\r\n";
    if (status >= 400)
        r.errorBody = R"({"type":"error"})";
    return r;
}

QList<quint64> idsOf(const QList<RequestRecord> &rows)
{
    QList<quint64> ids;
    for (const RequestRecord &r : rows)
        ids.append(r.id);
    return ids;
}

} // namespace

class tst_RequestQuery final : public QObject
{
    Q_OBJECT

public:
    explicit tst_RequestQuery(StoreConfig::Backend backend)
        : m_backend(backend)
    {
    }

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void matchesEveryRowWithoutFilter();
    void filtersByTimeRange();
    void filtersBySessionModelAndTag();
    void filtersByStatusClassAndExactStatus_data();
    void filtersByStatusClassAndExactStatus();
    void errorsOnlyIncludesErrorEventsInSuccessfulStreams();
    void combinesFilters();
    void searchesEachTextColumnIgnoringCase_data();
    void searchesEachTextColumnIgnoringCase();
    void searchesPercentAndUnderscoreLiterally();
    void keepsInjectionAttemptAsData();
    void liveMatchAgreesWithTheDatabase();
    void pagesNewestFirstWithoutBodies();
    void ordersByStartTimeThenId();
    void keepsPagesStableWhileRowsArrive();
    void readsOneRowInFull();
    void findsTheLoggedRowOfALiveRequest();
    void visitsEveryMatchingRowInBatches();
    void listsDistinctValuesMostRecentFirst();
    void reportsAClosedStore();

private:
    void insert(const QList<RequestRecord> &rows);
    QList<RequestRecord> all(const RequestQuery::Filter &filter);

    StoreConfig::Backend m_backend;
    std::unique_ptr<PostgresCluster> m_cluster;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<LedgerStore> m_store;
};

void tst_RequestQuery::initTestCase()
{
    if (m_backend == StoreConfig::Backend::Sqlite) {
        qInfo("backend: SQLite");
        return;
    }
    if (PostgresCluster::binDirectory().isEmpty())
        QSKIP("PostgreSQL is not installed: the queries were checked on SQLite only");
    qInfo("backend: PostgreSQL");
    m_cluster = std::make_unique<PostgresCluster>();
    QVERIFY2(m_cluster->start(), qPrintable(m_cluster->errorString()));
    QVERIFY2(m_cluster->createDatabase(QStringLiteral("requests")),
             qPrintable(m_cluster->errorString()));
}

void tst_RequestQuery::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    StoreConfig config = StoreConfig::sqlite(m_dir->filePath(QStringLiteral("ledger.db")));
    if (m_cluster)
        config = *StoreConfig::parse(m_cluster->connectionUrl(QStringLiteral("requests")));
    m_store = std::make_unique<LedgerStore>(config);
    QString error;
    QVERIFY2(m_store->open(&error), qPrintable(error));
    if (m_cluster) {
        // The same database for every test function, emptied: ids start at 1 again.
        QSqlQuery truncate(QSqlDatabase::database(m_store->connectionName()));
        QVERIFY(truncate.exec(QStringLiteral("TRUNCATE requests RESTART IDENTITY")));
    }
    // Ids 1..6, newest last.
    RequestRecord streamError = row(5, "s2", QStringLiteral("claude-haiku-4-5"), 200, {});
    streamError.errorType = QStringLiteral("overloaded_error");
    streamError.error = QStringLiteral("Overloaded");
    insert({row(0, "s1", QStringLiteral("claude-opus-4-6"), 200, QStringLiteral("team-a")),
            row(1, "s1", QStringLiteral("claude-sonnet-4-6"), 429, QStringLiteral("team-a")),
            row(2, "s2", QStringLiteral("claude-opus-4-6"), 500, QStringLiteral("team-b")),
            row(3, "s2", QStringLiteral("claude-opus-4-6"), 0, QStringLiteral("team-b")),
            row(4, "s3", QStringLiteral("claude-sonnet-4-6"), 304, {}), streamError});
}

void tst_RequestQuery::cleanup()
{
    m_store.reset();
    m_dir.reset();
}

void tst_RequestQuery::insert(const QList<RequestRecord> &rows)
{
    QString error;
    QVERIFY2(m_store->insert(rows, &error), qPrintable(error));
}

QList<RequestRecord> tst_RequestQuery::all(const RequestQuery::Filter &filter)
{
    QString error;
    const QList<RequestRecord> rows =
        RequestQuery::page(m_store.get(), filter, {0, 0, 1000}, &error);
    if (!error.isEmpty())
        qWarning().noquote() << error;
    if (RequestQuery::count(m_store.get(), filter) != rows.size())
        qWarning() << "count and page disagree";
    return rows;
}

void tst_RequestQuery::matchesEveryRowWithoutFilter()
{
    QCOMPARE(RequestQuery::count(m_store.get(), {}), 6);
    QCOMPARE(idsOf(all({})), (QList<quint64> {6, 5, 4, 3, 2, 1}));
    QCOMPARE(RequestQuery::where({}).sql, QString());
}

void tst_RequestQuery::filtersByTimeRange()
{
    RequestQuery::Filter filter;
    filter.fromMs = kStart + 2 * kMinute;
    filter.toMs = kStart + 4 * kMinute;
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {4, 3}));
    QCOMPARE(RequestQuery::count(m_store.get(), filter), 2);
}

void tst_RequestQuery::filtersBySessionModelAndTag()
{
    RequestQuery::Filter bySession;
    bySession.sessionId = QByteArray("s2");
    QCOMPARE(idsOf(all(bySession)), (QList<quint64> {6, 4, 3}));

    RequestQuery::Filter byModel;
    byModel.model = QStringLiteral("claude-sonnet-4-6");
    QCOMPARE(idsOf(all(byModel)), (QList<quint64> {5, 2}));

    RequestQuery::Filter byTag;
    byTag.billingTag = QStringLiteral("team-b");
    QCOMPARE(idsOf(all(byTag)), (QList<quint64> {4, 3}));

    // "No tag" is a value of its own.
    RequestQuery::Filter untagged;
    untagged.billingTag = QString();
    QCOMPARE(idsOf(all(untagged)), (QList<quint64> {6, 5}));
}

void tst_RequestQuery::filtersByStatusClassAndExactStatus_data()
{
    QTest::addColumn<int>("statusClass");
    QTest::addColumn<int>("exact");
    QTest::addColumn<QList<quint64>>("ids");
    using S = RequestQuery::StatusClass;
    QTest::newRow("success") << int(S::Success) << -1 << QList<quint64> {6, 1};
    QTest::newRow("redirect") << int(S::Redirect) << -1 << QList<quint64> {5};
    QTest::newRow("client error") << int(S::ClientError) << -1 << QList<quint64> {2};
    QTest::newRow("server error") << int(S::ServerError) << -1 << QList<quint64> {3};
    QTest::newRow("no response") << int(S::NoResponse) << -1 << QList<quint64> {4};
    QTest::newRow("exact 429 wins") << int(S::Success) << 429 << QList<quint64> {2};
    QTest::newRow("exact 418") << int(S::Any) << 418 << QList<quint64> {};
}

void tst_RequestQuery::filtersByStatusClassAndExactStatus()
{
    QFETCH(int, statusClass);
    QFETCH(int, exact);
    QFETCH(QList<quint64>, ids);
    RequestQuery::Filter filter;
    filter.statusClass = RequestQuery::StatusClass(statusClass);
    if (exact >= 0)
        filter.status = exact;
    QCOMPARE(idsOf(all(filter)), ids);
}

void tst_RequestQuery::errorsOnlyIncludesErrorEventsInSuccessfulStreams()
{
    RequestQuery::Filter filter;
    filter.isErrorsOnly = true;
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {6, 4, 3, 2}));
}

void tst_RequestQuery::combinesFilters()
{
    RequestQuery::Filter filter;
    filter.sessionId = QByteArray("s2");
    filter.model = QStringLiteral("claude-opus-4-6");
    filter.isErrorsOnly = true;
    filter.statusClass = RequestQuery::StatusClass::ServerError;
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {3}));
    filter.fromMs = kStart + 3 * kMinute;
    QCOMPARE(idsOf(all(filter)), QList<quint64> {});
    QCOMPARE(RequestQuery::count(m_store.get(), filter), 0);
}

void tst_RequestQuery::searchesEachTextColumnIgnoringCase_data()
{
    QTest::addColumn<QString>("search");
    QTest::addColumn<QList<quint64>>("ids");
    QTest::newRow("model") << QStringLiteral("SONNET") << QList<quint64> {5, 2};
    QTest::newRow("session") << QStringLiteral("s3") << QList<quint64> {5};
    QTest::newRow("error") << QStringLiteral("overload") << QList<quint64> {6};
    QTest::newRow("request id") << QStringLiteral("req_4") << QList<quint64> {5};
    QTest::newRow("path") << QStringLiteral("/V1/MESS") << QList<quint64> {6, 5, 4, 3, 2, 1};
    QTest::newRow("project") << QStringLiteral("  home/me ") << QList<quint64> {6, 5, 4, 3, 2, 1};
    QTest::newRow("nothing") << QStringLiteral("gpt-4") << QList<quint64> {};
}

void tst_RequestQuery::searchesEachTextColumnIgnoringCase()
{
    QFETCH(QString, search);
    QFETCH(QList<quint64>, ids);
    RequestQuery::Filter filter;
    filter.search = search;
    QCOMPARE(idsOf(all(filter)), ids);
}

void tst_RequestQuery::searchesPercentAndUnderscoreLiterally()
{
    RequestRecord percent = row(10, "100%done", QStringLiteral("m"), 200);
    RequestRecord underscore = row(11, "a_b", QStringLiteral("m"), 200);
    RequestRecord bang = row(12, "wow!%", QStringLiteral("m"), 200);
    RequestRecord plain = row(13, "axb", QStringLiteral("m"), 200);
    insert({percent, underscore, bang, plain}); // ids 7..10

    RequestQuery::Filter filter;
    filter.search = QStringLiteral("%");
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {9, 7}));
    filter.search = QStringLiteral("a_b");
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {8})); // "_" is not "any character"
    filter.search = QStringLiteral("!%");
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {9}));
    QCOMPARE(RequestQuery::likePattern(QStringLiteral("a%b_c!")), QStringLiteral("%a!%b!_c!!%"));
}

void tst_RequestQuery::keepsInjectionAttemptAsData()
{
    const QString hostile = QStringLiteral("x' OR '1'='1'; DROP TABLE requests; --");
    RequestRecord evil = row(20, hostile.toUtf8(), hostile, 200, hostile);
    insert({evil}); // id 7

    RequestQuery::Filter filter;
    filter.sessionId = hostile.toUtf8();
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {7}));
    filter = {};
    filter.model = QStringLiteral("x' OR '1'='1");
    QCOMPARE(idsOf(all(filter)), QList<quint64> {});
    filter = {};
    filter.search = QStringLiteral("' OR 1=1 --");
    QCOMPARE(idsOf(all(filter)), QList<quint64> {});
    filter.search = QStringLiteral("drop table");
    QCOMPARE(idsOf(all(filter)), (QList<quint64> {7}));
    // The table is still there with every row.
    QCOMPARE(RequestQuery::count(m_store.get(), {}), 7);
    // No value ever appears in the SQL text.
    filter.billingTag = hostile;
    QVERIFY(!RequestQuery::where(filter).sql.contains(QStringLiteral("DROP")));
}

void tst_RequestQuery::liveMatchAgreesWithTheDatabase()
{
    QList<RequestQuery::Filter> filters;
    RequestQuery::Filter f;
    filters.append(f);
    f.sessionId = QByteArray("s1");
    filters.append(f);
    f = {};
    f.isErrorsOnly = true;
    filters.append(f);
    f.statusClass = RequestQuery::StatusClass::ClientError;
    filters.append(f);
    f = {};
    f.search = QStringLiteral("OPUS");
    f.fromMs = kStart + kMinute;
    filters.append(f);
    f = {};
    f.billingTag = QString();
    f.toMs = kStart + 5 * kMinute;
    filters.append(f);

    const QList<RequestRecord> everything = all({});
    for (const RequestQuery::Filter &filter : filters) {
        QList<quint64> expected;
        for (const RequestRecord &r : everything) {
            if (filter.matches(r))
                expected.append(r.id);
        }
        QCOMPARE(idsOf(all(filter)), expected);
    }
}

void tst_RequestQuery::pagesNewestFirstWithoutBodies()
{
    QString error;
    const QList<RequestRecord> first = RequestQuery::page(m_store.get(), {}, {0, 0, 4}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(idsOf(first), (QList<quint64> {6, 5, 4, 3}));
    const QList<RequestRecord> second =
        RequestQuery::page(m_store.get(), {}, {0, 0, 4, RequestQuery::positionOf(first.last())});
    QCOMPARE(idsOf(second), (QList<quint64> {2, 1}));
    const QList<RequestRecord> byOffset = RequestQuery::page(m_store.get(), {}, {0, 4, 4});
    QCOMPARE(idsOf(byOffset), idsOf(second));

    // The list's columns are there; the heavy ones are left for detail().
    const RequestRecord &r = second.first(); // id 2: minute 1, 429
    QCOMPARE(r.status, 429);
    QCOMPARE(r.model, QStringLiteral("claude-sonnet-4-6"));
    QCOMPARE(r.sessionId, QByteArray("s1"));
    QCOMPARE(r.billingTag, QStringLiteral("team-a"));
    QCOMPARE(r.usage.inputTokens, 11);
    QCOMPARE(r.costPicoUsd, std::optional<qint64>(2000));
    QCOMPARE(r.ttfbUs, 500);
    QCOMPARE(r.startedAt.toMSecsSinceEpoch(), kStart + kMinute);
    QVERIFY(r.requestHeaders.isEmpty());
    QVERIFY(r.errorBody.isEmpty());
}

void tst_RequestQuery::ordersByStartTimeThenId()
{
    // A long request that started early is logged when it ends, after shorter ones.
    RequestRecord late = row(2, "s9", QStringLiteral("m"), 200);
    RequestRecord sameMs = row(2, "s9", QStringLiteral("m"), 200);
    insert({late, sameMs}); // ids 7 and 8, started with id 3
    QCOMPARE(idsOf(all({})), (QList<quint64> {6, 5, 4, 8, 7, 3, 2, 1}));
    // Paging after a position among equal times continues with the lower ids.
    const QList<RequestRecord> rest = RequestQuery::page(
        m_store.get(), {}, {0, 0, 10, RequestQuery::Position {kStart + 2 * kMinute, 8}});
    QCOMPARE(idsOf(rest), (QList<quint64> {7, 3, 2, 1}));
}

void tst_RequestQuery::keepsPagesStableWhileRowsArrive()
{
    QList<RequestRecord> more;
    for (int i = 0; i < 200; ++i)
        more.append(row(100 + i, "bulk", QStringLiteral("claude-opus-4-6"), 200));
    insert(more); // ids 7..206

    const quint64 snapshot = *RequestQuery::latestId(m_store.get()) + 1;
    QCOMPARE(snapshot, 207u);
    RequestQuery::Filter filter;
    filter.model = QStringLiteral("claude-opus-4-6");
    const qint64 total = RequestQuery::count(m_store.get(), filter, snapshot);
    QCOMPARE(total, 203);
    const QList<RequestRecord> before =
        RequestQuery::page(m_store.get(), filter, {snapshot, 50, 50});

    // New matching rows are logged after the reader took its snapshot.
    QList<RequestRecord> arriving;
    for (int i = 0; i < 30; ++i)
        arriving.append(row(400 + i, "bulk", QStringLiteral("claude-opus-4-6"), 200));
    insert(arriving);

    QCOMPARE(RequestQuery::count(m_store.get(), filter, snapshot), total);
    QCOMPARE(idsOf(RequestQuery::page(m_store.get(), filter, {snapshot, 50, 50})), idsOf(before));
    QCOMPARE(before.first().id, 156u);
    // Keyset continuation gives the same next page as the offset.
    QCOMPARE(idsOf(RequestQuery::page(m_store.get(), filter,
                                      {snapshot, 0, 50, RequestQuery::positionOf(before.last())})),
             idsOf(RequestQuery::page(m_store.get(), filter, {snapshot, 100, 50})));
    // Without the snapshot the new rows come first.
    QCOMPARE(RequestQuery::page(m_store.get(), filter, {0, 0, 1}).first().id, 236u);
}

void tst_RequestQuery::readsOneRowInFull()
{
    const std::optional<RequestRecord> r = RequestQuery::detail(m_store.get(), 2);
    QVERIFY(r);
    QCOMPARE(r->id, 2u);
    QCOMPARE(r->status, 429);
    QCOMPARE(r->requestHeaders,
             QByteArray("content-type: application/json\r\nx-api-key: sk-ant-…abcd\r\n"));
    QCOMPARE(r->responseHeaders, QByteArray("request-id: req\r\n"));
    QCOMPARE(r->errorBody, QByteArray(R"({"type":"error"})"));
    QString error;
    QVERIFY(!RequestQuery::detail(m_store.get(), 999, &error));
    QVERIFY(error.isEmpty()); // no such row is not a failure
}

void tst_RequestQuery::findsTheLoggedRowOfALiveRequest()
{
    const RequestRecord live = row(3, "s2", QStringLiteral("claude-opus-4-6"), 0);
    QCOMPARE(RequestQuery::findId(m_store.get(), live), std::optional<quint64>(4));
    const RequestRecord unlogged = row(77, "s2", QStringLiteral("claude-opus-4-6"), 0);
    QVERIFY(!RequestQuery::findId(m_store.get(), unlogged));
}

void tst_RequestQuery::visitsEveryMatchingRowInBatches()
{
    QList<RequestRecord> more;
    for (int i = 0; i < 1234; ++i)
        more.append(row(100 + i, i % 2 ? "odd" : "even", QStringLiteral("m"), 200));
    insert(more);

    RequestQuery::Filter filter;
    filter.sessionId = QByteArray("odd");
    QList<quint64> ids;
    QString error;
    QVERIFY2(RequestQuery::forEach(
                 m_store.get(), filter, 0,
                 [&](const RequestRecord &r) {
                     ids.append(r.id);
                     return !r.requestHeaders.isEmpty(); // every column is read
                 },
                 &error),
             qPrintable(error));
    QCOMPARE(ids.size(), 617);
    QVERIFY(std::is_sorted(ids.rbegin(), ids.rend()));
    QCOMPARE(ids.size(), QSet<quint64>(ids.begin(), ids.end()).size());

    int visited = 0;
    QVERIFY(RequestQuery::forEach(m_store.get(), {}, 0,
                                  [&](const RequestRecord &) { return ++visited < 10; }));
    QCOMPARE(visited, 10);
}

void tst_RequestQuery::listsDistinctValuesMostRecentFirst()
{
    using F = RequestQuery::Field;
    QCOMPARE(RequestQuery::distinctValues(m_store.get(), F::Model, 0, 10),
             (QStringList {QStringLiteral("claude-haiku-4-5"), QStringLiteral("claude-sonnet-4-6"),
                           QStringLiteral("claude-opus-4-6")}));
    QCOMPARE(RequestQuery::distinctValues(m_store.get(), F::SessionId, 0, 2),
             (QStringList {QStringLiteral("s2"), QStringLiteral("s3")}));
    QCOMPARE(RequestQuery::distinctValues(m_store.get(), F::BillingTag, 0, 10),
             (QStringList {QStringLiteral("team-b"), QStringLiteral("team-a")}));
    QCOMPARE(RequestQuery::distinctValues(m_store.get(), F::Status, kStart + 4 * kMinute, 10),
             (QStringList {QStringLiteral("200"), QStringLiteral("304")}));
}

void tst_RequestQuery::reportsAClosedStore()
{
    m_store->close();
    QString error;
    QCOMPARE(RequestQuery::count(m_store.get(), {}, 0, &error), -1);
    QVERIFY(!error.isEmpty());
    error.clear();
    QVERIFY(RequestQuery::page(nullptr, {}, {}, &error).isEmpty());
    QVERIFY(!error.isEmpty());
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    tst_RequestQuery sqlite(StoreConfig::Backend::Sqlite);
    int failed = QTest::qExec(&sqlite, argc, argv);
    tst_RequestQuery postgresql(StoreConfig::Backend::Postgresql);
    failed += QTest::qExec(&postgresql, argc, argv);
    return failed;
}
#include "tst_RequestQuery.moc"
