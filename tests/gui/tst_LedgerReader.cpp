// The window reads the request log on a thread of its own: results come back on the GUI
// thread, in order, and never to a page that was closed meanwhile.
#include "LedgerReader.h"

#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace tollgate;

class tst_LedgerReader final : public QObject
{
    Q_OBJECT

private slots:
    void answersOnTheGuiThreadInOrder();
    void dropsTheAnswerForADestroyedContext();
    void reportsAStoreThatCannotOpen();
};

void tst_LedgerReader::answersOnTheGuiThreadInOrder()
{
    QTemporaryDir dir;
    LedgerReader reader(StoreConfig::sqlite(dir.filePath(QStringLiteral("requests.sqlite"))));
    QList<int> answers;
    QThread *queryThread = nullptr;
    for (int i = 0; i < 3; ++i) {
        reader.run<int>(
            [i, &queryThread](LedgerStore *store) {
                queryThread = QThread::currentThread();
                return store && store->isOpen() ? i : -1;
            },
            this,
            [&answers](int value) {
                QCOMPARE(QThread::currentThread(), qApp->thread());
                answers.append(value);
            });
    }
    QTRY_COMPARE(answers, (QList<int> {0, 1, 2}));
    QVERIFY(queryThread != qApp->thread());
}

void tst_LedgerReader::dropsTheAnswerForADestroyedContext()
{
    QTemporaryDir dir;
    LedgerReader reader(StoreConfig::sqlite(dir.filePath(QStringLiteral("requests.sqlite"))));
    bool isCalled = false;
    auto *page = new QObject;
    reader.run<int>(
        [](LedgerStore *) {
            QThread::msleep(50);
            return 1;
        },
        page, [&isCalled](int) { isCalled = true; });
    delete page;
    bool isLaterDone = false;
    reader.run<int>([](LedgerStore *) { return 2; }, this, [&](int) { isLaterDone = true; });
    QTRY_VERIFY(isLaterDone);
    QVERIFY(!isCalled);
}

void tst_LedgerReader::reportsAStoreThatCannotOpen()
{
    QTemporaryDir dir;
    // A directory where the database file should be.
    const QString path = dir.filePath(QStringLiteral("requests.sqlite"));
    QVERIFY(QDir().mkpath(path));
    LedgerReader reader(StoreConfig::sqlite(path));
    QSignalSpy unavailable(&reader, &LedgerReader::storeUnavailable);
    bool gotNull = false;
    reader.run<bool>([](LedgerStore *store) { return store == nullptr; }, this,
                     [&](bool isNull) { gotNull = isNull; });
    QTRY_VERIFY(gotNull);
    QCOMPARE(unavailable.count(), 1);
    QVERIFY(!reader.lastError().isEmpty());
}

QTEST_MAIN(tst_LedgerReader)
#include "tst_LedgerReader.moc"
