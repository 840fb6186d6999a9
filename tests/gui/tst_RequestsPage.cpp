// The Requests page offscreen over a real SQLite log: choosing a request (with the mouse or
// the keyboard) shows its detail with credentials masked and its error body, the filter bar
// narrows the table, "Copy as curl" copies a command without secrets, and "Export CSV"
// writes exactly the rows the filter shows.
#include "LedgerReader.h"
#include "RequestDetailView.h"
#include "RequestsModel.h"
#include "RequestsPage.h"
#include "store/LedgerStore.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace tollgate;

namespace {

QString usd(qint64 picoUsd)
{
    return u'$' + PriceTable::formatUsd(picoUsd);
}

constexpr int kRows = 30;
const QByteArray kLeakedKey = "sk-ant-api03-SECRETSECRETSECRETSECRET1234";

RequestRecord logged(int i)
{
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    RequestRecord r;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(nowMs - qint64(kRows - i) * 60'000, Qt::UTC);
    r.method = "POST";
    r.target = "/v1/messages";
    r.sessionId = i % 2 ? "session-odd" : "session-even";
    r.model = i % 3 ? QStringLiteral("claude-opus-4-6") : QStringLiteral("claude-sonnet-4-6");
    r.status = i % 10 == 3 ? 429 : i % 10 == 7 ? 500 : 200;
    r.requestId = "req_" + QByteArray::number(i);
    r.usage.inputTokens = 1000 + i;
    r.usage.outputTokens = 200;
    r.usage.cacheWrite5mTokens = 300;
    r.usage.cacheReadTokens = 4000;
    r.costPicoUsd = 123'456'789;
    r.costWithoutCachePicoUsd = 223'456'789;
    r.ttfbUs = 450'000;
    r.totalUs = 3'200'000;
    if (i % 2 == 0) { // Claude Code: its own 3 markers, one of Tollgate's, the reads its own
        r.cacheMarkersClient = 3;
        r.cacheMarkersAdded = 1;
    } else if (i % 4 == 1) { // a plain SDK client: only Tollgate's markers
        r.cacheMarkersAdded = 3;
        r.cacheReadsByTollgate = true;
    }
    // A log written by a build that did not mask: the page masks it anyway.
    r.requestHeaders = "content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
                       "x-api-key: "
        + kLeakedKey + "\r\nauthorization: Bearer " + kLeakedKey + "\r\n";
    r.responseHeaders = "request-id: req_" + QByteArray::number(i) + "\r\n";
    if (r.status == 429) {
        r.errorType = QStringLiteral("rate_limit_error");
        r.error = QStringLiteral("Number of request tokens has exceeded your per-minute limit");
        r.errorBody =
            R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})";
    } else if (r.status == 500) {
        r.errorType = QStringLiteral("api_error");
        r.errorBody = R"({"type":"error","error":{"type":"api_error"}})";
    }
    return r;
}

// The row of the i-th logged request (newest first).
int rowOf(int i)
{
    return kRows - 1 - i;
}

} // namespace

class tst_RequestsPage final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void selectingARowShowsMaskedHeadersAndTheErrorBody();
    void keyboardSelectionUpdatesTheDetail();
    void breaksTheCostDownByTokenType();
    void saysWhoseCacheMarkersAndReadsTheyAre();
    void filterBarNarrowsTheTable();
    void searchAppliesAfterAShortPause();
    void copiesACurlCommandWithoutSecrets();
    void exportWritesExactlyTheFilteredRows();
    void namesEveryControlForAssistiveTechnology();

private:
    bool showAndLoad();
    bool waitForReload();
    bool selectRow(int row);

    QTemporaryDir m_dir;
    std::unique_ptr<LedgerReader> m_reader;
    std::unique_ptr<RequestsPage> m_page;
};

void tst_RequestsPage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    LedgerStore store(StoreConfig::sqlite(m_dir.filePath(QStringLiteral("ledger.db"))));
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QList<RequestRecord> rows;
    for (int i = 0; i < kRows; ++i)
        rows.append(logged(i));
    QVERIFY2(store.insert(rows, &error), qPrintable(error));
}

void tst_RequestsPage::init()
{
    m_reader = std::make_unique<LedgerReader>(
        StoreConfig::sqlite(m_dir.filePath(QStringLiteral("ledger.db"))));
    m_page = std::make_unique<RequestsPage>(nullptr, m_reader.get());
    m_page->resize(1200, 800);
    QVERIFY(showAndLoad());
}

void tst_RequestsPage::cleanup()
{
    m_page.reset();
    m_reader.reset();
}

bool tst_RequestsPage::showAndLoad()
{
    QSignalSpy reloaded(m_page->model(), &RequestsModel::reloaded);
    m_page->show();
    if (!QTest::qWaitForWindowExposed(m_page.get()))
        return false;
    return (!reloaded.isEmpty() || reloaded.wait(10'000)) && m_page->model()->rowCount() == kRows;
}

bool tst_RequestsPage::waitForReload()
{
    QSignalSpy reloaded(m_page->model(), &RequestsModel::reloaded);
    return reloaded.wait(10'000);
}

bool tst_RequestsPage::selectRow(int row)
{
    QSignalSpy shown(m_page.get(), &RequestsPage::detailShown);
    m_page->view()->setCurrentIndex(m_page->model()->index(row, 0));
    return shown.wait(10'000);
}

void tst_RequestsPage::selectingARowShowsMaskedHeadersAndTheErrorBody()
{
    RequestDetailView *detail = m_page->detailView();
    QVERIFY(!detail->hasRecord());
    QVERIFY(selectRow(rowOf(3)));
    QCOMPARE(detail->record().requestId, QByteArray("req_3"));

    const QString headers = detail->requestHeadersText();
    QVERIFY2(!headers.contains(QString::fromLatin1(kLeakedKey)), qPrintable(headers));
    QVERIFY(headers.contains(QStringLiteral("x-api-key: sk-ant-api03-…1234")));
    QVERIFY(headers.contains(QStringLiteral("authorization: Bearer sk-ant-api03-…1234")));
    QVERIFY(headers.contains(QStringLiteral("anthropic-version: 2023-06-01")));
    QCOMPARE(detail->responseHeadersText(), QStringLiteral("request-id: req_3\n"));

    QCOMPARE(detail->errorBodyText(),
             QStringLiteral(
                 R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"));
    QVERIFY(detail->errorText().startsWith(QStringLiteral("rate_limit_error: Number of")));
    QVERIFY(detail->timingText().contains(QStringLiteral("450 ms")));
    QVERIFY(detail->timingText().contains(QStringLiteral("3.20 s")));

    // A successful request has no error body.
    QVERIFY(selectRow(rowOf(4)));
    QCOMPARE(detail->record().requestId, QByteArray("req_4"));
    QCOMPARE(detail->errorBodyText(), QString());
    QCOMPARE(detail->errorText(), QStringLiteral("No error."));
}

void tst_RequestsPage::keyboardSelectionUpdatesTheDetail()
{
    QVERIFY(selectRow(0));
    QCOMPARE(m_page->detailView()->record().requestId, QByteArray("req_29"));
    m_page->view()->setFocus();
    QSignalSpy shown(m_page.get(), &RequestsPage::detailShown);
    QTest::keyClick(m_page->view(), Qt::Key_Down);
    QVERIFY(shown.wait(10'000));
    QCOMPARE(m_page->detailView()->record().requestId, QByteArray("req_28"));
    QTest::keyClick(m_page->view(), Qt::Key_End, Qt::ControlModifier);
    QTRY_COMPARE(m_page->detailView()->record().requestId, QByteArray("req_0"));
}

void tst_RequestsPage::breaksTheCostDownByTokenType()
{
    QVERIFY(selectRow(rowOf(4))); // claude-opus-4-6
    RequestDetailView *detail = m_page->detailView();
    QTableWidget *usage = detail->usageTable();
    QCOMPARE(usage->rowCount(), 5);
    const auto cell = [&](int row, int column) { return usage->item(row, column)->text(); };
    QCOMPARE(cell(0, RequestDetailView::TokensColumn), QLocale().toString(1004));
    QCOMPARE(cell(4, RequestDetailView::TokensColumn), QLocale().toString(200));
    const std::optional<ModelPrice> price =
        PriceTable::builtIn().find(QStringLiteral("claude-opus-4-6"));
    QVERIFY(price);
    QCOMPARE(cell(0, RequestDetailView::CostColumn), usd(price->input * 1004));
    QCOMPARE(cell(0, RequestDetailView::RateColumn), usd(price->input * 1'000'000));
    QCOMPARE(cell(3, RequestDetailView::CostColumn), usd(price->cacheRead * 4000));
    QCOMPARE(cell(4, RequestDetailView::CostColumn), usd(price->output * 200));
    QCOMPARE(detail->costText(),
             QStringLiteral("Cost $0.000123456789 · without cache $0.000223456789 · saved by "
                            "cache $0.0001"));
}

void tst_RequestsPage::saysWhoseCacheMarkersAndReadsTheyAre()
{
    RequestDetailView *detail = m_page->detailView();
    QVERIFY(selectRow(rowOf(4)));
    QCOMPARE(detail->cacheMarkersText(),
             QStringLiteral("Cache markers: client 3, Tollgate 1 · cache reads owed to the "
                            "client's markers"));
    QVERIFY(selectRow(rowOf(5)));
    QCOMPARE(detail->cacheMarkersText(),
             QStringLiteral("Cache markers: client 0, Tollgate 3 · cache reads owed to "
                            "Tollgate's markers"));
    const QModelIndex reads = m_page->model()->index(rowOf(5), RequestsModel::CacheReadColumn);
    QCOMPARE(reads.data(Qt::ToolTipRole).toString(),
             QStringLiteral("Owed to Tollgate's cache markers"));
    QCOMPARE(m_page->model()
                 ->index(rowOf(4), RequestsModel::CacheReadColumn)
                 .data(Qt::ToolTipRole)
                 .toString(),
             QStringLiteral("Owed to the client's cache markers"));
}

void tst_RequestsPage::filterBarNarrowsTheTable()
{
    auto *status = m_page->findChild<QComboBox *>(QStringLiteral("status"));
    QVERIFY(status);
    QSignalSpy reloaded(m_page->model(), &RequestsModel::reloaded);
    status->setCurrentIndex(status->findData(QStringLiteral("errors")));
    QVERIFY(reloaded.wait(10'000));
    QCOMPARE(m_page->model()->rowCount(), 6);

    // The boxes are filled from the log.
    auto *model = m_page->findChild<QComboBox *>(QStringLiteral("model"));
    QVERIFY(model);
    QTRY_VERIFY(model->findText(QStringLiteral("claude-sonnet-4-6")) > 0);
    QTRY_VERIFY(status->findData(QStringLiteral("429")) > 0);

    model->setCurrentIndex(model->findText(QStringLiteral("claude-sonnet-4-6")));
    QVERIFY(waitForReload());
    QCOMPARE(m_page->model()->rowCount(), 2); // failed: 3 and 27
    status->setCurrentIndex(status->findData(QStringLiteral("429")));
    QVERIFY(waitForReload());
    QCOMPARE(m_page->model()->rowCount(), 1); // 429: 3, 13, 23
    QCOMPARE(m_page->filterFromControls().status, std::optional<int>(429));

    m_page->setTimeRange(RequestsPage::TimeRange::LastHour);
    QVERIFY(waitForReload());
    QCOMPARE(m_page->model()->rowCount(), 1);
    QVERIFY(m_page->filterFromControls().fromMs > 0);
}

void tst_RequestsPage::searchAppliesAfterAShortPause()
{
    auto *search = m_page->findChild<QLineEdit *>(QStringLiteral("search"));
    QVERIFY(search);
    QSignalSpy reloaded(m_page->model(), &RequestsModel::reloaded);
    QTest::keyClicks(search, QStringLiteral("REQ_1"));
    // Typing does not reread the log at every key.
    QCOMPARE(reloaded.size(), 0);
    QVERIFY(reloaded.wait(10'000));
    QCOMPARE(reloaded.size(), 1);
    QCOMPARE(m_page->model()->rowCount(), 11); // req_1, req_10 .. req_19
}

void tst_RequestsPage::copiesACurlCommandWithoutSecrets()
{
    QVERIFY(selectRow(rowOf(3)));
    QSignalSpy copied(m_page.get(), &RequestsPage::curlCopied);
    QTest::mouseClick(m_page->detailView()->copyAsCurlButton(), Qt::LeftButton);
    QCOMPARE(copied.size(), 1);
    const QString command = QApplication::clipboard()->text();
    QCOMPARE(command, m_page->curlCommand());
    QVERIFY(command.contains(QStringLiteral("curl http://127.0.0.1:8787/v1/messages")));
    QVERIFY(command.contains(QStringLiteral("$ANTHROPIC_API_KEY")));
    QVERIFY(command.contains(QStringLiteral("anthropic-version: 2023-06-01")));
    QVERIFY(!command.contains(QStringLiteral("SECRET")));
    QVERIFY(!command.contains(QStringLiteral("Bearer")));
}

void tst_RequestsPage::exportWritesExactlyTheFilteredRows()
{
    auto *session = m_page->findChild<QComboBox *>(QStringLiteral("session"));
    QVERIFY(session);
    session->setEditText(QStringLiteral("session-even"));
    QVERIFY(waitForReload());
    QCOMPARE(m_page->model()->rowCount(), kRows / 2);

    const QString path = m_dir.filePath(QStringLiteral("export.csv"));
    QSignalSpy finished(m_page.get(), &RequestsPage::exportFinished);
    m_page->exportCsv(path);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(finished.first().at(0).toLongLong(), kRows / 2);
    QCOMPARE(finished.first().at(1).toString(), QString());

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QList<QByteArray> lines = file.readAll().split('\n');
    while (!lines.isEmpty() && lines.last().trimmed().isEmpty())
        lines.removeLast();
    QCOMPARE(lines.size(), 1 + kRows / 2);
    QVERIFY(lines.first().contains("request_id"));
    QSet<QByteArray> exported;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        QVERIFY(lines[i].contains("session-even"));
        QVERIFY(!lines[i].contains("SECRET"));
        for (int r = 0; r < kRows; r += 2) {
            if (lines[i].contains(QByteArray("req_" + QByteArray::number(r) + ',')))
                exported.insert(QByteArray::number(r));
        }
    }
    QCOMPARE(exported.size(), kRows / 2);
}

void tst_RequestsPage::namesEveryControlForAssistiveTechnology()
{
    const QList<QWidget *> widgets = m_page->findChildren<QWidget *>();
    for (QWidget *widget : widgets) {
        const bool isControl = qobject_cast<QComboBox *>(widget)
            || qobject_cast<QLineEdit *>(widget) || qobject_cast<QPushButton *>(widget)
            || qobject_cast<QTableView *>(widget);
        if (!isControl || qobject_cast<QComboBox *>(widget->parentWidget()))
            continue;
        if (qobject_cast<QLineEdit *>(widget) && widget->objectName().isEmpty())
            continue; // an editable combo box's own line edit
        QVERIFY2(!widget->accessibleName().isEmpty(), widget->metaObject()->className());
    }
    // Tab goes from the filter bar to the table and on to the detail.
    QWidget *time = m_page->findChild<QComboBox *>(QStringLiteral("timeRange"));
    QWidget *exportButton = m_page->findChild<QPushButton *>(QStringLiteral("exportCsv"));
    QList<QWidget *> chain;
    QWidget *next = time;
    for (int i = 0; i < 40 && next; ++i) {
        chain.append(next);
        next = next->nextInFocusChain();
    }
    const auto position = [&](QWidget *w) { return chain.indexOf(w); };
    QVERIFY(position(time) < position(exportButton));
    QVERIFY(position(exportButton) < position(m_page->view()));
    QVERIFY(position(m_page->view()) < position(m_page->detailView()->copyAsCurlButton()));
}

QTEST_MAIN(tst_RequestsPage)
#include "tst_RequestsPage.moc"
