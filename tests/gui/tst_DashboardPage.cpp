// The Dashboard page against a real SQLite request log, offscreen: it shows what the log
// holds, counts a request that is both logged and live once, does no work while hidden,
// catches up when shown, and redraws at most five times a second under a flood.
#include "DashboardPage.h"
#include "Gateway.h"
#include "LedgerReader.h"
#include "LiveFeed.h"
#include "charts/ValueFormat.h"

#include <QDate>
#include <QDateTime>
#include <QElapsedTimer>
#include <QLabel>
#include <QLocale>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace tollgate;

namespace {

constexpr qint64 kPico = 1'000'000'000'000;

RequestRecord record(qint64 startMs, qint64 costPico, const QByteArray &session = "s1")
{
    static quint64 nextId = 1;
    RequestRecord r;
    r.id = nextId++;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(startMs);
    r.method = "POST";
    r.target = "/v1/messages";
    r.sessionId = session;
    r.status = 200;
    r.isComplete = true;
    r.totalUs = 1000;
    r.requestId = "req_" + QByteArray::number(r.id);
    r.project = QStringLiteral("/src/app");
    r.virtualKeyAlias = QStringLiteral("default");
    r.model = QStringLiteral("claude-sonnet-4");
    r.usage.inputTokens = 100;
    r.usage.outputTokens = 20;
    r.usage.cacheReadTokens = 300;
    r.usage.hasUsage = true;
    r.costPicoUsd = costPico;
    r.costWithoutCachePicoUsd = costPico * 2;
    return r;
}

qint64 todayStartMs()
{
    return QDate::currentDate().startOfDay().toMSecsSinceEpoch();
}

// A moment today, at least `agoMs` before now when the day is long enough for it.
qint64 todayAgo(qint64 agoMs)
{
    return std::max(todayStartMs() + 1000, QDateTime::currentMSecsSinceEpoch() - agoMs);
}

} // namespace

class tst_DashboardPage final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void showsTodaysCostFromTheLog();
    void countsALoggedAndLiveRequestOnce();
    void doesNothingWhileHiddenAndCatchesUpWhenShown();
    void redrawsAtMostFiveTimesASecondUnderAFlood();
    void readsTheLogTheSettingsMovedTo();

private:
    QLabel *label(const QString &name) const;
    void insert(const QList<RequestRecord> &records,
                const QString &file = QStringLiteral("requests.sqlite"));
    void showAndLoad();

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Gateway> m_gateway;
    std::unique_ptr<LedgerReader> m_reader;
    std::unique_ptr<DashboardPage> m_page;
};

void tst_DashboardPage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_gateway = std::make_unique<Gateway>();
    m_reader = std::make_unique<LedgerReader>(
        StoreConfig::sqlite(m_dir->filePath(QStringLiteral("requests.sqlite"))));
    m_page = std::make_unique<DashboardPage>(m_gateway.get(), m_reader.get());
    m_page->resize(1000, 900);
}

void tst_DashboardPage::cleanup()
{
    m_page.reset();
    m_reader.reset();
    m_gateway.reset();
    m_dir.reset();
}

QLabel *tst_DashboardPage::label(const QString &name) const
{
    auto *found = m_page->findChild<QLabel *>(name);
    if (!found)
        qFatal("no label %s", qPrintable(name));
    return found;
}

void tst_DashboardPage::insert(const QList<RequestRecord> &records, const QString &file)
{
    LedgerStore store(StoreConfig::sqlite(m_dir->filePath(file)));
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QVERIFY2(store.insert(records, &error), qPrintable(error));
}

void tst_DashboardPage::showAndLoad()
{
    QSignalSpy refreshed(m_page.get(), &DashboardPage::refreshed);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
    QTRY_VERIFY_WITH_TIMEOUT(refreshed.count() > 0, 5000);
}

void tst_DashboardPage::showsTodaysCostFromTheLog()
{
    // One row older than the page's recent window (read as totals), one inside it (read row
    // by row), one yesterday, one unpriced.
    RequestRecord unpriced = record(todayAgo(60 * 1000), 0);
    unpriced.costPicoUsd.reset();
    unpriced.costWithoutCachePicoUsd.reset();
    unpriced.model = QStringLiteral("mystery-model");
    insert({record(todayAgo(2 * 3600 * 1000), 5'000'000'000),
            record(todayAgo(30 * 1000), 735'000'000), unpriced,
            record(todayStartMs() - 3600 * 1000, 7 * kPico)});
    showAndLoad();

    QCOMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$0.0057"));
    QCOMPARE(label(QStringLiteral("todayCost"))->toolTip(), QStringLiteral("$0.005735 (exact)"));
    QCOMPARE(label(QStringLiteral("todayRequests"))->text(), QStringLiteral("3"));
    QCOMPARE(label(QStringLiteral("todaySaved"))->text(), QStringLiteral("$0.0057"));
    QCOMPARE(label(QStringLiteral("todaySavedByClient"))->text(), QStringLiteral("$0.0057"));
    QCOMPARE(label(QStringLiteral("todaySavedByTollgate"))->text(),
             QStringLiteral("$0.00 (Tollgate added no cache markers)"));
    QVERIFY(label(QStringLiteral("todayUnpriced"))->isVisible());
    QVERIFY(label(QStringLiteral("todayUnpriced"))->text().contains(QStringLiteral("1 request")));
    QCOMPARE(m_page->model().today().cacheHitRatio(), 0.75);
    if (QDate::currentDate().day() > 1)
        QCOMPARE(m_page->model().month().costPicoUsd, 7 * kPico + 5'735'000'000);
}

void tst_DashboardPage::countsALoggedAndLiveRequestOnce()
{
    const RequestRecord both = record(todayAgo(10 * 1000), 2 * kPico);
    insert({both});
    // Delivered live after the log already has it, before the page read the log.
    emit m_gateway->requestFinished(both);
    showAndLoad();
    QTRY_COMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$2.00"));
    QCOMPARE(m_page->model().today().requests, 1);
    QCOMPARE(m_page->pendingRecordCount(), 0);

    // A request that is not logged yet counts as soon as it arrives.
    emit m_gateway->requestFinished(record(QDateTime::currentMSecsSinceEpoch(), kPico));
    QTRY_COMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$3.00"));
}

void tst_DashboardPage::doesNothingWhileHiddenAndCatchesUpWhenShown()
{
    insert({record(todayAgo(10 * 1000), kPico)});
    showAndLoad();
    QTRY_COMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$1.00"));
    m_page->hide();

    QSignalSpy refreshed(m_page.get(), &DashboardPage::refreshed);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 1000; ++i)
        emit m_gateway->requestFinished(
            record(now, 1'000'000'000, "s" + QByteArray::number(i % 20)));
    QTest::qWait(500); // long enough for several redraws, had any been scheduled
    QCOMPARE(refreshed.count(), 0);
    QCOMPARE(m_page->model().today().requests, 1); // nothing recomputed
    QCOMPARE(m_page->pendingRecordCount(), 1000);
    QCOMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$1.00"));

    m_page->show();
    QTRY_VERIFY(refreshed.count() > 0);
    QCOMPARE(m_page->model().today().requests, 1001);
    QCOMPARE(m_page->pendingRecordCount(), 0);
    QCOMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$2.00"));
    QCOMPARE(label(QStringLiteral("todayRequests"))->text(), QLocale().toString(1001));
}

void tst_DashboardPage::redrawsAtMostFiveTimesASecondUnderAFlood()
{
    showAndLoad();
    QSignalSpy refreshed(m_page.get(), &DashboardPage::refreshed);
    int sent = 0;
    QTimer flood;
    flood.setInterval(2);
    connect(&flood, &QTimer::timeout, this, [&] {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        for (int i = 0; i < 10; ++i, ++sent)
            emit m_gateway->requestFinished(
                record(now, 1'000'000'000, "s" + QByteArray::number(sent % 12)));
    });
    QElapsedTimer elapsed;
    elapsed.start();
    flood.start();
    QTest::qWait(2000);
    flood.stop();
    const double seconds = double(elapsed.elapsed()) / 1000.0;
    QTRY_COMPARE(m_page->model().today().requests, qint64(sent));
    const int redraws = int(refreshed.count());
    QVERIFY2(sent > 200, qPrintable(QString::number(sent)));
    QVERIFY2(redraws >= 2, qPrintable(QString::number(redraws)));
    // The last redraw may land just after the flood stopped.
    QVERIFY2(redraws <= int(seconds * LiveFeed::kMaxRefreshesPerSecond) + 2,
             qPrintable(QStringLiteral("%1 redraws in %2 s").arg(redraws).arg(seconds)));
    QCOMPARE(label(QStringLiteral("todayCost"))->text(),
             ValueFormat::usd(qint64(sent) * 1'000'000'000));
}

void tst_DashboardPage::readsTheLogTheSettingsMovedTo()
{
    insert({record(todayAgo(60 * 1000), 1 * kPico)});
    insert({record(todayAgo(50 * 1000), 2 * kPico), record(todayAgo(40 * 1000), 2 * kPico)},
           QStringLiteral("moved.sqlite"));
    showAndLoad();
    QCOMPARE(label(QStringLiteral("todayRequests"))->text(), QStringLiteral("1"));

    // The settings now name the other file: the page reads it without a restart.
    m_reader->setStore(StoreConfig::sqlite(m_dir->filePath(QStringLiteral("moved.sqlite"))));
    QTRY_COMPARE_WITH_TIMEOUT(label(QStringLiteral("todayRequests"))->text(), QStringLiteral("2"),
                              5000);
    QCOMPARE(label(QStringLiteral("todayCost"))->text(), QStringLiteral("$4.00"));

    // Turned off: the figures stay and the page says the log is off.
    m_reader->setStore(std::nullopt);
    QVERIFY(label(QStringLiteral("status"))->isVisible());
    QVERIFY2(label(QStringLiteral("status"))->text().contains(QStringLiteral("off")),
             qPrintable(label(QStringLiteral("status"))->text()));
}

QTEST_MAIN(tst_DashboardPage)
#include "tst_DashboardPage.moc"
