#include "keys/VirtualKeyFile.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;

class tst_VirtualKeyFile final : public QObject
{
    Q_OBJECT

private slots:
    void createsPrivateKeyOnceAndKeepsIt();
    void generatesDistinctKeys();
    void refusesEmptyKeyFile();
};

void tst_VirtualKeyFile::createsPrivateKeyOnceAndKeepsIt()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("sub/virtual-key"));
    VirtualKeyFile first(path);
    const QByteArray key = first.loadOrCreate();
    QVERIFY(first.wasCreated());
    QVERIFY(key.startsWith("tg-local-"));
    QCOMPARE(key.size(), 9 + 48);
    QCOMPARE(QFile::permissions(path) & ~(QFileDevice::ReadUser | QFileDevice::WriteUser),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    VirtualKeyFile second(path);
    QCOMPARE(second.loadOrCreate(), key);
    QVERIFY(!second.wasCreated());
}

void tst_VirtualKeyFile::generatesDistinctKeys()
{
    QVERIFY(VirtualKeyFile::generateKey() != VirtualKeyFile::generateKey());
}

void tst_VirtualKeyFile::refusesEmptyKeyFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("virtual-key"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("short\n");
    file.close();
    VirtualKeyFile keyFile(path);
    QVERIFY(keyFile.loadOrCreate().isEmpty());
    QVERIFY(!keyFile.errorString().isEmpty());
}

QTEST_APPLESS_MAIN(tst_VirtualKeyFile)
#include "tst_VirtualKeyFile.moc"
