// The tollgate executable as a user runs it: options, the two export lines, a line per
// request, a private generated key, a clean stop on SIGTERM/SIGINT that loses no row of
// the request log, the settings file, and the report and export commands.
#include "MockUpstream.h"
#include "TestClient.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
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
    void poolsUpstreamKeysAndNeverWritesOneDown();
    void refusesBadKeySources_data();
    void refusesBadKeySources();
    void refusesToExposeWithoutConsent_data();
    void refusesToExposeWithoutConsent();
    void servesOtherMachinesWhenAllowed();
    void makesItsDirectoriesPrivate();
    void readsItsSettingsAgainOnHangupWithoutCuttingAStream();

private:
    // Config and data directories of their own: nothing touches the user's real ones.
    static QProcessEnvironment isolated(const QTemporaryDir &home)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
        env.insert(QStringLiteral("XDG_DATA_HOME"), home.filePath(QStringLiteral("data")));
        return env;
    }
    // isolated(), with an upstream key in the environment, for a process that serves.
    static QProcessEnvironment servingEnvironment(const QTemporaryDir &home)
    {
        QProcessEnvironment env = isolated(home);
        env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"),
                   QStringLiteral("sk-ant-api03-from-env"));
        return env;
    }
    static QByteArray runToEnd(const QProcessEnvironment &env, const QStringList &arguments,
                               int *exitCode, QByteArray *errors = nullptr)
    {
        QProcess process;
        process.setProcessEnvironment(env);
        process.start(binary(), arguments);
        if (!waitFinished(process, 20000))
            return {};
        *exitCode = process.exitCode();
        if (errors)
            *errors = process.readAllStandardError();
        return process.readAllStandardOutput();
    }
    static QString binary() { return QStringLiteral(TOLLGATE_BINARY); }
    // What a serving process printed on stdout up to its two export lines (less when they
    // do not come within 5 s).
    static QByteArray waitForSetupLines(QProcess &process)
    {
        QByteArray out;
        const bool hasPrinted = QTest::qWaitFor(
            [&] {
                out += process.readAllStandardOutput();
                return out.contains("ANTHROPIC_API_KEY");
            },
            5000);
        Q_UNUSED(hasPrinted) // the caller checks what came
        return out;
    }
    // The port of the base URL in the setup lines ("…127.0.0.1:PORT" at a line's end).
    static quint16 portIn(const QByteArray &setupLines)
    {
        return quint16(QRegularExpression(QStringLiteral(":(\\d+)\n"))
                           .match(QString::fromUtf8(setupLines))
                           .captured(1)
                           .toUInt());
    }
    // Generous: a first start creates the request log, whose fsyncs take seconds on a
    // busy disk; a process that works finishes long before.
    static bool waitFinished(QProcess &process, int timeoutMs)
    {
        return QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, timeoutMs);
    }
};

void tst_HeadlessApp::printsVersionAndHelp()
{
    QProcess version;
    version.start(binary(), {QStringLiteral("--version")});
    QVERIFY(waitFinished(version, 20000));
    QCOMPARE(version.exitCode(), 0);
    QVERIFY(version.readAllStandardOutput().startsWith("tollgate " TOLLGATE_VERSION));
    QProcess help;
    help.start(binary(), {QStringLiteral("--help")});
    QVERIFY(waitFinished(help, 20000));
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
    QVERIFY(waitFinished(process, 20000));
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
    const QProcessEnvironment env = servingEnvironment(home);
    process.setProcessEnvironment(env);
    // The Messages API's streamed answer, with the usage Claude Code prices at $0.005735.
    mock.setHandler([](const MockRequest &) { return MockUpstream::messageStream(); });
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0"),
                   QStringLiteral("--upstream"), QString::fromLatin1(mock.baseUrl()),
                   QStringLiteral("--virtual-key"), QStringLiteral("tg-cli-0123456789abcdef")});
    QByteArray out = waitForSetupLines(process);
    QVERIFY2(out.contains("ANTHROPIC_API_KEY"), out.constData());
    const QRegularExpressionMatch match =
        QRegularExpression(
            QStringLiteral("export ANTHROPIC_BASE_URL=http://127\\.0\\.0\\.1:(\\d+)\n"
                           "export ANTHROPIC_API_KEY=tg-cli-0123456789abcdef\n"))
            .match(QString::fromUtf8(out));
    QVERIFY2(match.hasMatch(), out.constData());
    const quint16 port = quint16(match.captured(1).toUInt());

    TestClient client;
    client.connectTo(port);
    const QDateTime sentAt = QDateTime::currentDateTimeUtc();
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
        20000));
    QVERIFY(out.contains("session=sess-1"));
    QVERIFY(out.contains("model=claude-opus-4-8"));
    // The line opens with the request's start, in UTC to the millisecond.
    const QRegularExpressionMatch line =
        QRegularExpression(QStringLiteral("^(\\S+) POST /v1/messages\\?beta=true 200"),
                           QRegularExpression::MultilineOption)
            .match(QString::fromUtf8(out));
    QVERIFY2(line.hasMatch(), out.constData());
    QVERIFY2(
        QRegularExpression(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"))
            .match(line.captured(1))
            .hasMatch(),
        qPrintable(line.captured(1)));
    const QDateTime startedAt = QDateTime::fromString(line.captured(1), Qt::ISODateWithMs);
    QVERIFY(startedAt >= sentAt.addMSecs(-1));
    QVERIFY(startedAt <= QDateTime::currentDateTimeUtc());
    QVERIFY2(out.contains("cost=$0.005735"), out.constData());
    // Timings as 1.23ms, 123ms or 12.3s; the sizes in bytes.
    QVERIFY2(
        QRegularExpression(
            QStringLiteral("POST /v1/messages\\?beta=true 200 sse ttfb=(\\d\\.\\d\\dms|\\d{2,4}ms|"
                           "\\d+\\.\\ds) total=(\\d\\.\\d\\dms|\\d{2,4}ms|\\d+\\.\\ds) "
                           "in=[1-9]\\d* out=[1-9]\\d* model="))
            .match(QString::fromUtf8(out))
            .hasMatch(),
        out.constData());
    // Neither key ever shows up in the log.
    QVERIFY(!out.contains("sk-ant-api03-from-env"));

    ::kill(pid_t(process.processId()), signalNumber);
    QVERIFY(waitFinished(process, 20000));
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

void tst_HeadlessApp::poolsUpstreamKeysAndNeverWritesOneDown()
{
    const QByteArray keyA = "sk-ant-api03-pool-key-aaaa-1111-xyz";
    const QByteArray keyB = "sk-ant-api03-pool-key-bbbb-2222-xyz";
    const QByteArray virtualKey = "tg-cli-0123456789abcdef";
    MockUpstream mock;
    QVERIFY(mock.listen());
    mock.setHandler([&](const MockRequest &request) {
        if (request.header("x-api-key") == keyA) {
            MockResponse limited;
            limited.status = 429;
            limited.headers = {{"retry-after", "30"}, {"content-type", "application/json"}};
            limited.body =
                R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})";
            return limited;
        }
        return MockUpstream::messageStream();
    });
    QTemporaryDir home;
    QProcessEnvironment env = isolated(home);
    env.insert(
        QStringLiteral("TOLLGATE_UPSTREAM_KEYS"),
        QStringLiteral("a=%1, b=%2").arg(QString::fromLatin1(keyA), QString::fromLatin1(keyB)));
    QProcess process;
    process.setProcessEnvironment(env);
    // The body log is on: a prompt that quotes the keys must still not write them down.
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0"),
                   QStringLiteral("--upstream"), QString::fromLatin1(mock.baseUrl()),
                   QStringLiteral("--virtual-key"), QString::fromLatin1(virtualKey),
                   QStringLiteral("--body-log-kib"), QStringLiteral("64")});
    QByteArray out = waitForSetupLines(process);
    QVERIFY2(out.contains("ANTHROPIC_API_KEY"), out.constData());
    QByteArray errors;
    const QRegularExpressionMatch match =
        QRegularExpression(QStringLiteral("ANTHROPIC_BASE_URL=http://127\\.0\\.0\\.1:(\\d+)"))
            .match(QString::fromUtf8(out));
    QVERIFY2(match.hasMatch(), out.constData());
    TestClient client;
    client.connectTo(quint16(match.captured(1).toUInt()));
    const QByteArray body = R"({"model":"claude-opus-4-8","stream":true,"messages":[)"
                            R"({"role":"user","content":"keys: )"
        + keyA + " " + keyB + " " + virtualKey + R"("}]})";
    for (int i = 0; i < 3; ++i)
        client.send("POST", "/v1/messages", {{"x-api-key", virtualKey}}, body);
    QVERIFY(client.waitForResponses(3));
    for (const TestClient::Response &response : client.responses())
        QCOMPARE(response.status, 200);
    // Key a answered 429 once and rests for its 30 s; b served all three.
    QList<QByteArray> used;
    for (const MockRequest &request : mock.requests())
        used.append(request.header("x-api-key"));
    QCOMPARE(used, (QList<QByteArray> {keyA, keyB, keyB, keyB}));

    ::kill(pid_t(process.processId()), SIGTERM);
    QVERIFY(waitFinished(process, 20000));
    QCOMPARE(process.exitCode(), 0);
    out += process.readAllStandardOutput();
    errors += process.readAllStandardError();
    QVERIFY2(errors.contains("upstream keys: a, b"), errors.constData());

    // Every file Tollgate wrote (settings, request log with its body log, WAL) and every
    // line it printed: no key in any of them.
    int files = 0;
    QDirIterator it(home.path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        QFile file(it.next());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray content = file.readAll();
        ++files;
        for (const QByteArray &secret : {keyA, keyB, virtualKey})
            QVERIFY2(!content.contains(secret), qPrintable(file.fileName()));
    }
    QVERIFY(files >= 1);
    for (const QByteArray &secret : {keyA, keyB})
        QVERIFY(!out.contains(secret) && !errors.contains(secret));
    // The body log kept the request, redacted.
    int exitCode = -1;
    const QByteArray rows = runToEnd(
        env, {QStringLiteral("export"), QStringLiteral("--format"), QStringLiteral("jsonl")},
        &exitCode);
    QCOMPARE(exitCode, 0);
    QCOMPARE(rows.count('\n'), 3);
    QVERIFY(rows.contains("\"upstream_key\":\"b\""));
}

void tst_HeadlessApp::refusesBadKeySources_data()
{
    QTest::addColumn<QString>("keys");
    QTest::addColumn<QString>("singleKey");
    QTest::addColumn<int>("fileMode"); // 0: no key file
    QTest::addColumn<QString>("message");
    QTest::newRow("empty key") << QStringLiteral("work=") << QString() << 0
                               << QStringLiteral("work");
    QTest::newRow("duplicate alias")
        << QStringLiteral("work=sk-ant-api03-k1-secret-aaa,work=sk-ant-api03-k2-secret-bbb")
        << QString() << 0 << QStringLiteral("work");
    QTest::newRow("both variables") << QStringLiteral("work=sk-ant-api03-k1-secret-aaa")
                                    << QStringLiteral("sk-ant-api03-k2-secret-bbb") << 0
                                    << QStringLiteral("TOLLGATE_UPSTREAM_KEY");
    QTest::newRow("key file others can read")
        << QString() << QString() << 0644 << QStringLiteral("chmod 600");
}

void tst_HeadlessApp::refusesBadKeySources()
{
    QFETCH(QString, keys);
    QFETCH(QString, singleKey);
    QFETCH(int, fileMode);
    QFETCH(QString, message);
    QTemporaryDir home;
    QProcessEnvironment env = isolated(home);
    if (!keys.isEmpty())
        env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEYS"), keys);
    if (!singleKey.isEmpty())
        env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), singleKey);
    QStringList arguments = {QStringLiteral("--headless"), QStringLiteral("--port"),
                             QStringLiteral("0"), QStringLiteral("--virtual-key"),
                             QStringLiteral("tg-cli-0123456789abcdef")};
    if (fileMode != 0) {
        const QString path = home.filePath(QStringLiteral("keys"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("work=sk-ant-api03-k1-secret-aaa\n");
        file.close();
        QVERIFY(QFile::setPermissions(
            path,
            QFileDevice::Permissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                     | QFileDevice::ReadGroup | QFileDevice::ReadOther)));
        arguments << QStringLiteral("--key-file") << path;
    }
    int exitCode = -1;
    QByteArray errors;
    runToEnd(env, arguments, &exitCode, &errors);
    QCOMPARE(exitCode, 2);
    QVERIFY2(errors.contains(message.toUtf8()), errors.constData());
    QVERIFY2(!errors.contains("secret-aaa") && !errors.contains("secret-bbb"), errors.constData());
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
                 " \"budget\": {\"daily_usd\": 0.00004},"
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
    QByteArray out = waitForSetupLines(process);
    QVERIFY2(out.contains("ANTHROPIC_API_KEY"), out.constData());
    const quint16 port = portIn(out);
    QVERIFY(port > 1);
    mock.setHandler([](const MockRequest &) { return MockUpstream::messageJson("house-model"); });
    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages", {{"x-api-key", "tg-cli-0123456789abcdef"}},
                "{\"model\":\"house-model\"}");
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    // The file's daily budget of $0.00004: the second request ($0.000026 each) uses it up,
    // and the third is refused in a way Claude Code does not retry.
    client.send("POST", "/v1/messages", {{"x-api-key", "tg-cli-0123456789abcdef"}},
                "{\"model\":\"house-model\"}");
    QVERIFY(client.waitForResponses(2));
    QCOMPARE(client.responses().at(1).status, 200);
    QByteArray err;
    QVERIFY(QTest::qWaitFor(
        [&] {
            err += process.readAllStandardError();
            return err.contains("budget");
        },
        10000));
    QVERIFY2(err.contains("The daily budget of $0.00004") && err.contains("is used up"),
             err.constData());
    client.send("POST", "/v1/messages", {{"x-api-key", "tg-cli-0123456789abcdef"}},
                "{\"model\":\"house-model\"}");
    QVERIFY(client.waitForResponses(3));
    QCOMPARE(client.responses().at(2).status, 429);
    QCOMPARE(client.responses().at(2).header("x-should-retry"), QByteArray("false"));
    QCOMPARE(mock.requests().size(), 2);
    process.terminate();
    QVERIFY(waitFinished(process, 20000));
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
        QVERIFY(waitFinished(process, 20000));
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
    QVERIFY(waitFinished(process, 20000));
    QCOMPARE(process.exitCode(), 1);
    QVERIFY(process.readAllStandardError().contains("cannot listen"));
}

void tst_HeadlessApp::refusesToExposeWithoutConsent_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("settings"); // empty: no settings file
    QTest::addColumn<QByteArray>("named");
    const QString remote = QStringLiteral("0.0.0.0");
    QTest::newRow("listen on all") << QStringList {QStringLiteral("--listen"), remote}
                                   << QByteArray() << QByteArray("--allow-remote");
    QTest::newRow("listen on a lan address")
        << QStringList {QStringLiteral("--listen"), QStringLiteral("192.0.2.10")} << QByteArray()
        << QByteArray("--allow-remote");
    QTest::newRow("settings file listens on all")
        << QStringList() << QByteArray("{\"listen\": \"0.0.0.0\"}") << QByteArray("--allow-remote");
    QTest::newRow("remote with passthrough")
        << QStringList {QStringLiteral("--listen"), remote, QStringLiteral("--allow-remote"),
                        QStringLiteral("--passthrough-auth")}
        << QByteArray() << QByteArray("--passthrough-auth");
    QTest::newRow("settings: remote with passthrough")
        << QStringList()
        << QByteArray("{\"listen\": \"::\", \"allow_remote\": true, \"passthrough_auth\": true}")
        << QByteArray("passthrough");
    QTest::newRow("bad allowed host")
        << QStringList {QStringLiteral("--allowed-host"), QStringLiteral("not a host")}
        << QByteArray() << QByteArray("--allowed-host");
}

void tst_HeadlessApp::refusesToExposeWithoutConsent()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, settings);
    QFETCH(QByteArray, named);
    QTemporaryDir home;
    if (!settings.isEmpty()) {
        QFile file(home.filePath(QStringLiteral("settings.json")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(settings);
        arguments << QStringLiteral("--config") << file.fileName();
    }
    arguments << QStringLiteral("--headless") << QStringLiteral("--port") << QStringLiteral("0")
              << QStringLiteral("--virtual-key") << QStringLiteral("tg-cli-0123456789abcdef");
    int exitCode = -1;
    QByteArray errors;
    const QByteArray out = runToEnd(isolated(home), arguments, &exitCode, &errors);
    QCOMPARE(exitCode, 2);
    QVERIFY2(errors.contains(named), errors.constData());
    QVERIFY(!out.contains("ANTHROPIC_BASE_URL"));
}

void tst_HeadlessApp::servesOtherMachinesWhenAllowed()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    QTemporaryDir home;
    QProcess process;
    process.setProcessEnvironment(servingEnvironment(home));
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--listen"),
                   QStringLiteral("0.0.0.0"), QStringLiteral("--allow-remote"),
                   QStringLiteral("--allowed-host"), QStringLiteral("gw.team.example"),
                   QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--upstream"),
                   QString::fromLatin1(mock.baseUrl()), QStringLiteral("--virtual-key"),
                   QStringLiteral("tg-cli-0123456789abcdef")});
    const QByteArray out = waitForSetupLines(process);
    const quint16 port = quint16(QRegularExpression(QStringLiteral("ANTHROPIC_BASE_URL=http://"
                                                                   "127\\.0\\.0\\.1:(\\d+)\n"))
                                     .match(QString::fromUtf8(out))
                                     .captured(1)
                                     .toUInt());
    QVERIFY2(port > 0, out.constData());
    QByteArray errors;
    QVERIFY(QTest::qWaitFor(
        [&] {
            errors += process.readAllStandardError();
            return errors.contains("reachable from other machines");
        },
        5000));
    QVERIFY2(errors.contains("gw.team.example"), errors.constData());
    const QList<QPair<QByteArray, int>> hosts = {
        {"gw.team.example", 200},
        {"gw.team.example:" + QByteArray::number(port), 200},
        {"rebind.attacker.example", 421}};
    for (const auto &[host, status] : hosts) {
        TestClient client;
        client.connectTo(port);
        client.send("POST", "/v1/messages",
                    {{"Host", host}, {"x-api-key", "tg-cli-0123456789abcdef"}}, "{}");
        QVERIFY(client.waitForResponses(1));
        QVERIFY2(client.responses().first().status == status, host.constData());
    }
    QCOMPARE(mock.requests().size(), 2);
    process.terminate();
    QVERIFY(waitFinished(process, 20000));
    QCOMPARE(process.exitCode(), 0);
}

void tst_HeadlessApp::makesItsDirectoriesPrivate()
{
    // An older version left its directories and key readable by everyone.
    QTemporaryDir home;
    const QString configDir = home.filePath(QStringLiteral("config/Tollgate/tollgate"));
    const QString dataDir = home.filePath(QStringLiteral("data/Tollgate/tollgate"));
    const QFileDevice::Permissions open = QFileDevice::ReadOwner | QFileDevice::WriteOwner
        | QFileDevice::ExeOwner | QFileDevice::ReadGroup | QFileDevice::ExeGroup
        | QFileDevice::ReadOther | QFileDevice::ExeOther;
    QVERIFY(QDir().mkpath(configDir) && QDir().mkpath(dataDir));
    QVERIFY(QFile::setPermissions(configDir, open) && QFile::setPermissions(dataDir, open));
    QFile key(configDir + QStringLiteral("/virtual-key"));
    QVERIFY(key.open(QIODevice::WriteOnly));
    key.write("tg-local-0123456789abcdef0123456789abcdef0123456789abcdef\n");
    key.close();
    QVERIFY(key.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner
                               | QFileDevice::ReadGroup | QFileDevice::ReadOther));
    QProcess process;
    process.setProcessEnvironment(isolated(home));
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--port"), QStringLiteral("0")});
    const QByteArray out = waitForSetupLines(process);
    QVERIFY2(out.contains("ANTHROPIC_API_KEY"), out.constData());
    const QString database = dataDir + QStringLiteral("/requests.sqlite");
    QVERIFY(QTest::qWaitFor([&] { return QFile::exists(database); }, 10000));
    process.terminate();
    QVERIFY(waitFinished(process, 20000));
    const QFileDevice::Permissions others = QFileDevice::ReadGroup | QFileDevice::WriteGroup
        | QFileDevice::ExeGroup | QFileDevice::ReadOther | QFileDevice::WriteOther
        | QFileDevice::ExeOther;
    for (const QString &path : {configDir, dataDir, key.fileName(), database})
        QVERIFY2((QFile::permissions(path) & others) == 0, qPrintable(path));
}

// A team server edits its settings file and runs "systemctl reload" (SIGHUP): the stream in
// flight ends whole, requests from then on go where the new file says, and a broken file
// changes nothing.
void tst_HeadlessApp::readsItsSettingsAgainOnHangupWithoutCuttingAStream()
{
    MockUpstream before;
    QVERIFY(before.listen());
    MockUpstream after;
    QVERIFY(after.listen());
    QTemporaryDir home;
    const QString settings = home.filePath(QStringLiteral("settings.json"));
    const auto writeSettings = [&settings](const QByteArray &text) {
        QFile file(settings);
        return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
            && file.write(text) == text.size();
    };
    QVERIFY(writeSettings("{\"upstream\": \"" + before.baseUrl() + "\"}"));
    QProcess process;
    process.setProcessEnvironment(servingEnvironment(home));
    process.start(binary(),
                  {QStringLiteral("--headless"), QStringLiteral("--config"), settings,
                   QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--virtual-key"),
                   QStringLiteral("tg-cli-0123456789abcdef")});
    const QByteArray out = waitForSetupLines(process);
    QVERIFY2(out.contains("ANTHROPIC_API_KEY"), out.constData());
    const quint16 port = portIn(out);
    QVERIFY(port > 0);
    const TestClient::Headers headers = {{"x-api-key", "tg-cli-0123456789abcdef"},
                                         {"content-type", "application/json"}};
    // The status of a request on a new connection; 0 when no answer came.
    const auto post = [&headers, port] {
        TestClient client;
        client.connectTo(port);
        client.send("POST", "/v1/messages", headers, "{}");
        return client.waitForResponses(1) ? client.responses().first().status : 0;
    };
    before.enqueue(MockUpstream::messageStream("claude-opus-4-8", 20, 25));
    TestClient streaming;
    streaming.connectTo(port);
    streaming.send("POST", "/v1/messages", headers,
                   R"({"model":"claude-opus-4-8","stream":true,"messages":[]})");
    QVERIFY(streaming.waitUntil([&] { return streaming.partialResponse() != nullptr; }));

    QVERIFY(writeSettings("{\"upstream\": \"" + after.baseUrl() + "\"}"));
    ::kill(pid_t(process.processId()), SIGHUP);
    QByteArray err;
    const auto waitForError = [&process, &err](const char *text) {
        return QTest::qWaitFor(
            [&] {
                err += process.readAllStandardError();
                return err.contains(text);
            },
            5000);
    };
    QVERIFY2(waitForError("new settings in use"), err.constData());
    QVERIFY(err.contains(QByteArray(QByteArray("upstream ") + after.baseUrl())));
    QCOMPARE(post(), 200);
    QCOMPARE(after.requests().size(), 1);
    QVERIFY(streaming.waitForResponses(1, 5000));
    QVERIFY(streaming.responses().first().complete);
    QCOMPARE(streaming.responses().first().body.count("event: content_block_delta"), 20);
    QCOMPARE(before.requests().size(), 1);

    // A broken file: said so, and the process serves on with what it had.
    QVERIFY(writeSettings("{\"upstream\": "));
    ::kill(pid_t(process.processId()), SIGHUP);
    QVERIFY2(waitForError("not read again"), err.constData());
    QCOMPARE(post(), 200);
    QCOMPARE(after.requests().size(), 2);
    QCOMPARE(process.state(), QProcess::Running);
    process.terminate();
    QVERIFY(waitFinished(process, 20000));
    QCOMPARE(process.exitCode(), 0);
}

QTEST_GUILESS_MAIN(tst_HeadlessApp)
#include "tst_HeadlessApp.moc"
