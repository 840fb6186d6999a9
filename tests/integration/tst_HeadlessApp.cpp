// The tollgate executable as a user runs it: options, the two export lines, a line per
// request, a private generated key, and a clean stop on SIGTERM/SIGINT.
#include "MockUpstream.h"
#include "TestClient.h"

#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>

using namespace tollgate::test;

class tst_HeadlessApp final : public QObject
{
    Q_OBJECT

private slots:
    void printsVersionAndHelp();
    void rejectsBadArguments_data();
    void rejectsBadArguments();
    void printsSetupLinesServesAndStopsOnSignal_data();
    void printsSetupLinesServesAndStopsOnSignal();
    void keepsGeneratedKeyPrivateAndStable();
    void exitsWithErrorWhenPortIsTaken();

private:
    static QString binary() { return QStringLiteral(TOLLGATE_BINARY); }
    static bool waitFinished(QProcess &process, int timeoutMs)
    {
        return QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, timeoutMs);
    }
};

void tst_HeadlessApp::printsVersionAndHelp()
{
    QProcess version;
    version.start(binary(), {QStringLiteral("--version")});
    QVERIFY(waitFinished(version, 5000));
    QCOMPARE(version.exitCode(), 0);
    QVERIFY(version.readAllStandardOutput().startsWith("tollgate " TOLLGATE_VERSION));
    QProcess help;
    help.start(binary(), {QStringLiteral("--help")});
    QVERIFY(waitFinished(help, 5000));
    QCOMPARE(help.exitCode(), 0);
    const QByteArray text = help.readAllStandardOutput();
    for (const char *option : {"--headless", "--port", "--listen", "--upstream", "--virtual-key",
                               "--passthrough-auth", "--first-byte-timeout", "--idle-timeout"})
        QVERIFY2(text.contains(option), option);
}

void tst_HeadlessApp::rejectsBadArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::newRow("unknown option") << QStringList {QStringLiteral("--frobnicate")};
    QTest::newRow("bad port") << QStringList {QStringLiteral("--port"), QStringLiteral("70000")};
    QTest::newRow("bad listen") << QStringList {QStringLiteral("--listen"),
                                                QStringLiteral("localhost:1")};
    QTest::newRow("bad timeout") << QStringList {QStringLiteral("--idle-timeout"),
                                                 QStringLiteral("-1")};
    QTest::newRow("positional") << QStringList {QStringLiteral("extra")};
}

void tst_HeadlessApp::rejectsBadArguments()
{
    QFETCH(QStringList, arguments);
    QProcess process;
    process.start(binary(), arguments);
    QVERIFY(waitFinished(process, 5000));
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(process.readAllStandardError().contains("tollgate:"));
}

void tst_HeadlessApp::printsSetupLinesServesAndStopsOnSignal_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void tst_HeadlessApp::printsSetupLinesServesAndStopsOnSignal()
{
    QFETCH(int, signalNumber);
    MockUpstream mock;
    QVERIFY(mock.listen());
    QTemporaryDir home;
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QStringLiteral("sk-ant-api03-from-env"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.path());
    process.setProcessEnvironment(env);
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0"),
                   QStringLiteral("--upstream"), QString::fromLatin1(mock.baseUrl()),
                   QStringLiteral("--virtual-key"), QStringLiteral("tg-cli-0123456789abcdef")});
    QByteArray out;
    QVERIFY(QTest::qWaitFor(
        [&] {
            out += process.readAllStandardOutput();
            return out.contains("ANTHROPIC_API_KEY");
        },
        5000));
    const QRegularExpressionMatch match =
        QRegularExpression(
            QStringLiteral("export ANTHROPIC_BASE_URL=http://127\\.0\\.0\\.1:(\\d+)\n"
                           "export ANTHROPIC_API_KEY=tg-cli-0123456789abcdef\n"))
            .match(QString::fromUtf8(out));
    QVERIFY2(match.hasMatch(), out.constData());
    const quint16 port = quint16(match.captured(1).toUInt());

    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages?beta=true",
                {{"x-api-key", "tg-cli-0123456789abcdef"}, {"x-claude-code-session-id", "sess-1"}},
                "{}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(mock.requests().first().header("x-api-key"), QByteArray("sk-ant-api03-from-env"));
    QVERIFY(QTest::qWaitFor(
        [&] {
            out += process.readAllStandardOutput();
            return out.contains("POST /v1/messages?beta=true 200");
        },
        3000));
    QVERIFY(out.contains("session=sess-1"));
    // Neither key ever shows up in the log.
    QVERIFY(!out.contains("sk-ant-api03-from-env"));

    ::kill(pid_t(process.processId()), signalNumber);
    QVERIFY(waitFinished(process, 3000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(process.readAllStandardError().contains("stopping"));
}

void tst_HeadlessApp::keepsGeneratedKeyPrivateAndStable()
{
    QTemporaryDir home;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.path());
    QByteArray keys[2];
    for (QByteArray &key : keys) {
        QProcess process;
        process.setProcessEnvironment(env);
        process.start(
            binary(),
            {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0")});
        QByteArray out;
        QVERIFY(QTest::qWaitFor(
            [&] {
                out += process.readAllStandardOutput();
                return out.contains("ANTHROPIC_API_KEY=");
            },
            5000));
        key = QRegularExpression(QStringLiteral("ANTHROPIC_API_KEY=(tg-local-[0-9a-f]{48})\n"))
                  .match(QString::fromUtf8(out))
                  .captured(1)
                  .toLatin1();
        process.terminate();
        QVERIFY(waitFinished(process, 3000));
    }
    QVERIFY(!keys[0].isEmpty());
    QCOMPARE(keys[1], keys[0]);
    const QString path = home.path() + QStringLiteral("/Tollgate/tollgate/virtual-key");
    QVERIFY2(QFile::exists(path), qPrintable(path));
    const QFileDevice::Permissions others = QFileDevice::ReadGroup | QFileDevice::WriteGroup
        | QFileDevice::ReadOther | QFileDevice::WriteOther;
    QCOMPARE(QFile::permissions(path) & others, QFileDevice::Permissions());
}

void tst_HeadlessApp::exitsWithErrorWhenPortIsTaken()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    QProcess process;
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--port"),
                   QString::number(squatter.serverPort()), QStringLiteral("--virtual-key"),
                   QStringLiteral("tg-cli-0123456789abcdef")});
    QVERIFY(waitFinished(process, 5000));
    QCOMPARE(process.exitCode(), 1);
    QVERIFY(process.readAllStandardError().contains("cannot listen"));
}

QTEST_GUILESS_MAIN(tst_HeadlessApp)
#include "tst_HeadlessApp.moc"
