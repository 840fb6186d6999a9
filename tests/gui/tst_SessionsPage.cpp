// The Sessions page against a real SQLite request log, offscreen: rows with their projects
// from the log, live requests merged once, and the selected session's timeline.
#include "Gateway.h"
#include "LedgerReader.h"
#include "SessionsPage.h"
#include "charts/TimeSeriesChart.h"

#include <QDateTime>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;

namespace {

constexpr qint64 kPico = 1'000'000'000'000;

RequestRecord record(const QByteArray &session, qint64 startMs, qint64 costPico,
                     const QString &project = QString())
{
    static quint64 nextId = 1;
    RequestRecord r;
    r.id = nextId++;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(startMs);
    r.sessionId = session;
    r.project = project;
    r.status = 200;
    r.totalUs = 500;
    r.requestId = "req_" + QByteArray::number(r.id);
    r.model = QStringLiteral("claude-sonnet-4");
    r.usage.inputTokens = 10;
    r.costPicoUsd = costPico;
    r.costWithoutCachePicoUsd = costPico;
    return r;
}

} // namespace

class tst_SessionsPage final : public QObject
{
    Q_OBJECT

private slots:
    void listsSessionsAndFollowsTheSelectedOne();
};

void tst_SessionsPage::listsSessionsAndFollowsTheSelectedOne()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("requests.sqlite"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    {
        LedgerStore store(StoreConfig::sqlite(path));
        QVERIFY(store.open());
        // "old" is read as totals (before the recent window), its project from the rows.
        QVERIFY(store.insert(
            {record("old", now - 3 * 3600 * 1000, 2 * kPico, QStringLiteral("/src/old")),
             record("old", now - 2 * 3600 * 1000, 3 * kPico),
             record("recent", now - 60 * 1000, kPico, QStringLiteral("/src/new"))}));
    }
    Gateway gateway;
    LedgerReader reader(StoreConfig::sqlite(path));
    SessionsPage page(&gateway, &reader);
    QSignalSpy refreshed(&page, &SessionsPage::refreshed);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QTRY_COMPARE(page.model()->rowCount(), 2);
    const int oldRow = page.model()->rowOf("old");
    QCOMPARE(page.model()->session(oldRow).project, QStringLiteral("/src/old"));
    QCOMPARE(page.model()->session(oldRow).costPicoUsd, 5 * kPico);
    QCOMPARE(page.model()->session(page.model()->rowOf("recent")).project,
             QStringLiteral("/src/new"));
    // Newest session first.
    QCOMPARE(page.sortedModel()->index(0, 0).data(SessionsModel::SessionIdRole).toByteArray(),
             QByteArray("recent"));

    QSignalSpy shown(&page, &SessionsPage::timelineShown);
    QVERIFY(page.selectSession("old"));
    QTRY_COMPARE(shown.count(), 1);
    QCOMPARE(page.timelineChart()->points(QStringLiteral("timeline")).size(), 2);
    QCOMPARE(page.timelineChart()->points(QStringLiteral("timeline")).last().value, 5.0);

    // A live request of the selected session and one of a new session.
    emit gateway.requestFinished(record("old", now + 1000, kPico));
    emit gateway.requestFinished(record("brand-new", now + 2000, kPico));
    QTRY_COMPARE(page.model()->rowCount(), 3);
    QCOMPARE(page.model()->session(oldRow).requests, 3);
    QCOMPARE(page.timelineChart()->points(QStringLiteral("timeline")).last().value, 6.0);
    QCOMPARE(page.selectedSessionId(), QByteArray("old"));

    // Hidden, the page keeps the requests and takes them in when shown again.
    page.hide();
    refreshed.clear();
    emit gateway.requestFinished(record("old", now + 3000, kPico));
    QTest::qWait(300);
    QCOMPARE(refreshed.count(), 0);
    QCOMPARE(page.model()->session(oldRow).requests, 3);
    page.show();
    QTRY_COMPARE(page.model()->session(oldRow).requests, 4);
}

QTEST_MAIN(tst_SessionsPage)
#include "tst_SessionsPage.moc"
