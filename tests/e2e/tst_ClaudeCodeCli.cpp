// The real Claude Code CLI (npm @anthropic-ai/claude-code) completing a two-turn tool loop
// through Tollgate: the mock model asks for a Bash `echo`, Claude Code runs it and sends
// the result back, and the mock answers with text.
#include "GatewayHarness.h"
#include "MockUpstream.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kMarker = "tollgate-e2e-marker-5931";

QByteArray startEvent(const QByteArray &model)
{
    return "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_e2e\",\"type\":\"message\","
           "\"role\":\"assistant\",\"model\":\""
        + model
        + "\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
          "{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
          "\"output_tokens\":1}}}";
}

MockResponse streamOf(const QByteArray &model, const QByteArray &block, const QByteArray &delta,
                      const QByteArray &stopReason)
{
    MockResponse response;
    response.headers = {{"content-type", "text/event-stream"}, {"request-id", "req_e2e"}};
    response.events = {
        {"message_start", startEvent(model), 0},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":" + block + "}", 0},
        {"ping", "{\"type\":\"ping\"}", 0},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" + delta + "}", 5},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}", 0},
        {"message_delta",
         "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + stopReason
             + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}",
         0},
        {"message_stop", "{\"type\":\"message_stop\"}", 0},
    };
    return response;
}

QByteArray modelOf(const QByteArray &body)
{
    const QByteArray model =
        QJsonDocument::fromJson(body).object().value(QLatin1String("model")).toString().toUtf8();
    return model.isEmpty() ? QByteArray("claude-opus-4-8") : model;
}
} // namespace

class tst_ClaudeCodeCli final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void completesToolLoopThroughTollgate();

private:
    QString m_e2eDir = QStringLiteral(TOLLGATE_E2E_DIR);
};

void tst_ClaudeCodeCli::initTestCase()
{
    QVERIFY2(QFile::exists(m_e2eDir + QStringLiteral("/node_modules/.bin/claude")),
             "Claude Code missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
}

void tst_ClaudeCodeCli::completesToolLoopThroughTollgate()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    int toolUses = 0;
    mock.setHandler([&toolUses](const MockRequest &request) {
        if (!request.target.startsWith("/v1/messages?") && request.target != "/v1/messages") {
            MockResponse notFound;
            notFound.status = 404;
            notFound.body = MockUpstream::errorBody("not_found_error", "no");
            return notFound;
        }
        const QByteArray model = modelOf(request.body);
        const bool isMainLoop = request.body.contains("\"name\":\"Bash\"");
        if (isMainLoop && !request.body.contains("\"tool_result\"")) {
            ++toolUses;
            return streamOf(
                model,
                "{\"type\":\"tool_use\",\"id\":\"toolu_e2e1\",\"name\":\"Bash\",\"input\":{}}",
                "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\": \\\"echo "
                    + kMarker + "\\\", \\\"description\\\": \\\"Print marker\\\"}\"}",
                "tool_use");
        }
        const QByteArray text = isMainLoop ? "Done: the command printed the marker." : "Echo test";
        return streamOf(model, "{\"type\":\"text\",\"text\":\"\"}",
                        "{\"type\":\"text_delta\",\"text\":\"" + text + "\"}", "end_turn");
    });
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(mock.baseUrl())));

    QTemporaryDir home;
    QTemporaryDir workdir;
    QProcess claude;
    claude.setWorkingDirectory(workdir.path());
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("HOME"), home.path());
    env.insert(QStringLiteral("ANTHROPIC_BASE_URL"),
               QStringLiteral("http://127.0.0.1:%1").arg(gateway.port()));
    env.insert(QStringLiteral("ANTHROPIC_API_KEY"),
               QString::fromLatin1(GatewayHarness::virtualKey()));
    env.insert(QStringLiteral("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), QStringLiteral("1"));
    env.remove(QStringLiteral("ANTHROPIC_AUTH_TOKEN"));
    claude.setProcessEnvironment(env);
    claude.start(m_e2eDir + QStringLiteral("/node_modules/.bin/claude"),
                 {QStringLiteral("-p"), QStringLiteral("run echo"),
                  QStringLiteral("--output-format"), QStringLiteral("json"),
                  QStringLiteral("--allowedTools"), QStringLiteral("Bash(echo:*)")});
    QVERIFY(QTest::qWaitFor([&] { return claude.state() == QProcess::NotRunning; }, 120000));
    const QByteArray output = claude.readAllStandardOutput();
    const QByteArray errors = claude.readAllStandardError();
    QVERIFY2(claude.exitCode() == 0, QByteArray(output + errors).constData());

    const QJsonObject result =
        QJsonDocument::fromJson(output.trimmed().split('\n').last()).object();
    QVERIFY2(!result.isEmpty(), output.constData());
    QCOMPARE(result.value(QLatin1String("is_error")).toBool(), false);
    QCOMPARE(result.value(QLatin1String("result")).toString(),
             QStringLiteral("Done: the command printed the marker."));
    QCOMPARE(toolUses, 1);

    // The second turn carried the tool's real output, so the tool ran.
    const MockRequest *followUp = nullptr;
    for (const MockRequest &request : mock.requests()) {
        if (request.body.contains("\"tool_result\""))
            followUp = &request;
    }
    QVERIFY(followUp);
    QVERIFY(followUp->body.contains(kMarker));
    for (const MockRequest &request : mock.requests()) {
        QCOMPARE(request.header("x-api-key"), GatewayHarness::upstreamKey());
        QVERIFY(request.target.startsWith("/v1/messages"));
        QVERIFY(request.header("anthropic-beta").contains("claude-code-"));
        QVERIFY(!request.header("x-claude-code-session-id").isEmpty());
    }
    QVERIFY(gateway.waitForRecords(mock.requests().size()));
}

QTEST_GUILESS_MAIN(tst_ClaudeCodeCli)
#include "tst_ClaudeCodeCli.moc"
