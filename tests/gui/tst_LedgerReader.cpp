// The window reads the request log on a thread of its own: results come back on the GUI
// thread, in order, and never to a page that was closed meanwhile.
#include "LedgerReader.h"

#include <QDir>
#include <QFile>
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
    void readsTheStoreItWasMovedTo();
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

void tst_LedgerReader::readsTheStoreItWasMovedTo()
{
    QTemporaryDir dir;
    const QString first = dir.filePath(QStringLiteral("first.sqlite"));
    const QString moved = dir.filePath(QStringLiteral("moved.sqlite"));
    LedgerReader reader(StoreConfig::sqlite(first));
    QSignalSpy changed(&reader, &LedgerReader::storeChanged);
    const auto ask = [&reader, this](QStringList *answers) {
        reader.run<QString>(
            [](LedgerStore *store) {
                return store ? store->config().sqlitePath : QStringLiteral("none");
            },
            this, [answers](const QString &path) { answers->append(path); });
    };
    QStringList answers;
    ask(&answers);
    reader.setStore(StoreConfig::sqlite(first)); // the same: nothing to do
    QCOMPARE(changed.count(), 0);
    reader.setStore(StoreConfig::sqlite(moved));
    QCOMPARE(changed.count(), 1);
    ask(&answers);
    reader.setStore(std::nullopt);
    QCOMPARE(changed.count(), 2);
    QVERIFY(!reader.hasStore());
    ask(&answers);
    // Asked before the move: the old store; after it: the new one; then none.
    QTRY_COMPARE(answers, (QStringList {first, moved, QStringLiteral("none")}));
    QVERIFY(QFile::exists(moved));
}

QTEST_MAIN(tst_LedgerReader)
#include "tst_LedgerReader.moc"
