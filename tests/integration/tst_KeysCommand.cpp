// `tollgate keys` as a user runs it, against a real keychain (a throwaway GNOME keyring in a
// private D-Bus session, see tests/support/with-keyring.sh): keys go in through standard
// input, only their aliases reach the settings file, the list shows them masked, a test
// call reaches the upstream, the gateway serves with them, and nothing Tollgate writes or
// prints holds one.
#include "MockUpstream.h"
#include "TestClient.h"

#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>

using namespace tollgate::test;

namespace {
const QByteArray kWorkKey = "sk-ant-api03-keychain-work-key-0000-1234";
const QByteArray kCiKey = "sk-ant-api03-keychain-ci-key-0000-5678";
} // namespace

class tst_KeysCommand final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void addsListsTestsServesAndRemovesKeys();
    void refusesBadInput_data();
    void refusesBadInput();

private:
    struct Run
    {
        int exitCode = -1;
        QByteArray out;
        QByteArray errors;
    };
    Run tollgate(const QStringList &arguments, const QByteArray &input = {});
    QProcessEnvironment environment() const;
    QByteArray everythingWritten() const;

    QTemporaryDir *m_home = nullptr;
    MockUpstream *m_mock = nullptr;
};

void tst_KeysCommand::init()
{
    m_home = new QTemporaryDir;
    QVERIFY(m_home->isValid());
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
}

void tst_KeysCommand::cleanup()
{
    delete m_mock;
    delete m_home;
}

// Settings and data directories of the test's own; keys only from the keychain.
QProcessEnvironment tst_KeysCommand::environment() const
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_home->filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("XDG_DATA_HOME"), m_home->filePath(QStringLiteral("data")));
    env.remove(QStringLiteral("TOLLGATE_UPSTREAM_KEY"));
    env.remove(QStringLiteral("TOLLGATE_UPSTREAM_KEYS"));
    return env;
}

tst_KeysCommand::Run tst_KeysCommand::tollgate(const QStringList &arguments,
                                               const QByteArray &input)
{
    QProcess process;
    process.setProcessEnvironment(environment());
    process.start(QStringLiteral(TOLLGATE_BINARY), arguments);
    process.write(input);
    process.closeWriteChannel();
    Run run;
    if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 20000))
        return run;
    run.exitCode = process.exitCode();
    run.out = process.readAllStandardOutput();
    run.errors = process.readAllStandardError();
    return run;
}

// Every byte of every file in the data and settings directories.
QByteArray tst_KeysCommand::everythingWritten() const
{
    QByteArray all;
    QDirIterator it(m_home->path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        QFile file(it.next());
        if (file.open(QIODevice::ReadOnly))
            all += file.readAll();
    }
    return all;
}

void tst_KeysCommand::addsListsTestsServesAndRemovesKeys()
{
    const QString upstream = QString::fromLatin1(m_mock->baseUrl());
    Run run = tollgate({QStringLiteral("keys"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("no upstream keys"), run.out.constData());

    run = tollgate({QStringLiteral("keys"), QStringLiteral("add"), QStringLiteral("work")},
                   kWorkKey + "\n");
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY2(run.out.contains("sk-ant-api03-…1234"), run.out.constData());
    run = tollgate({QStringLiteral("keys"), QStringLiteral("add"), QStringLiteral("ci")}, kCiKey);
    QVERIFY2(run.exitCode == 0, run.errors.constData());

    QFile settings(m_home->filePath(QStringLiteral("config/Tollgate/tollgate/config.json")));
    QVERIFY(settings.open(QIODevice::ReadOnly));
    const QByteArray settingsText = settings.readAll();
    QVERIFY2(settingsText.contains("\"upstream_keys\"") && settingsText.contains("\"work\"")
                 && settingsText.contains("\"ci\""),
             settingsText.constData());

    run = tollgate({QStringLiteral("keys"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(QRegularExpression(QStringLiteral("\\nwork +anthropic +sk-ant-api03-…1234 +keychain"))
                .match(QString::fromUtf8(run.out))
                .hasMatch());
    QVERIFY(QRegularExpression(QStringLiteral("\\nci +anthropic +sk-ant-api03-…5678 +keychain"))
                .match(QString::fromUtf8(run.out))
                .hasMatch());

    // keys test: one count_tokens call with the key; the upstream's verdict decides.
    m_mock->setHandler([](const MockRequest &request) {
        MockResponse response;
        response.headers = {{"content-type", "application/json"}};
        if (request.header("x-api-key") == kCiKey) {
            response.status = 401;
            response.body = R"({"type":"error","error":{"type":"authentication_error",)"
                            R"("message":"invalid x-api-key"}})";
        } else {
            response.body = R"({"input_tokens":5})";
        }
        return response;
    });
    run = tollgate({QStringLiteral("keys"), QStringLiteral("test"), QStringLiteral("work"),
                    QStringLiteral("--upstream"), upstream});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY(run.out.contains("\"work\" works"));
    QCOMPARE(m_mock->requests().last().target, QByteArray("/v1/messages/count_tokens"));
    QCOMPARE(m_mock->requests().last().header("x-api-key"), kWorkKey);
    run = tollgate({QStringLiteral("keys"), QStringLiteral("test"), QStringLiteral("ci"),
                    QStringLiteral("--upstream"), upstream});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.errors.contains("\"ci\" was rejected") && run.errors.contains("invalid x-api-key"),
             run.errors.constData());

    // The gateway serves with the keychain's keys, in turn.
    m_mock->setHandler({});
    m_mock->clear();
    QProcess serving;
    serving.setProcessEnvironment(environment());
    serving.start(QStringLiteral(TOLLGATE_BINARY),
                  {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0"),
                   QStringLiteral("--upstream"), upstream, QStringLiteral("--virtual-key"),
                   QStringLiteral("tg-cli-0123456789abcdef")});
    QByteArray out;
    QVERIFY(QTest::qWaitFor(
        [&] {
            out += serving.readAllStandardOutput();
            return out.contains("ANTHROPIC_API_KEY");
        },
        20000));
    const quint16 port = quint16(QRegularExpression(QStringLiteral(":(\\d+)\n"))
                                     .match(QString::fromUtf8(out))
                                     .captured(1)
                                     .toUInt());
    TestClient client;
    client.connectTo(port);
    for (int i = 0; i < 2; ++i)
        client.send("POST", "/v1/messages", {{"x-api-key", "tg-cli-0123456789abcdef"}},
                    R"({"model":"claude-opus-4-8"})");
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(client.responses().at(1).status, 200);
    QCOMPARE(m_mock->requests().size(), 2);
    QCOMPARE(m_mock->requests().at(0).header("x-api-key"), kWorkKey);
    QCOMPARE(m_mock->requests().at(1).header("x-api-key"), kCiKey);
    ::kill(pid_t(serving.processId()), SIGTERM);
    QVERIFY(QTest::qWaitFor([&] { return serving.state() == QProcess::NotRunning; }, 5000));
    const QByteArray printed = out + serving.readAll() + serving.readAllStandardError();

    run = tollgate({QStringLiteral("keys"), QStringLiteral("remove"), QStringLiteral("ci")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    run = tollgate({QStringLiteral("keys"), QStringLiteral("list")});
    QVERIFY(run.out.contains("work"));
    QVERIFY(!run.out.contains("\nci "));

    // Settings, request log, everything printed: the keys are in none of it.
    const QByteArray written = everythingWritten();
    QVERIFY(!written.isEmpty());
    for (const QByteArray &key : {kWorkKey, kCiKey}) {
        QVERIFY(!written.contains(key));
        QVERIFY(!printed.contains(key));
    }
}

void tst_KeysCommand::refusesBadInput_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("bad alias") << QStringList {QStringLiteral("keys"), QStringLiteral("add"),
                                               QStringLiteral("my key!")}
                               << kWorkKey << 2 << QByteArray("alias");
    QTest::newRow("no key on stdin")
        << QStringList {QStringLiteral("keys"), QStringLiteral("add"), QStringLiteral("work")}
        << QByteArray() << 2 << QByteArray("no key on standard input");
    QTest::newRow("key with a space")
        << QStringList {QStringLiteral("keys"), QStringLiteral("add"), QStringLiteral("work")}
        << QByteArray("sk-ant-api03 with space") << 2 << QByteArray("not an API key");
    QTest::newRow("key on the command line")
        << QStringList {QStringLiteral("keys"), QStringLiteral("add"), QStringLiteral("work"),
                        QString::fromLatin1(kWorkKey)}
        << QByteArray() << 2 << QByteArray("never from the command line");
    QTest::newRow("remove unknown")
        << QStringList {QStringLiteral("keys"), QStringLiteral("remove"), QStringLiteral("nope")}
        << QByteArray() << 1 << QByteArray("no upstream key \"nope\"");
    QTest::newRow("test unknown") << QStringList {QStringLiteral("keys"), QStringLiteral("test"),
                                                  QStringLiteral("nope")}
                                  << QByteArray() << 1 << QByteArray("no upstream key \"nope\"");
    QTest::newRow("unknown action") << QStringList {QStringLiteral("keys"), QStringLiteral("show")}
                                    << QByteArray() << 2 << QByteArray("keys takes add ALIAS");
}

void tst_KeysCommand::refusesBadInput()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, input);
    QFETCH(int, exitCode);
    QFETCH(QByteArray, message);
    const Run run = tollgate(arguments, input);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.errors.contains(message), run.errors.constData());
    QVERIFY(!run.errors.contains(kWorkKey) && !run.out.contains(kWorkKey));
    QVERIFY(!everythingWritten().contains(kWorkKey));
}

QTEST_GUILESS_MAIN(tst_KeysCommand)
#include "tst_KeysCommand.moc"
