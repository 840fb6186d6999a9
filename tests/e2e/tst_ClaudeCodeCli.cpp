// The real Claude Code CLI (npm @anthropic-ai/claude-code) completing a two-turn tool loop
// through Tollgate: the mock model asks for a Bash `echo`, Claude Code runs it and sends
// the result back, and the mock answers with text. The cost Claude Code reports for the
// session equals the cost Tollgate recorded for it.
#include "ClientRun.h"
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "store/LedgerStore.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
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
          "{\"input_tokens\":12,\"cache_creation_input_tokens\":300,"
          "\"cache_read_input_tokens\":5000,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,"
          "\"ephemeral_1h_input_tokens\":300},\"output_tokens\":1,"
          "\"service_tier\":\"standard\"}}}";
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
             + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}",
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
};

void tst_ClaudeCodeCli::initTestCase()
{
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("@anthropic-ai/claude-code")),
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
    QTemporaryDir home;
    QTemporaryDir workdir;
    GatewayHarness gateway;
    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    const QString dbPath = home.filePath(QStringLiteral("requests.sqlite"));
    config.store = StoreConfig::sqlite(dbPath);
    QVERIFY(gateway.start(config));

    ClientRun claude;
    QVERIFY(claude.runClaudeCode(QStringLiteral("run echo"), QStringLiteral("Bash(echo:*)"),
                                 workdir.path(),
                                 ClientRun::claudeCodeEnvironment(gateway.port(), home.path())));
    QVERIFY2(claude.hasSucceeded(), claude.diagnostics().constData());

    const QJsonObject result = claude.lastJsonLine();
    QVERIFY2(!result.isEmpty(), claude.output().constData());
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
    QVERIFY(gateway.stop());

    // Claude Code prices the usage it received itself; Tollgate's ledger must agree to the
    // last digit, and attribute every request to the session and the project.
    const QByteArray sessionId = result.value(QLatin1String("session_id")).toString().toUtf8();
    QVERIFY(!sessionId.isEmpty());
    LedgerStore store(StoreConfig::sqlite(dbPath));
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    qint64 recordedPicoUsd = 0;
    int rows = 0;
    QVERIFY(store.forEachRow(0, std::numeric_limits<qint64>::max(), [&](const RequestRecord &row) {
        if (row.target.startsWith("/v1/messages")) {
            ++rows;
            recordedPicoUsd += row.costPicoUsd.value_or(-1'000'000'000'000);
            if (row.sessionId != sessionId)
                qWarning() << "row of another session" << row.sessionId;
        }
        return true;
    }));
    QCOMPARE(rows, int(mock.requests().size()));
    // The HEAD probe carries no session; every API request carries Claude Code's.
    QList<LedgerStore::Totals> bySession =
        store.totals(0, std::numeric_limits<qint64>::max(), LedgerStore::Grouping::Session);
    bySession.removeIf([](const LedgerStore::Totals &t) { return t.key.isEmpty(); });
    QCOMPARE(bySession.size(), 1);
    QCOMPARE(bySession.first().key, QString::fromUtf8(sessionId));
    QCOMPARE(bySession.first().costPicoUsd, recordedPicoUsd);
    // Claude Code adds costs in floating point: compared at a billionth of a dollar.
    const double reported = result.value(QLatin1String("total_cost_usd")).toDouble();
    QVERIFY(reported > 0);
    QCOMPARE(recordedPicoUsd / 1000, qRound64(reported * 1e9));
    QList<LedgerStore::Totals> byProject =
        store.totals(0, std::numeric_limits<qint64>::max(), LedgerStore::Grouping::Project);
    byProject.removeIf([](const LedgerStore::Totals &t) { return t.key.isEmpty(); });
    QCOMPARE(byProject.size(), 1);
    QCOMPARE(QFileInfo(byProject.first().key).canonicalFilePath(),
             QFileInfo(workdir.path()).canonicalFilePath());
}

QTEST_GUILESS_MAIN(tst_ClaudeCodeCli)
#include "tst_ClaudeCodeCli.moc"
