// The request list over a real SQLite log of 100,000 requests: it knows how many rows match
// without reading them, reads only the pages a view shows (memory stays bounded however far
// the user scrolls), changes with the filters, and takes in finished requests live.
#include "LedgerReader.h"
#include "RequestsModel.h"
#include "store/LedgerStore.h"
#include "store/RequestQuery.h"
#include "usage/PriceTable.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QFont>
#include <QHeaderView>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace tollgate;

namespace {

QString usd(qint64 picoUsd)
{
    return u'$' + PriceTable::formatUsd(picoUsd);
}

constexpr int kRows = 100'000;
constexpr int kInsertBatch = 5'000;
constexpr int kSessions = 100;
const qint64 kStartMs = QDateTime::currentMSecsSinceEpoch() - 3LL * 24 * 60 * 60 * 1000;

const QString kModels[] = {QStringLiteral("claude-opus-4-6"), QStringLiteral("claude-sonnet-4-6"),
                           QStringLiteral("claude-haiku-4-5")};
const QString kTags[] = {QStringLiteral("team-a"), QStringLiteral("team-b"), QStringLiteral("ci"),
                         QString()};

QByteArray sessionOf(int i)
{
    return "session-" + QByteArray::number(i / (kRows / kSessions));
}

// The i-th request logged (id i + 1): the list shows it at row kRows - 1 - i.
RequestRecord generated(int i)
{
    RequestRecord r;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(kStartMs + qint64(i) * 1000, Qt::UTC);
    r.method = "POST";
    r.target = "/v1/messages";
    r.sessionId = sessionOf(i);
    r.model = kModels[i % 3];
    r.billingTag = kTags[i % 4];
    if (i % 7 == 0) {
        r.provider = QStringLiteral("openrouter");
        r.surface = QStringLiteral("openai");
    }
    r.status = i % 50 == 0 ? 429 : 200;
    r.requestId = "req_" + QByteArray::number(i);
    r.usage.inputTokens = i % 1000;
    r.usage.outputTokens = 100;
    r.usage.cacheReadTokens = 5000;
    r.costPicoUsd = qint64(i) * 1000;
    r.ttfbUs = 300'000;
    r.totalUs = 2'000'000;
    r.requestHeaders = "content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
                       "x-api-key: tg-local-…abcd\r\nuser-agent: claude-cli/2.0.0\r\n";
    r.responseHeaders = "request-id: req\r\ncontent-type: text/event-stream\r\n";
    if (r.status == 429)
        r.errorBody = R"({"type":"error","error":{"type":"rate_limit_error"}})";
    return r;
}

RequestRecord liveRecord(const QString &model)
{
    RequestRecord r;
    r.startedAt = QDateTime::currentDateTimeUtc();
    r.method = "POST";
    r.target = "/v1/messages";
    r.sessionId = "live-session";
    r.model = model;
    r.status = 200;
    r.requestId = "req_live_" + model.toUtf8();
    r.totalUs = 1234;
    r.usage.inputTokens = 7;
    r.requestHeaders = "content-type: application/json\r\n";
    return r;
}

} // namespace

class tst_RequestsModel final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void countsEveryMatchingRowWithoutReadingThem();
    void readsAFarRowOnDemandOnly();
    void scrollsTheWholeTableWithBoundedMemory();
    void filtersChangeTheCount();
    void showsAMatchingLiveRequestAtTheTop();
    void leavesOutALiveRequestThatDoesNotMatch();
    void countsALiveRequestOnceAfterItIsLogged();
    void showsPlaceholdersAndFormatsCells();

private:
    bool reload(const RequestQuery::Filter &filter);

    QTemporaryDir m_dir;
    QString m_path;
    std::unique_ptr<LedgerReader> m_reader;
    std::unique_ptr<RequestsModel> m_model;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
};

void tst_RequestsModel::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_path = m_dir.filePath(QStringLiteral("ledger.db"));
    LedgerStore store(StoreConfig::sqlite(m_path));
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QElapsedTimer timer;
    timer.start();
    for (int first = 0; first < kRows; first += kInsertBatch) {
        QList<RequestRecord> batch;
        batch.reserve(kInsertBatch);
        for (int i = first; i < first + kInsertBatch; ++i)
            batch.append(generated(i));
        QVERIFY2(store.insert(batch, &error), qPrintable(error));
    }
    qInfo("inserted %d rows in %lld ms", kRows, qint64(timer.elapsed()));

    // What one page costs the reader thread, without the event loop around it.
    timer.restart();
    QCOMPARE(RequestQuery::count(&store, {}, kRows + 1), kRows);
    const qint64 countMs = timer.elapsed();
    timer.restart();
    RequestQuery::Page deep;
    deep.beforeId = kRows + 1;
    deep.offset = 75'000;
    QCOMPARE(RequestQuery::page(&store, {}, deep).size(), RequestsModel::kPageSize);
    const qint64 deepMs = timer.elapsed();
    qInfo("count %lld ms, page at offset 75,000: %lld ms", countMs, deepMs);
}

void tst_RequestsModel::init()
{
    m_reader = std::make_unique<LedgerReader>(StoreConfig::sqlite(m_path));
    m_model = std::make_unique<RequestsModel>(m_reader.get());
    // The tester walks every index after each reset: 1.2 million cells here. The timing
    // tests measure the model, not the tester.
    if (qstrcmp(QTest::currentTestFunction(), "scrollsTheWholeTableWithBoundedMemory") != 0
        && qstrcmp(QTest::currentTestFunction(), "readsAFarRowOnDemandOnly") != 0) {
        m_tester = std::make_unique<QAbstractItemModelTester>(
            m_model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    }
}

void tst_RequestsModel::cleanup()
{
    m_tester.reset();
    m_model.reset();
    m_reader.reset();
}

bool tst_RequestsModel::reload(const RequestQuery::Filter &filter)
{
    QSignalSpy reloaded(m_model.get(), &RequestsModel::reloaded);
    m_model->setFilter(filter);
    return reloaded.wait(30'000) && !m_model->isLoading();
}

void tst_RequestsModel::countsEveryMatchingRowWithoutReadingThem()
{
    QElapsedTimer timer;
    timer.start();
    QVERIFY(reload({}));
    qInfo("row count and first page of %d rows in %lld ms", kRows, qint64(timer.elapsed()));
    QCOMPARE(m_model->rowCount(), kRows);
    // Only the first page was read.
    QVERIFY(m_model->loadedRowCount() <= RequestsModel::kPageSize);
    QVERIFY(m_model->isRowLoaded(0));
    QVERIFY(!m_model->isRowLoaded(RequestsModel::kPageSize));
    // Newest first.
    QCOMPARE(m_model->index(0, RequestsModel::ModelColumn).data().toString(),
             generated(kRows - 1).model);
    // Which provider served each, and the OpenAI clients' requests marked as such.
    for (int row = 0; row < 8; ++row) {
        const RequestRecord expected = generated(kRows - 1 - row);
        const QString provider =
            m_model->index(row, RequestsModel::ProviderColumn).data().toString();
        QCOMPARE(provider,
                 expected.surface == QLatin1String("openai")
                     ? QStringLiteral("openrouter · OpenAI client")
                     : QStringLiteral("anthropic"));
    }
    QCOMPARE(m_model->index(0, 0).data(RequestsModel::RecordIdRole).toULongLong(), quint64(kRows));
}

void tst_RequestsModel::readsAFarRowOnDemandOnly()
{
    QVERIFY(reload({}));
    const int row = 75'321;
    const QModelIndex far = m_model->index(row, RequestsModel::SessionColumn);
    QCOMPARE(far.data(RequestsModel::IsLoadedRole).toBool(), false);
    QCOMPARE(m_model->index(row, RequestsModel::TimeColumn).data().toString(),
             QStringLiteral("Loading…"));
    QSignalSpy loaded(m_model.get(), &RequestsModel::rowsLoaded);
    QElapsedTimer timer;
    timer.start();
    QTRY_VERIFY_WITH_TIMEOUT(m_model->isRowLoaded(row), 20'000);
    qInfo("page at row %d read in %lld ms", row, qint64(timer.elapsed()));
    const RequestRecord expected = generated(kRows - 1 - row);
    QCOMPARE(far.data().toString(), RequestsModel::shortSessionId(expected.sessionId));
    QCOMPARE(m_model->recordAt(row)->requestId, expected.requestId);
    QCOMPARE(m_model->index(row, RequestsModel::InputColumn).data().toString(),
             QLocale().toString(expected.usage.inputTokens));
    // The page that holds it and the first page: nothing else.
    QCOMPARE(m_model->loadedRowCount(), 2 * RequestsModel::kPageSize);
    QVERIFY(!m_model->isRowLoaded(row - RequestsModel::kPageSize));
}

void tst_RequestsModel::scrollsTheWholeTableWithBoundedMemory()
{
    QVERIFY(reload({}));
    QTableView view;
    view.setModel(m_model.get());
    view.verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view.resize(900, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    // Jump through the table as a user dragging the scroll bar does, top to bottom, and
    // wait each time until the rows on screen show their data.
    constexpr int kStops = 40;
    QScrollBar *bar = view.verticalScrollBar();
    int maxLoaded = 0;
    int pagesRead = 0;
    connect(m_model.get(), &RequestsModel::rowsLoaded, this, [&] { ++pagesRead; });
    QElapsedTimer timer;
    timer.start();
    for (int stop = 0; stop <= kStops; ++stop) {
        bar->setValue(int(qint64(bar->maximum()) * stop / kStops));
        QCoreApplication::processEvents();
        const int top = view.rowAt(0);
        const int bottom = view.rowAt(view.viewport()->height() - 1);
        QVERIFY(top >= 0);
        view.viewport()->update();
        QTRY_VERIFY_WITH_TIMEOUT(
            m_model->isRowLoaded(top) && (bottom < 0 || m_model->isRowLoaded(bottom)), 20'000);
        maxLoaded = qMax(maxLoaded, m_model->loadedRowCount());
    }
    const qint64 elapsed = timer.elapsed();
    QVERIFY(m_model->isRowLoaded(kRows - 1));
    QCOMPARE(m_model->index(kRows - 1, RequestsModel::ModelColumn).data().toString(),
             generated(0).model);
    qInfo("scrolled %d rows in %d stops: %d pages read, at most %d rows held, %lld ms in all, "
          "%.1f ms per page",
          kRows, kStops + 1, pagesRead, maxLoaded, elapsed,
          pagesRead ? double(elapsed) / pagesRead : 0.0);
    QVERIFY(maxLoaded <= RequestsModel::kMaxCachedPages * RequestsModel::kPageSize);
    QVERIFY(pagesRead < 3 * (kStops + 1)); // the pages on screen, not the rows in between
}

void tst_RequestsModel::filtersChangeTheCount()
{
    RequestQuery::Filter filter;
    filter.model = kModels[1];
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), kRows / 3); // i % 3 == 1 for 33,333 of 100,000

    filter = {};
    filter.sessionId = sessionOf(4200);
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), kRows / kSessions);
    QCOMPARE(m_model->recordAt(0)->sessionId, sessionOf(4200));

    filter = {};
    filter.isErrorsOnly = true;
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), kRows / 50);
    QCOMPARE(m_model->recordAt(0)->status, 429);

    filter.billingTag = kTags[0]; // i % 4 == 0 and i % 50 == 0: every 100th
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), kRows / 100);

    filter = {};
    filter.search = QStringLiteral("req_9999"); // req_9999 and req_99990..req_99999
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), 11);

    filter = {};
    filter.fromMs = kStartMs + qint64(kRows - 500) * 1000;
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), 500);

    QVERIFY(reload({}));
    QCOMPARE(m_model->rowCount(), kRows);
}

void tst_RequestsModel::showsAMatchingLiveRequestAtTheTop()
{
    RequestQuery::Filter filter;
    filter.model = kModels[0];
    QVERIFY(reload(filter));
    const int before = m_model->rowCount();
    QSignalSpy inserted(m_model.get(), &QAbstractItemModel::rowsInserted);
    m_model->addRecord(liveRecord(kModels[0]));
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(m_model->rowCount(), before + 1);
    QCOMPARE(m_model->index(0, RequestsModel::SessionColumn).data().toString(),
             QStringLiteral("live-ses…"));
    QCOMPARE(m_model->index(0, RequestsModel::ModelColumn).data().toString(), kModels[0]);
    QVERIFY(m_model->hasFullRecord(0));
    // The logged rows moved down by one.
    QCOMPARE(m_model->recordAt(1)->id, quint64(kRows)); // i = kRows - 1: i % 3 == 0
}

void tst_RequestsModel::leavesOutALiveRequestThatDoesNotMatch()
{
    RequestQuery::Filter filter;
    filter.model = kModels[0];
    QVERIFY(reload(filter));
    const int before = m_model->rowCount();
    QSignalSpy inserted(m_model.get(), &QAbstractItemModel::rowsInserted);
    m_model->addRecord(liveRecord(kModels[2]));
    RequestRecord failed = liveRecord(kModels[0]);
    failed.status = 500;
    filter.statusClass = RequestQuery::StatusClass::Success;
    QVERIFY(reload(filter));
    const int successes = m_model->rowCount();
    m_model->addRecord(failed);
    QCOMPARE(inserted.size(), 0);
    QCOMPARE(m_model->rowCount(), successes);
    QVERIFY(successes < before);
}

void tst_RequestsModel::countsALiveRequestOnceAfterItIsLogged()
{
    QVERIFY(reload({}));
    const RequestRecord live = liveRecord(QStringLiteral("claude-live-model"));
    m_model->addRecord(live);
    QCOMPARE(m_model->rowCount(), kRows + 1);
    // The ledger writes it; a reload sees it in the log and drops the live copy.
    {
        LedgerStore store(StoreConfig::sqlite(m_path));
        QVERIFY(store.open());
        QVERIFY(store.insert({live}));
    }
    RequestQuery::Filter filter;
    QVERIFY(reload(filter));
    QCOMPARE(m_model->rowCount(), kRows + 1);
    QCOMPARE(m_model->liveRowCount(), 0);
    QCOMPARE(m_model->recordAt(0)->model, QStringLiteral("claude-live-model"));
    QVERIFY(m_model->recordAt(0)->id > quint64(kRows));
    // Leave the shared log as the other tests expect it.
    LedgerStore store(StoreConfig::sqlite(m_path));
    QVERIFY(store.open());
    QSqlQuery remove(QSqlDatabase::database(store.connectionName()));
    QVERIFY(remove.exec(QStringLiteral("DELETE FROM requests WHERE id > %1").arg(kRows)));
}

void tst_RequestsModel::showsPlaceholdersAndFormatsCells()
{
    RequestQuery::Filter filter;
    filter.isErrorsOnly = true;
    QVERIFY(reload(filter));
    const auto cell = [&](int column) { return m_model->index(0, column).data().toString(); };
    const RequestRecord newest = generated(kRows - 50); // the newest 429
    QCOMPARE(cell(RequestsModel::StatusColumn), QStringLiteral("429"));
    QCOMPARE(cell(RequestsModel::CostColumn), usd(*newest.costPicoUsd));
    QCOMPARE(cell(RequestsModel::TtfbColumn), QStringLiteral("300 ms"));
    QCOMPARE(cell(RequestsModel::TotalColumn), QStringLiteral("2.00 s"));
    QCOMPARE(cell(RequestsModel::CacheReadColumn), QLocale().toString(5000));
    QCOMPARE(
        cell(RequestsModel::TimeColumn),
        QLocale().toString(newest.startedAt.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm:ss")));
    QVERIFY(m_model->index(0, RequestsModel::StatusColumn).data(Qt::ForegroundRole).isValid());

    RequestRecord unpriced = liveRecord(QStringLiteral("my-local-model"));
    unpriced.status = 0;
    unpriced.costPicoUsd.reset();
    unpriced.ttfbUs = -1;
    m_model->addRecord(unpriced);
    QCOMPARE(cell(RequestsModel::CostColumn), QStringLiteral("unpriced"));
    QVERIFY(
        m_model->index(0, RequestsModel::CostColumn).data(Qt::FontRole).value<QFont>().italic());
    QCOMPARE(cell(RequestsModel::StatusColumn), QStringLiteral("none"));
    QCOMPARE(cell(RequestsModel::TtfbColumn), QStringLiteral("—"));
}

QTEST_MAIN(tst_RequestsModel)
#include "tst_RequestsModel.moc"
