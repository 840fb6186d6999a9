// Keys in the real OS keychain. On Linux ctest runs this through tests/support/with-keyring.sh:
// a private D-Bus session with a throwaway, unlocked GNOME keyring in a temporary HOME. The
// entries go under a service name of the test's own, and every test removes what it stored.
//
// The missing-keychain cases run this same binary as a child process (kChildFlag) against a
// dead bus address and against a bus with no keychain service, in a fresh HOME.
#include "keys/KeyStore.h"

#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextStream>
#include <QThread>
#include <thread>

using namespace tollgate;
using Kind = KeyStore::Kind;

namespace {

constexpr char kChildFlag[] = "--child-without-keychain";
// What the child tries to store; it must end up nowhere: not in an error, a log line or a file.
constexpr char kChildSecret[] = "sk-ant-api03-ChildOnlySecretChildOnlySecret-0123456789-wxyz";

QString throwawayService()
{
    return QStringLiteral("Tollgate-test-%1-%2")
        .arg(QCoreApplication::applicationPid())
        .arg(QRandomGenerator::system()->generate(), 8, 16, QChar(u'0'));
}

// Child process: store, read and remove one key with no keychain to talk to, and print the
// three errors, one per line. Exits 0 when all three failed, as they must.
int runChild(const QString &service)
{
    KeyStore store(service);
    QString storeError;
    QString loadError;
    QString removeError;
    const QString alias = QStringLiteral("child");
    const bool isStored = store.store(Kind::Upstream, alias, kChildSecret, &storeError);
    const bool isLoaded = store.load(Kind::Upstream, alias, &loadError).has_value();
    const bool isRemoved = store.remove(Kind::Upstream, alias, &removeError);
    QTextStream(stdout) << storeError << '\n' << loadError << '\n' << removeError << '\n';
    return isStored || isLoaded || isRemoved || loadError.isEmpty() ? 1 : 0;
}

// A session bus that knows no services, so none can be started on demand.
QByteArray busWithoutServicesConfig(const QString &socketDirectory)
{
    return "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
           " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
           "<busconfig>\n"
           "  <type>session</type>\n"
           "  <listen>unix:tmpdir="
        + QFile::encodeName(socketDirectory)
        + "</listen>\n"
          "  <auth>EXTERNAL</auth>\n"
          "  <policy context=\"default\">\n"
          "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
          "    <allow eavesdrop=\"true\"/>\n"
          "    <allow own=\"*\"/>\n"
          "  </policy>\n"
          "</busconfig>\n";
}

} // namespace

class tst_KeyStore final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanup();

    void storesLoadsAndRemovesAKey();
    void loadsNothingWithoutAnErrorForAMissingAlias();
    void storeReplacesTheEarlierKey();
    void removingAMissingKeySucceeds();
    void acceptsAliasesAtTheLimits();
    void rejectsBadAliasesWithoutQuotingAKey_data();
    void rejectsBadAliasesWithoutQuotingAKey();
    void refusesAnEmptyKey();
    void keepsUpstreamAndVirtualKeysWithTheSameAliasApart();
    void keepsServicesApart();
    void answersOnThreadsWithAndWithoutAnEventLoop();
    void explainsAMissingKeychainAndWritesNoPlainText_data();
    void explainsAMissingKeychainAndWritesNoPlainText();

private:
    const QString m_service = throwawayService();
    KeyStore m_store {m_service};
    KeyStore m_otherStore {m_service + QStringLiteral("-other")};
    // Every alias a test may have stored; cleanup() removes them all.
    const QStringList m_aliases {QStringLiteral("work"),
                                 QStringLiteral("ci"),
                                 QStringLiteral("shared"),
                                 QStringLiteral("from-std-thread"),
                                 QStringLiteral("from-qthread"),
                                 QStringLiteral("a"),
                                 QString(KeyStore::kMaxAliasLength, u'z'),
                                 QStringLiteral("Team.A_b-9")};
};

void tst_KeyStore::initTestCase()
{
    QString error;
    if (!m_store.store(Kind::Upstream, QStringLiteral("work"), "probe", &error))
        QFAIL(qPrintable(QStringLiteral("the keychain is not usable here (%1); run this test "
                                        "through tests/support/with-keyring.sh, as ctest does")
                             .arg(error)));
    QVERIFY2(m_store.remove(Kind::Upstream, QStringLiteral("work"), &error), qPrintable(error));
}

void tst_KeyStore::cleanup()
{
    for (KeyStore *store : {&m_store, &m_otherStore}) {
        for (const QString &alias : m_aliases) {
            for (Kind kind : {Kind::Upstream, Kind::Virtual}) {
                QString error;
                QVERIFY2(store->remove(kind, alias, &error), qPrintable(error));
            }
        }
    }
}

void tst_KeyStore::storesLoadsAndRemovesAKey()
{
    const QByteArray secret = "sk-ant-api03-RoundTrip0123456789-abcd";
    QString error = QStringLiteral("stale");
    QVERIFY2(m_store.store(Kind::Upstream, QStringLiteral("work"), secret, &error),
             qPrintable(error));
    QCOMPARE(error, QString());
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("work"), &error), secret);
    QCOMPARE(error, QString());
    // A second store object over the same service sees the same entry: it is in the keychain.
    KeyStore again(m_service);
    QCOMPARE(again.load(Kind::Upstream, QStringLiteral("work"), &error), secret);

    QVERIFY2(m_store.remove(Kind::Upstream, QStringLiteral("work"), &error), qPrintable(error));
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("work"), &error), std::nullopt);
    QCOMPARE(error, QString());
}

void tst_KeyStore::loadsNothingWithoutAnErrorForAMissingAlias()
{
    QString error = QStringLiteral("stale");
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("ci"), &error), std::nullopt);
    QCOMPARE(error, QString());
    QCOMPARE(m_store.load(Kind::Virtual, QStringLiteral("ci"), nullptr), std::nullopt);
}

void tst_KeyStore::storeReplacesTheEarlierKey()
{
    QString error;
    QVERIFY2(m_store.store(Kind::Upstream, QStringLiteral("work"), "sk-ant-api03-old-key", &error),
             qPrintable(error));
    QVERIFY2(m_store.store(Kind::Upstream, QStringLiteral("work"), "sk-ant-api03-new-key", &error),
             qPrintable(error));
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("work"), &error),
             QByteArray("sk-ant-api03-new-key"));
}

void tst_KeyStore::removingAMissingKeySucceeds()
{
    QString error = QStringLiteral("stale");
    QVERIFY(m_store.remove(Kind::Upstream, QStringLiteral("ci"), &error));
    QCOMPARE(error, QString());
}

void tst_KeyStore::acceptsAliasesAtTheLimits()
{
    // Every byte value survives, not only the visible ASCII of real keys.
    QByteArray binary;
    for (int c = 0; c < 256; ++c)
        binary.append(char(c));
    for (const QString &alias : {QStringLiteral("a"), QString(KeyStore::kMaxAliasLength, u'z'),
                                 QStringLiteral("Team.A_b-9")}) {
        QString error;
        QVERIFY2(m_store.store(Kind::Virtual, alias, binary + alias.toUtf8(), &error),
                 qPrintable(error));
        QCOMPARE(m_store.load(Kind::Virtual, alias, &error), binary + alias.toUtf8());
    }
}

void tst_KeyStore::rejectsBadAliasesWithoutQuotingAKey_data()
{
    QTest::addColumn<QString>("alias");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << QString() << QStringLiteral("invalid alias \"\": the alias is empty");
    QTest::newRow("space") << QStringLiteral("my work")
                           << QStringLiteral("invalid alias \"my work\": an alias may only use "
                                             "the characters A-Z a-z 0-9 . _ -");
    QTest::newRow("slash, which would reach another kind's entry")
        << QStringLiteral("../virtual/work") << QStringLiteral("invalid alias \"../virtual/work\"");
    QTest::newRow("not ASCII") << QStringLiteral("cl\u00e9") << QStringLiteral("invalid alias");
    QTest::newRow("newline") << QStringLiteral("a\nb")
                             << QStringLiteral("invalid alias (alias not shown)");
    QTest::newRow("65 characters") << QString(KeyStore::kMaxAliasLength + 1, u'z')
                                   << QStringLiteral("invalid alias (alias not shown): the alias "
                                                     "is longer than 64 characters");
    QTest::newRow("a pasted virtual key")
        << QStringLiteral("tg-local-0123456789abcdef0123456789abcdef")
        << QStringLiteral("invalid alias (alias not shown): the alias looks like an API key");
    QTest::newRow("a pasted upstream key")
        << QString(QStringLiteral("sk-ant-api03-") + QString(90, u'Q'))
        << QStringLiteral("invalid alias (alias not shown)");
}

void tst_KeyStore::rejectsBadAliasesWithoutQuotingAKey()
{
    QFETCH(QString, alias);
    QFETCH(QString, message);
    const QByteArray secret = "sk-ant-api03-NeverStoredUnderABadAlias-0123";
    QString error;
    QVERIFY(!m_store.store(Kind::Upstream, alias, secret, &error));
    QVERIFY2(error.startsWith(QStringLiteral("cannot store the upstream key: ")),
             qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY(!error.contains(QString::fromLatin1(secret)));
    if (alias.size() > 20)
        QVERIFY2(!error.contains(alias), qPrintable(error));

    QCOMPARE(m_store.load(Kind::Upstream, alias, &error), std::nullopt);
    QVERIFY2(error.startsWith(QStringLiteral("cannot read the upstream key: ")), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));

    QVERIFY(!m_store.remove(Kind::Virtual, alias, &error));
    QVERIFY2(error.startsWith(QStringLiteral("cannot remove the virtual key: ")),
             qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
}

void tst_KeyStore::refusesAnEmptyKey()
{
    QString error;
    QVERIFY(!m_store.store(Kind::Upstream, QStringLiteral("work"), QByteArray(), &error));
    QCOMPARE(error, QStringLiteral("cannot store the upstream key \"work\": the key is empty"));
}

void tst_KeyStore::keepsUpstreamAndVirtualKeysWithTheSameAliasApart()
{
    const QString alias = QStringLiteral("shared");
    QString error;
    QVERIFY2(m_store.store(Kind::Upstream, alias, "sk-ant-api03-upstream", &error),
             qPrintable(error));
    QCOMPARE(m_store.load(Kind::Virtual, alias, &error), std::nullopt);
    QVERIFY2(m_store.store(Kind::Virtual, alias, "tg-local-virtual", &error), qPrintable(error));
    QCOMPARE(m_store.load(Kind::Upstream, alias, &error), QByteArray("sk-ant-api03-upstream"));
    QCOMPARE(m_store.load(Kind::Virtual, alias, &error), QByteArray("tg-local-virtual"));

    QVERIFY2(m_store.remove(Kind::Upstream, alias, &error), qPrintable(error));
    QCOMPARE(m_store.load(Kind::Upstream, alias, &error), std::nullopt);
    QCOMPARE(m_store.load(Kind::Virtual, alias, &error), QByteArray("tg-local-virtual"));
    QCOMPARE(KeyStore::entryName(Kind::Upstream, alias), QStringLiteral("upstream/shared"));
    QCOMPARE(KeyStore::entryName(Kind::Virtual, alias), QStringLiteral("virtual/shared"));
}

void tst_KeyStore::keepsServicesApart()
{
    QString error;
    QVERIFY2(m_store.store(Kind::Upstream, QStringLiteral("work"), "sk-ant-api03-mine", &error),
             qPrintable(error));
    QCOMPARE(m_otherStore.load(Kind::Upstream, QStringLiteral("work"), &error), std::nullopt);
    QCOMPARE(error, QString());
    QVERIFY2(
        m_otherStore.store(Kind::Upstream, QStringLiteral("work"), "sk-ant-api03-theirs", &error),
        qPrintable(error));
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("work"), &error),
             QByteArray("sk-ant-api03-mine"));
    QCOMPARE(m_otherStore.load(Kind::Upstream, QStringLiteral("work"), &error),
             QByteArray("sk-ant-api03-theirs"));
}

void tst_KeyStore::answersOnThreadsWithAndWithoutAnEventLoop()
{
    // A plain thread with no event loop, which then ends.
    bool isStored = false;
    std::optional<QByteArray> loaded;
    QString error;
    std::thread plain([&] {
        isStored = m_store.store(Kind::Upstream, QStringLiteral("from-std-thread"),
                                 "sk-ant-api03-std-thread", &error);
        loaded = m_store.load(Kind::Upstream, QStringLiteral("from-std-thread"), &error);
    });
    plain.join();
    QVERIFY2(isStored, qPrintable(error));
    QCOMPARE(loaded, QByteArray("sk-ant-api03-std-thread"));

    // A QThread, called from inside its running event loop.
    QThread loopThread;
    QObject onLoopThread;
    onLoopThread.moveToThread(&loopThread);
    loopThread.start();
    isStored = false;
    loaded.reset();
    QMetaObject::invokeMethod(
        &onLoopThread,
        [&] {
            isStored = m_store.store(Kind::Upstream, QStringLiteral("from-qthread"),
                                     "sk-ant-api03-qthread", &error);
            loaded = m_store.load(Kind::Upstream, QStringLiteral("from-std-thread"), &error);
        },
        Qt::BlockingQueuedConnection);
    loopThread.quit();
    QVERIFY(loopThread.wait(10000));
    QVERIFY2(isStored, qPrintable(error));
    QCOMPARE(loaded, QByteArray("sk-ant-api03-std-thread"));

    // And this thread again, after both others are gone.
    QCOMPARE(m_store.load(Kind::Upstream, QStringLiteral("from-qthread"), &error),
             QByteArray("sk-ant-api03-qthread"));
}

void tst_KeyStore::explainsAMissingKeychainAndWritesNoPlainText_data()
{
    QTest::addColumn<bool>("hasSessionBus");
    QTest::newRow("no session bus") << false;
    QTest::newRow("a session bus without a keychain service") << true;
}

void tst_KeyStore::explainsAMissingKeychainAndWritesNoPlainText()
{
    QFETCH(bool, hasSessionBus);
    QTemporaryDir home;
    QVERIFY(home.isValid());
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("HOME"), home.path());
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral(".config")));
    env.insert(QStringLiteral("XDG_DATA_HOME"), home.filePath(QStringLiteral(".local/share")));
    env.insert(QStringLiteral("XDG_CACHE_HOME"), home.filePath(QStringLiteral(".cache")));
    env.remove(QStringLiteral("XDG_RUNTIME_DIR"));
    // No X display for D-Bus to autolaunch a bus on, and no desktop to pick KWallet from.
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION",
                             "KDE_FULL_SESSION"})
        env.remove(QString::fromLatin1(name));

    const QString self = QCoreApplication::applicationFilePath();
    const QStringList childArguments {QString::fromLatin1(kChildFlag), m_service};
    QString program = self;
    QStringList arguments = childArguments;
    QTemporaryDir busDirectory;
    if (hasSessionBus) {
        program = QStandardPaths::findExecutable(QStringLiteral("dbus-run-session"));
        if (program.isEmpty())
            QSKIP("dbus-run-session is not installed (package dbus)");
        const QString config = busDirectory.filePath(QStringLiteral("session.conf"));
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(busWithoutServicesConfig(busDirectory.path()));
        file.close();
        arguments =
            QStringList {QStringLiteral("--config-file"), config, QStringLiteral("--"), self}
            + childArguments;
    } else {
        env.insert(QStringLiteral("DBUS_SESSION_BUS_ADDRESS"),
                   QStringLiteral("unix:path=") + home.filePath(QStringLiteral("no-bus-here")));
    }

    QProcess child;
    child.setProcessEnvironment(env);
    child.start(program, arguments);
    QVERIFY(QTest::qWaitFor([&] { return child.state() == QProcess::NotRunning; }, 60000));
    QVERIFY2(child.error() != QProcess::FailedToStart, qPrintable(child.errorString()));
    const QByteArray output = child.readAllStandardOutput();
    const QByteArray log = child.readAllStandardError();
    QVERIFY2(child.exitStatus() == QProcess::NormalExit && child.exitCode() == 0,
             output.constData());

    const QStringList errors = QString::fromUtf8(output).split(u'\n', Qt::SkipEmptyParts);
    QCOMPARE(errors.size(), 3);
    QVERIFY2(errors[0].startsWith(QStringLiteral("cannot store the upstream key \"child\" in the "
                                                 "keychain: no keychain service is running: ")),
             qPrintable(errors[0]));
    QVERIFY2(errors[1].startsWith(QStringLiteral("cannot read the upstream key \"child\" from the "
                                                 "keychain: no keychain service is running: ")),
             qPrintable(errors[1]));
    QVERIFY2(errors[2].startsWith(QStringLiteral("cannot remove the upstream key \"child\" from "
                                                 "the keychain: no keychain service is running: ")),
             qPrintable(errors[2]));
    for (const QString &error : errors) {
        // What to do about it: start a keychain, or give the keys another way on a server.
        QVERIFY2(error.contains(QStringLiteral("start gnome-keyring or KWallet")),
                 qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("TOLLGATE_UPSTREAM_KEYS or a key file")),
                 qPrintable(error));
    }
    QVERIFY(!output.contains(kChildSecret));
    QVERIFY2(!log.contains(kChildSecret), log.constData());

    // No plain-text fallback: nothing the child left under its HOME holds the key, plain or
    // encoded.
    const QByteArray encoded = QByteArray(kChildSecret).toBase64();
    QDirIterator it(home.path(), QDir::Files | QDir::Hidden | QDir::System,
                    QDirIterator::Subdirectories);
    QStringList files;
    while (it.hasNext()) {
        const QString path = it.next();
        files.append(path);
        QFile file(path);
        QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
        const QByteArray content = file.readAll();
        QVERIFY2(!content.contains(kChildSecret) && !content.contains(encoded), qPrintable(path));
    }
    // Nor any settings file, where QtKeychain's insecure fallback would write.
    QVERIFY2(files.isEmpty(), qPrintable(files.join(u' ')));
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (argc == 3 && qstrcmp(argv[1], kChildFlag) == 0)
        return runChild(QString::fromLocal8Bit(argv[2]));
    tst_KeyStore test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_KeyStore.moc"
