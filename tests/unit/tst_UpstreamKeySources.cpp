// Upstream keys on a server without a keychain: TOLLGATE_UPSTREAM_KEYS, TOLLGATE_UPSTREAM_KEY
// and a private key file. Bad input is refused with an error that says where and why, and
// never repeats a key.
#include "TestFiles.h"
#include "keys/UpstreamKeySources.h"

#include <QDir>
#include <QFile>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

#ifndef _WIN32
#include <sys/stat.h>
#endif

using namespace tollgate;

Q_DECLARE_METATYPE(tollgate::UpstreamKey)

namespace tollgate {
// Test data only: failure messages show the alias and the key.
char *toString(const UpstreamKey &key)
{
    return QTest::toString(QString(key.alias + u'=' + QString::fromLatin1(key.secret)));
}
} // namespace tollgate

namespace {
// Every key in these tests holds this marker, so one check proves no error text quotes one.
constexpr char kMarker[] = "SECRET";

UpstreamKey key(const char *alias, const char *secret)
{
    return UpstreamKey {QString::fromLatin1(alias), QByteArray(secret)};
}
} // namespace

class tst_UpstreamKeySources final : public QObject
{
    Q_OBJECT

private slots:
    void parsesKeyListInOrder_data();
    void parsesKeyListInOrder();
    void refusesBadKeyListNamingTheEntryNotTheKey_data();
    void refusesBadKeyListNamingTheEntryNotTheKey();
    void takesTheSingleKeyAsDefault();
    void refusesBadSingleKey_data();
    void refusesBadSingleKey();
    void readsTheVariableThatIsSet();
    void readsKeyFileSkippingCommentsAndBlankLines();
    void refusesBadKeyFileLinesNamingTheLine_data();
    void refusesBadKeyFileLinesNamingTheLine();
    void acceptsOnlyAKeyFileNoOtherUserCanReadOrWrite_data();
    void acceptsOnlyAKeyFileNoOtherUserCanReadOrWrite();
    void refusesSymlinkDirectoryFifoAndMissingKeyFile();

private:
    // A key file with the given content and mode in m_dir.
    QString writeKeyFile(const QByteArray &content, int mode = 0600);

    QTemporaryDir m_dir;
};

QString tst_UpstreamKeySources::writeKeyFile(const QByteArray &content, int mode)
{
    static int count = 0;
    const QString path = m_dir.filePath(QStringLiteral("keys-%1").arg(++count));
    test::writeAll(path, content);
#ifndef _WIN32
    if (::chmod(QFile::encodeName(path).constData(), mode_t(mode)) != 0)
        qFatal("cannot chmod %s", qPrintable(path));
#else
    Q_UNUSED(mode)
#endif
    return path;
}

void tst_UpstreamKeySources::parsesKeyListInOrder_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QList<UpstreamKey>>("keys");
    QTest::newRow("one") << QByteArray("work=sk-ant-api03-AAAA-SECRET")
                         << QList {key("work", "sk-ant-api03-AAAA-SECRET")};
    QTest::newRow("spaces around entries, aliases and keys")
        << QByteArray("  work = k1-SECRET ,\tci=k2-SECRET  ")
        << QList {key("work", "k1-SECRET"), key("ci", "k2-SECRET")};
    QTest::newRow("order kept") << QByteArray("zeta=k1,alpha=k2,mid=k3")
                                << QList {key("zeta", "k1"), key("alpha", "k2"), key("mid", "k3")};
    QTest::newRow("key holding '='")
        << QByteArray("b64=abc/def==") << QList {key("b64", "abc/def==")};
    QTest::newRow("every alias character")
        << QByteArray("Team.A_b-9=k") << QList {key("Team.A_b-9", "k")};
}

void tst_UpstreamKeySources::parsesKeyListInOrder()
{
    QFETCH(QByteArray, value);
    QFETCH(QList<UpstreamKey>, keys);
    QString error = QStringLiteral("stale");
    QCOMPARE(UpstreamKeySources::parseList(value, &error), keys);
    QCOMPARE(error, QString());
}

void tst_UpstreamKeySources::refusesBadKeyListNamingTheEntryNotTheKey_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("holds no keys");
    QTest::newRow("only spaces") << QByteArray("  ") << QStringLiteral("holds no keys");
    QTest::newRow("bare key, no '='")
        << QByteArray("sk-ant-api03-SECRETSECRETSECRET") << QStringLiteral("entry 1 has no '='");
    QTest::newRow("no alias") << QByteArray("work=k1-SECRET, =k2-SECRET")
                              << QStringLiteral("entry 2 has no alias before '='");
    QTest::newRow("no key") << QByteArray("work=")
                            << QStringLiteral("entry 1: the key for alias \"work\" is empty");
    QTest::newRow("empty entry") << QByteArray("a=k1-SECRET,,b=k2-SECRET")
                                 << QStringLiteral("entry 2 is empty");
    QTest::newRow("trailing comma")
        << QByteArray("a=k1-SECRET,") << QStringLiteral("entry 2 is empty");
    QTest::newRow("duplicate alias")
        << QByteArray("work=k1-SECRET,ci=k2-SECRET,work=k3-SECRET")
        << QStringLiteral("entry 3: alias \"work\" is used twice (first in entry 1)");
    QTest::newRow("key with spaces")
        << QByteArray("work=sk-ant api03 SECRET")
        << QStringLiteral("entry 1: the key for alias \"work\" contains spaces");
    QTest::newRow("quoted key, as in a .env file")
        << QByteArray("work=\"sk-ant-api03-SECRET\"")
        << QStringLiteral("entry 1: the key for alias \"work\" contains spaces, quotes");
    QTest::newRow("alias with a space")
        << QByteArray("my work=k-SECRET")
        << QStringLiteral("entry 1: invalid alias \"my work\": an alias may only use the "
                          "characters A-Z a-z 0-9 . _ -");
    QTest::newRow("alias with a slash")
        << QByteArray("team/a=k-SECRET") << QStringLiteral("invalid alias \"team/a\"");
    QTest::newRow("alias not ASCII")
        << QByteArray("cl\xc3\xa9=k-SECRET") << QStringLiteral("invalid alias");
    QTest::newRow("alias too long")
        << QByteArray(QByteArray(65, 'a') + "=k-SECRET")
        << QStringLiteral("invalid alias (alias not shown): the alias is longer than 64");
    QTest::newRow("key and alias swapped")
        << QByteArray("sk-ant-api03-SECRETSECRETSECRET=work")
        << QStringLiteral("invalid alias (alias not shown): the alias looks like an API key");
}

void tst_UpstreamKeySources::refusesBadKeyListNamingTheEntryNotTheKey()
{
    QFETCH(QByteArray, value);
    QFETCH(QString, message);
    QString error;
    QVERIFY(UpstreamKeySources::parseList(value, &error).isEmpty());
    QVERIFY2(error.startsWith(QStringLiteral("TOLLGATE_UPSTREAM_KEYS: ")), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1StringView(kMarker)), qPrintable(error));
}

void tst_UpstreamKeySources::takesTheSingleKeyAsDefault()
{
    QString error;
    QCOMPARE(UpstreamKeySources::parseSingle(" sk-ant-api03-AAAA=\n", &error),
             QList {key("default", "sk-ant-api03-AAAA=")});
    QCOMPARE(error, QString());
}

void tst_UpstreamKeySources::refusesBadSingleKey_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << QByteArray("")
                           << QStringLiteral("TOLLGATE_UPSTREAM_KEY is set but empty");
    QTest::newRow("only spaces") << QByteArray(" \t ") << QStringLiteral("is set but empty");
    QTest::newRow("a list in the one-key variable")
        << QByteArray("work=k1-SECRET, ci=k2-SECRET")
        << QStringLiteral("TOLLGATE_UPSTREAM_KEY contains spaces");
    QTest::newRow("key with a space")
        << QByteArray("sk-ant-api03 SECRET") << QStringLiteral("contains spaces");
}

void tst_UpstreamKeySources::refusesBadSingleKey()
{
    QFETCH(QByteArray, value);
    QFETCH(QString, message);
    QString error;
    QVERIFY(UpstreamKeySources::parseSingle(value, &error).isEmpty());
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1StringView(kMarker)), qPrintable(error));
}

void tst_UpstreamKeySources::readsTheVariableThatIsSet()
{
    QProcessEnvironment environment;
    QString error;
    QVERIFY(UpstreamKeySources::fromEnvironment(environment, &error).isEmpty());
    QCOMPARE(error, QString());

    environment.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEYS"), QStringLiteral("a=k1, b=k2"));
    QCOMPARE(UpstreamKeySources::fromEnvironment(environment, &error),
             (QList {key("a", "k1"), key("b", "k2")}));
    QCOMPARE(error, QString());

    environment.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QStringLiteral("k3-SECRET"));
    QVERIFY(UpstreamKeySources::fromEnvironment(environment, &error).isEmpty());
    QVERIFY2(error.contains(QStringLiteral("both TOLLGATE_UPSTREAM_KEYS and TOLLGATE_UPSTREAM_KEY "
                                           "are set")),
             qPrintable(error));

    environment.remove(QStringLiteral("TOLLGATE_UPSTREAM_KEYS"));
    QCOMPARE(UpstreamKeySources::fromEnvironment(environment, &error),
             QList {key("default", "k3-SECRET")});
    QCOMPARE(error, QString());

    environment.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QString());
    QVERIFY(UpstreamKeySources::fromEnvironment(environment, &error).isEmpty());
    QVERIFY2(error.contains(QStringLiteral("is set but empty")), qPrintable(error));
}

void tst_UpstreamKeySources::readsKeyFileSkippingCommentsAndBlankLines()
{
    const QString path = writeKeyFile("\xef\xbb\xbf# Tollgate upstream keys\n"
                                      "\n"
                                      "work = sk-ant-api03-work-SECRET\r\n"
                                      "   # the CI account\n"
                                      "ci=sk-ant-api03-ci-SECRET\n"
                                      "\t\n"
                                      "b64=abc==\n");
    QString error = QStringLiteral("stale");
    QCOMPARE(UpstreamKeySources::readFile(path, &error),
             (QList {key("work", "sk-ant-api03-work-SECRET"), key("ci", "sk-ant-api03-ci-SECRET"),
                     key("b64", "abc==")}));
    QCOMPARE(error, QString());
}

void tst_UpstreamKeySources::refusesBadKeyFileLinesNamingTheLine_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty file") << QByteArray() << QStringLiteral("holds no keys");
    QTest::newRow("only comments")
        << QByteArray("# work=k-SECRET\n\n  # ci=k-SECRET\n") << QStringLiteral("holds no keys");
    QTest::newRow("line without '='") << QByteArray("# keys\nwork=k1-SECRET\nsk-ant-SECRET\n")
                                      << QStringLiteral(": line 3 has no '='");
    QTest::newRow("duplicate alias")
        << QByteArray("\nwork=k1-SECRET\nci=k2-SECRET\nwork=k3-SECRET\n")
        << QStringLiteral(": line 4: alias \"work\" is used twice (first in line 2)");
    QTest::newRow("key with spaces") << QByteArray("work=sk-ant SECRET\n")
                                     << QStringLiteral(": line 1: the key for alias \"work\" "
                                                       "contains spaces");
    QTest::newRow("quoted key") << QByteArray("work='sk-ant-api03-SECRET'\n")
                                << QStringLiteral(": line 1: the key for alias \"work\" "
                                                  "contains spaces, quotes");
    QTest::newRow("bad alias") << QByteArray("# ok\nteam key=k-SECRET\n")
                               << QStringLiteral(": line 2: invalid alias \"team key\"");
    QTest::newRow("inline comment is not a comment")
        << QByteArray("work=k-SECRET # old key\n")
        << QStringLiteral(": line 1: the key for alias \"work\" contains spaces");
}

void tst_UpstreamKeySources::refusesBadKeyFileLinesNamingTheLine()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, message);
    const QString path = writeKeyFile(content);
    QString error;
    QVERIFY(UpstreamKeySources::readFile(path, &error).isEmpty());
    QVERIFY2(error.startsWith(path), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1StringView(kMarker)), qPrintable(error));
}

void tst_UpstreamKeySources::acceptsOnlyAKeyFileNoOtherUserCanReadOrWrite_data()
{
    QTest::addColumn<int>("mode");
    QTest::addColumn<bool>("isAccepted");
    QTest::newRow("0600") << 0600 << true;
    QTest::newRow("0400") << 0400 << true;
    QTest::newRow("0700") << 0700 << true;
    QTest::newRow("0644, the usual umask") << 0644 << false;
    QTest::newRow("0640, group can read") << 0640 << false;
    QTest::newRow("0620, group can write") << 0620 << false;
    QTest::newRow("0604, others can read") << 0604 << false;
    QTest::newRow("0602, others can write") << 0602 << false;
    QTest::newRow("0666") << 0666 << false;
}

void tst_UpstreamKeySources::acceptsOnlyAKeyFileNoOtherUserCanReadOrWrite()
{
#ifdef _WIN32
    QSKIP("file modes are a Unix matter");
#endif
    QFETCH(int, mode);
    QFETCH(bool, isAccepted);
    const QString path = writeKeyFile("work=k-SECRET\n", mode);
    QString error;
    const QList<UpstreamKey> keys = UpstreamKeySources::readFile(path, &error);
    if (isAccepted) {
        QCOMPARE(keys, QList {key("work", "k-SECRET")});
        QCOMPARE(error, QString());
        return;
    }
    QVERIFY(keys.isEmpty());
    const QString modeText = QStringLiteral("(mode %1)").arg(mode, 4, 8, QChar(u'0'));
    QVERIFY2(error.startsWith(QStringLiteral("refusing the key file %1: other users can read "
                                             "or write it ")
                                  .arg(path)),
             qPrintable(error));
    QVERIFY2(error.contains(modeText), qPrintable(error));
    QVERIFY2(error.endsWith(QStringLiteral("chmod 600 ") + path), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1StringView(kMarker)), qPrintable(error));
}

void tst_UpstreamKeySources::refusesSymlinkDirectoryFifoAndMissingKeyFile()
{
#ifdef _WIN32
    QSKIP("symbolic links, FIFOs and file modes are a Unix matter");
#else
    const QString target = writeKeyFile("work=k-SECRET\n");
    const QString link = m_dir.filePath(QStringLiteral("link-to-keys"));
    QVERIFY(QFile::link(target, link));
    QString error;
    QVERIFY(UpstreamKeySources::readFile(link, &error).isEmpty());
    QVERIFY2(
        error.contains(QStringLiteral("refusing the key file %1: it is a symbolic link").arg(link)),
        qPrintable(error));

    const QString directory = m_dir.filePath(QStringLiteral("a-directory"));
    QVERIFY(QDir().mkpath(directory));
    QVERIFY(::chmod(QFile::encodeName(directory).constData(), 0700) == 0);
    QVERIFY(UpstreamKeySources::readFile(directory, &error).isEmpty());
    QVERIFY2(
        error.contains(
            QStringLiteral("refusing the key file %1: it is not a regular file").arg(directory)),
        qPrintable(error));

    // A FIFO nobody writes to: opening it for reading must not hang.
    const QString fifo = m_dir.filePath(QStringLiteral("a-fifo"));
    QVERIFY(::mkfifo(QFile::encodeName(fifo).constData(), 0600) == 0);
    QVERIFY(UpstreamKeySources::readFile(fifo, &error).isEmpty());
    QVERIFY2(error.contains(QStringLiteral("it is not a regular file")), qPrintable(error));

    const QString missing = m_dir.filePath(QStringLiteral("no-such-file"));
    QVERIFY(UpstreamKeySources::readFile(missing, &error).isEmpty());
    QVERIFY2(error.startsWith(QStringLiteral("cannot open the key file %1: ").arg(missing)),
             qPrintable(error));
#endif
}

QTEST_GUILESS_MAIN(tst_UpstreamKeySources)
#include "tst_UpstreamKeySources.moc"
