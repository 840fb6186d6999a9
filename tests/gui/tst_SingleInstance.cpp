// One desktop Tollgate per user: a second launch finds the first, asks it to bring its
// window forward and exits; a socket left by a crashed instance does not block a start.
#include "SingleInstance.h"

#include <QFile>
#include <QLocalServer>
#include <QSignalSpy>
#include <QTest>
#include <QUuid>

using namespace tollgate;

namespace {
QString uniqueName()
{
    return QStringLiteral("tollgate-test-")
        + QUuid::createUuid().toString(QUuid::WithoutBraces).left(12);
}
} // namespace

class tst_SingleInstance final : public QObject
{
    Q_OBJECT

private slots:
    void firstInstanceBecomesPrimary();
    void secondInstanceAsksTheFirstToComeForward();
    void everyLaterLaunchIsForwarded();
    void takesOverTheNameOfACrashedInstance();
    void namesDifferPerUserSetup();
};

void tst_SingleInstance::firstInstanceBecomesPrimary()
{
    SingleInstance first(uniqueName());
    QSignalSpy primary(&first, &SingleInstance::becamePrimary);
    QSignalSpy other(&first, &SingleInstance::otherInstanceFound);
    first.start();
    QTRY_COMPARE(primary.count(), 1);
    QVERIFY(first.isPrimary());
    QCOMPARE(other.count(), 0);
}

void tst_SingleInstance::secondInstanceAsksTheFirstToComeForward()
{
    const QString name = uniqueName();
    SingleInstance first(name);
    QSignalSpy primary(&first, &SingleInstance::becamePrimary);
    QSignalSpy activation(&first, &SingleInstance::activationRequested);
    first.start();
    QTRY_COMPARE(primary.count(), 1);

    SingleInstance second(name);
    QSignalSpy secondPrimary(&second, &SingleInstance::becamePrimary);
    QSignalSpy found(&second, &SingleInstance::otherInstanceFound);
    second.start();
    QTRY_COMPARE(found.count(), 1);
    QCOMPARE(activation.count(), 1);
    QCOMPARE(secondPrimary.count(), 0);
    QVERIFY(!second.isPrimary());
}

void tst_SingleInstance::everyLaterLaunchIsForwarded()
{
    const QString name = uniqueName();
    SingleInstance first(name);
    QSignalSpy activation(&first, &SingleInstance::activationRequested);
    first.start();
    QTRY_VERIFY(first.isPrimary());
    for (int i = 1; i <= 3; ++i) {
        SingleInstance later(name);
        QSignalSpy found(&later, &SingleInstance::otherInstanceFound);
        later.start();
        QTRY_COMPARE(found.count(), 1);
        QTRY_COMPARE(activation.count(), i);
    }
}

void tst_SingleInstance::takesOverTheNameOfACrashedInstance()
{
#ifdef Q_OS_WIN
    QSKIP("Named pipes vanish with the process that made them.");
#endif
    const QString name = uniqueName();
    // A listening socket whose file stays behind after its owner is gone.
    auto *stale = new QLocalServer;
    QVERIFY(stale->listen(name));
    const QString socketPath = stale->fullServerName();
    stale->close();
    delete stale;
    QFile leftover(socketPath);
    if (!leftover.exists()) {
        // Qt removed it on close; leave a plain file in its place, as a crash would.
        QVERIFY(leftover.open(QIODevice::WriteOnly));
        leftover.close();
    }
    SingleInstance instance(name);
    QSignalSpy primary(&instance, &SingleInstance::becamePrimary);
    instance.start();
    QTRY_COMPARE(primary.count(), 1);
    QVERIFY(instance.isPrimary());
    QVERIFY(instance.errorString().isEmpty());
}

void tst_SingleInstance::namesDifferPerUserSetup()
{
    const QString name = SingleInstance::defaultServerName();
    QVERIFY(name.startsWith(QStringLiteral("tollgate-")));
    QCOMPARE(SingleInstance::defaultServerName(), name); // stable within a setup
    const QByteArray savedUser = qgetenv("USER");
    qputenv("USER", "somebody-else");
    QVERIFY(SingleInstance::defaultServerName() != name);
    qputenv("USER", savedUser);
}

QTEST_GUILESS_MAIN(tst_SingleInstance)
#include "tst_SingleInstance.moc"
