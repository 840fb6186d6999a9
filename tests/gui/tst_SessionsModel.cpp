// The Sessions table: one row per session from the log's totals, sortable by the raw value
// of any column, and kept current by live requests (an existing session or a new one).
#include "SessionsModel.h"

#include <QAbstractItemModelTester>
#include <QLocale>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace tollgate;

namespace {

constexpr qint64 kPico = 1'000'000'000'000;
constexpr qint64 kStart = 1'750'000'000'000;

SessionsModel::Session session(const QByteArray &id, const QString &project, qint64 firstMs,
                               qint64 lastMs, qint64 requests, qint64 costPico)
{
    LedgerStore::Totals totals;
    totals.key = QString::fromUtf8(id);
    totals.firstMs = firstMs;
    totals.lastMs = lastMs;
    totals.requests = requests;
    totals.inputTokens = 100 * requests;
    totals.outputTokens = 10 * requests;
    totals.cacheReadTokens = 300 * requests;
    totals.costPicoUsd = costPico;
    SessionsModel::Session s = SessionsModel::Session::from(totals);
    s.project = project;
    return s;
}

RequestRecord record(const QByteArray &session, qint64 startMs, qint64 costPico)
{
    RequestRecord r;
    r.sessionId = session;
    r.startedAt = QDateTime::fromMSecsSinceEpoch(startMs);
    r.project = QStringLiteral("/work/new");
    r.usage.inputTokens = 50;
    r.usage.outputTokens = 5;
    r.usage.cacheReadTokens = 150;
    r.costPicoUsd = costPico;
    return r;
}

QStringList column(const QAbstractItemModel &model, int column)
{
    QStringList values;
    for (int row = 0; row < model.rowCount(); ++row)
        values.append(model.index(row, column).data().toString());
    return values;
}

QStringList names(std::initializer_list<const char *> items)
{
    QStringList list;
    for (const char *item : items)
        list.append(QString::fromLatin1(item));
    return list;
}

} // namespace

class tst_SessionsModel final : public QObject
{
    Q_OBJECT

private slots:
    void showsOneRowPerSession();
    void sortsByRawValues();
    void updatesAnExistingSessionLive();
    void appendsANewSessionLive();
    void namesProjectsTheTotalsLack();
    void formatsDurations_data();
    void formatsDurations();
};

void tst_SessionsModel::showsOneRowPerSession()
{
    SessionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSessions({session("aaaaaaaa-1111", QStringLiteral("/src/app"), kStart,
                               kStart + 65 * 60 * 1000, 4, 5'735'000'000),
                       session("bbbbbbbb-2222", QString(), kStart, kStart + 30 * 1000, 1, 0)});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.columnCount(), int(SessionsModel::ColumnCount));
    const auto cell = [&](int row, int column) {
        return model.index(row, column).data().toString();
    };
    QCOMPARE(cell(0, SessionsModel::ProjectColumn), QStringLiteral("/src/app"));
    QCOMPARE(cell(0, SessionsModel::SessionColumn), QStringLiteral("aaaaaaaa"));
    QCOMPARE(cell(0, SessionsModel::DurationColumn), QStringLiteral("1 h 05 min"));
    QCOMPARE(cell(0, SessionsModel::RequestsColumn), QStringLiteral("4"));
    QCOMPARE(cell(0, SessionsModel::TokensColumn), QLocale().toString(1640));
    QCOMPARE(cell(0, SessionsModel::CostColumn), QStringLiteral("$0.0057"));
    QCOMPARE(cell(0, SessionsModel::CacheHitColumn), QStringLiteral("75%"));
    QCOMPARE(model.index(0, SessionsModel::CostColumn).data(Qt::ToolTipRole).toString(),
             QStringLiteral("$0.005735 (exact)"));
    QCOMPARE(cell(1, SessionsModel::ProjectColumn), QStringLiteral("(unknown)"));
    QCOMPARE(model.index(1, 0).data(SessionsModel::SessionIdRole).toByteArray(),
             QByteArray("bbbbbbbb-2222"));
    QCOMPARE(model.rowOf("bbbbbbbb-2222"), 1);
    QCOMPARE(model.rowOf("missing"), -1);
}

void tst_SessionsModel::sortsByRawValues()
{
    SessionsModel model;
    QSortFilterProxyModel sorted;
    sorted.setSourceModel(&model);
    sorted.setSortRole(SessionsModel::SortRole);
    sorted.setDynamicSortFilter(true);
    QAbstractItemModelTester tester(&sorted,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    // Text order would put "$10.00" before "$9.00"; the raw cost does not.
    model.setSessions(
        {session("a", QStringLiteral("alpha"), kStart, kStart, 1, 9 * kPico),
         session("b", QStringLiteral("beta"), kStart + 1, kStart + 1, 30, 10 * kPico),
         session("c", QStringLiteral("gamma"), kStart + 2, kStart + 2, 2, kPico / 10)});
    sorted.sort(SessionsModel::CostColumn, Qt::DescendingOrder);
    QCOMPARE(column(sorted, SessionsModel::ProjectColumn), names({"beta", "alpha", "gamma"}));
    sorted.sort(SessionsModel::RequestsColumn, Qt::AscendingOrder);
    QCOMPARE(column(sorted, SessionsModel::ProjectColumn), names({"alpha", "gamma", "beta"}));
    sorted.sort(SessionsModel::StartColumn, Qt::DescendingOrder);
    QCOMPARE(column(sorted, SessionsModel::ProjectColumn), names({"gamma", "beta", "alpha"}));

    // A live request re-sorts the row it changes.
    sorted.sort(SessionsModel::CostColumn, Qt::DescendingOrder);
    model.addRecord(record("c", kStart + 5, 20 * kPico));
    QCOMPARE(column(sorted, SessionsModel::ProjectColumn), names({"gamma", "beta", "alpha"}));
}

void tst_SessionsModel::updatesAnExistingSessionLive()
{
    SessionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSessions({session("a", QStringLiteral("/src/app"), kStart, kStart + 1000, 1, kPico)});
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.addRecord(record("a", kStart + 10 * 60 * 1000, kPico / 2));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(model.rowCount(), 1);
    const SessionsModel::Session &s = model.session(0);
    QCOMPARE(s.requests, 2);
    QCOMPARE(s.costPicoUsd, kPico + kPico / 2);
    QCOMPARE(s.lastMs, kStart + 10 * 60 * 1000);
    QCOMPARE(s.project, QStringLiteral("/src/app")); // the session keeps its project
    QCOMPARE(model.index(0, SessionsModel::DurationColumn).data().toString(),
             QStringLiteral("10 min"));
    QCOMPARE(model.index(0, SessionsModel::CostColumn).data().toString(), QStringLiteral("$1.50"));

    RequestRecord unpriced = record("a", kStart + 11 * 60 * 1000, 0);
    unpriced.costPicoUsd.reset();
    model.addRecord(unpriced);
    QCOMPARE(model.index(0, SessionsModel::CostColumn).data().toString(),
             QStringLiteral("$1.50 + 1 unpriced"));
}

void tst_SessionsModel::appendsANewSessionLive()
{
    SessionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSessions({session("a", QStringLiteral("/src/app"), kStart, kStart, 1, kPico)});
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.addRecord(record("new", kStart + 5000, 2 * kPico));
    model.addRecord(record("new", kStart + 9000, 2 * kPico));
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(model.rowCount(), 2);
    const int row = model.rowOf("new");
    QCOMPARE(row, 1);
    QCOMPARE(model.session(row).requests, 2);
    QCOMPARE(model.session(row).firstMs, kStart + 5000);
    QCOMPARE(model.session(row).project, QStringLiteral("/work/new"));
    QCOMPARE(model.session(row).tokens(), 2 * 205);

    // Requests without a session id gather in a row of their own.
    model.addRecord(record(QByteArray(), kStart, kPico));
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(2, SessionsModel::SessionColumn).data().toString(),
             QStringLiteral("(no session id)"));
}

void tst_SessionsModel::namesProjectsTheTotalsLack()
{
    SessionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSessions({session("a", QString(), kStart, kStart, 1, kPico),
                       session("b", QStringLiteral("/kept"), kStart, kStart, 1, kPico)});
    model.setProjects({{"a", QStringLiteral("/found")}, {"b", QStringLiteral("/other")}});
    QCOMPARE(model.session(0).project, QStringLiteral("/found"));
    QCOMPARE(model.session(1).project, QStringLiteral("/kept"));
}

void tst_SessionsModel::formatsDurations_data()
{
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << qint64(0) << QStringLiteral("0 s");
    QTest::newRow("seconds") << qint64(59'999) << QStringLiteral("59 s");
    QTest::newRow("minutes") << qint64(61'000) << QStringLiteral("1 min");
    QTest::newRow("hours") << qint64(3 * 3600'000 + 7 * 60'000) << QStringLiteral("3 h 07 min");
    QTest::newRow("negative") << qint64(-5) << QStringLiteral("0 s");
}

void tst_SessionsModel::formatsDurations()
{
    QFETCH(qint64, ms);
    QFETCH(QString, text);
    QCOMPARE(SessionsModel::formatDuration(ms), text);
}

QTEST_MAIN(tst_SessionsModel)
#include "tst_SessionsModel.moc"
