// The tollgate executable as a user runs it: options, the two export lines, a line per
// request, a private generated key, a clean stop on SIGTERM/SIGINT that loses no row of
// the request log, the settings file, and the report and export commands.
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
    void readsSettingsFileUnderTheCommandLine();
    void rejectsABrokenSettingsFileNamingTheKey_data();
    void rejectsABrokenSettingsFileNamingTheKey();

private:
    // Config and data directories of their own: nothing touches the user's real ones.
    static QProcessEnvironment isolated(const QTemporaryDir &home)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
        env.insert(QStringLiteral("XDG_DATA_HOME"), home.filePath(QStringLiteral("data")));
        return env;
    }
    static QByteArray runToEnd(const QProcessEnvironment &env, const QStringList &arguments,
                               int *exitCode, QByteArray *errors = nullptr)
    {
        QProcess process;
        process.setProcessEnvironment(env);
        process.start(binary(), arguments);
        if (!waitFinished(process, 10000))
            return {};
        *exitCode = process.exitCode();
        if (errors)
            *errors = process.readAllStandardError();
        return process.readAllStandardOutput();
    }
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
    QTest::newRow("report by nonsense")
        << QStringList {QStringLiteral("report"), QStringLiteral("--by"), QStringLiteral("colour")};
    QTest::newRow("export as xml") << QStringList {
        QStringLiteral("export"), QStringLiteral("--format"), QStringLiteral("xml")};
    QTest::newRow("bad since") << QStringList {QStringLiteral("report"), QStringLiteral("--since"),
                                               QStringLiteral("soon")};
    QTest::newRow("report option without report")
        << QStringList {QStringLiteral("--by"), QStringLiteral("day")};
    QTest::newRow("missing settings file")
        << QStringList {QStringLiteral("--config"), QStringLiteral("/nonexistent/tollgate.json")};
}

void tst_HeadlessApp::rejectsBadArguments()
{
    QFETCH(QStringList, arguments);
    QTemporaryDir home;
    QProcess process;
    process.setProcessEnvironment(isolated(home));
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
    QProcessEnvironment env = isolated(home);
    env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QStringLiteral("sk-ant-api03-from-env"));
    process.setProcessEnvironment(env);
    // The Messages API's streamed answer, with the usage Claude Code prices at $0.005735.
    mock.setHandler([](const MockRequest &) { return MockUpstream::messageStream(); });
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
                "{\"model\":\"claude-opus-4-8\",\"stream\":true}");
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
    QVERIFY(out.contains("model=claude-opus-4-8"));
    QVERIFY2(out.contains("cost=$0.005735"), out.constData());
    // Neither key ever shows up in the log.
    QVERIFY(!out.contains("sk-ant-api03-from-env"));

    ::kill(pid_t(process.processId()), signalNumber);
    QVERIFY(waitFinished(process, 3000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(process.readAllStandardError().contains("stopping"));

    // The row reached the request log in the user's data directory before the exit.
    int exitCode = -1;
    const QByteArray report =
        runToEnd(env, {QStringLiteral("report"), QStringLiteral("--by"), QStringLiteral("session")},
                 &exitCode);
    QCOMPARE(exitCode, 0);
    QVERIFY2(QRegularExpression(QStringLiteral("\\nsess-1 +1 +0 +12 +7 +0 +300 +5000 +0\\.0057 "))
                 .match(QString::fromUtf8(report))
                 .hasMatch(),
             report.constData());
    const QByteArray csv = runToEnd(env, {QStringLiteral("export")}, &exitCode);
    QCOMPARE(exitCode, 0);
    const QList<QByteArray> lines = csv.split('\n');
    QVERIFY2(lines.size() == 3 && lines[0].startsWith("time,request_id,session_id,"),
             csv.constData());
    QVERIFY(lines[1].contains(",sess-1,"));
    QVERIFY(lines[1].contains(",0.005735,"));
    QVERIFY(!csv.contains("sk-ant-api03-from-env"));
    const QByteArray jsonl =
        runToEnd(env,
                 {QStringLiteral("export"), QStringLiteral("--format"), QStringLiteral("jsonl"),
                  QStringLiteral("--since"), QStringLiteral("1h")},
                 &exitCode);
    QCOMPARE(exitCode, 0);
    QCOMPARE(jsonl.count('\n'), 1);
    QVERIFY(jsonl.contains("\"cost_usd\":0.005735,"));
}

void tst_HeadlessApp::readsSettingsFileUnderTheCommandLine()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    QTemporaryDir home;
    const QString settings = home.filePath(QStringLiteral("settings.json"));
    const QString database = home.filePath(QStringLiteral("team.sqlite"));
    QFile file(settings);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("{\"upstream\": \"" + mock.baseUrl()
               + "\", \"port\": 1,"
                 " \"billing_tag\": \"team-a\", \"database\": \""
               + database.toUtf8()
               + "\","
                 " \"prices\": {\"house-model\": {\"input\": \"1\", \"output\": \"2\"}}}");
    file.close();
    QProcess process;
    QProcessEnvironment env = isolated(home);
    env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QStringLiteral("sk-ant-api03-from-env"));
    process.setProcessEnvironment(env);
    // --port on the command line wins over the file's.
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--config"), settings,
                   QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--virtual-key"),
                   QStringLiteral("tg-cli-0123456789abcdef")});
    QByteArray out;
    QVERIFY(QTest::qWaitFor(
        [&] {
            out += process.readAllStandardOutput();
            return out.contains("ANTHROPIC_API_KEY");
        },
        5000));
    const quint16 port = quint16(QRegularExpression(QStringLiteral(":(\\d+)\n"))
                                     .match(QString::fromUtf8(out))
                                     .captured(1)
                                     .toUInt());
    QVERIFY(port > 1);
    mock.setHandler([](const MockRequest &) { return MockUpstream::messageJson("house-model"); });
    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages", {{"x-api-key", "tg-cli-0123456789abcdef"}},
                "{\"model\":\"house-model\"}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    process.terminate();
    QVERIFY(waitFinished(process, 3000));
    QCOMPARE(process.exitCode(), 0);

    int exitCode = -1;
    const QByteArray csv =
        runToEnd(isolated(home), {QStringLiteral("export"), QStringLiteral("--database"), database},
                 &exitCode);
    QCOMPARE(exitCode, 0);
    // The file's own price for its model: 12 input at $1 and 7 output at $2 per million.
    QVERIFY2(csv.contains(",house-model,") && csv.contains(",0.000026,")
                 && csv.contains(",team-a,"),
             csv.constData());
}

void tst_HeadlessApp::rejectsABrokenSettingsFileNamingTheKey_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("not json") << QByteArray("{\"port\": ") << QByteArray("not valid JSON");
    QTest::newRow("unknown key") << QByteArray("{\"prot\": 8787}") << QByteArray("\"prot\"");
    QTest::newRow("wrong type") << QByteArray("{\"port\": \"8787\"}") << QByteArray("\"port\"");
    QTest::newRow("bad timeout") << QByteArray("{\"timeouts\": {\"idle\": -1}}")
                                 << QByteArray("\"timeouts.idle\"");
    QTest::newRow("bad database") << QByteArray("{\"database\": \"mysql://x\"}")
                                  << QByteArray("\"database\"");
    QTest::newRow("bad price") << QByteArray("{\"prices\": {\"m\": {\"input\": \"cheap\"}}}")
                               << QByteArray("price");
}

void tst_HeadlessApp::rejectsABrokenSettingsFileNamingTheKey()
{
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, message);
    QTemporaryDir home;
    const QString settings = home.filePath(QStringLiteral("settings.json"));
    QFile file(settings);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(json);
    file.close();
    int exitCode = -1;
    QByteArray errors;
    runToEnd(isolated(home),
             {QStringLiteral("--headless"), QStringLiteral("--config"), settings,
              QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--virtual-key"),
              QStringLiteral("tg-cli-0123456789abcdef")},
             &exitCode, &errors);
    QVERIFY2(exitCode == 2 || exitCode == 1, errors.constData());
    QVERIFY2(errors.contains(message), errors.constData());
}

void tst_HeadlessApp::keepsGeneratedKeyPrivateAndStable()
{
    QTemporaryDir home;
    const QProcessEnvironment env = isolated(home);
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
    const QString path = home.path() + QStringLiteral("/config/Tollgate/tollgate/virtual-key");
    QVERIFY2(QFile::exists(path), qPrintable(path));
    const QFileDevice::Permissions others = QFileDevice::ReadGroup | QFileDevice::WriteGroup
        | QFileDevice::ReadOther | QFileDevice::WriteOther;
    QCOMPARE(QFile::permissions(path) & others, QFileDevice::Permissions());
}

void tst_HeadlessApp::exitsWithErrorWhenPortIsTaken()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    QTemporaryDir home;
    QProcess process;
    process.setProcessEnvironment(isolated(home));
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
