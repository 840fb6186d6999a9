// Real Anthropic clients routed to an OpenAI-compatible provider: the TypeScript SDK (npm
// @anthropic-ai/sdk) and the Claude Code CLI (npm @anthropic-ai/claude-code) speak Messages
// to Tollgate, a route sends their model to a mock that speaks only chat completions, and
// the clients must not notice: answers, streams, usage and a two-turn tool loop.
#include "ClientRun.h"
#include "GatewayHarness.h"
#include "MockUpstream.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kVendorKey = "sk-vendor-e2e-key-0001";
const QByteArray kMarker = "tollgate-e2e-marker-7716";
const QByteArray kCallId = "call_e2e_bash_1";
const QString kFinalText = QStringLiteral("Done: the command printed the marker.");

QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// The provider's usage: 1200 prompt tokens of which 1000 were cached, 15 completion tokens.
QJsonObject vendorUsage()
{
    return {{QStringLiteral("prompt_tokens"), 1200},
            {QStringLiteral("completion_tokens"), 15},
            {QStringLiteral("total_tokens"), 1215},
            {QStringLiteral("prompt_tokens_details"),
             QJsonObject {{QStringLiteral("cached_tokens"), 1000}}}};
}

QJsonObject chunk(const QString &model, const QJsonArray &choices)
{
    return {{QStringLiteral("id"), QStringLiteral("chatcmpl-e2e")},
            {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
            {QStringLiteral("created"), 1700000000},
            {QStringLiteral("model"), model},
            {QStringLiteral("choices"), choices}};
}

// A chat.completion.chunk stream as OpenAI sends it for stream_options.include_usage: the
// deltas, a chunk with the finish_reason, a usage chunk with no choices, then [DONE].
MockResponse chatStream(const QString &model, const QList<QJsonObject> &deltas,
                        const QString &finishReason)
{
    MockResponse response;
    response.headers = {{"content-type", "text/event-stream"}, {"x-request-id", "vendor-req-e2e"}};
    const auto choice = [](const QJsonObject &delta, const QJsonValue &finish) {
        return QJsonArray {QJsonObject {{QStringLiteral("index"), 0},
                                        {QStringLiteral("delta"), delta},
                                        {QStringLiteral("finish_reason"), finish}}};
    };
    for (const QJsonObject &delta : deltas)
        response.events.append(
            {QByteArray(), compact(chunk(model, choice(delta, QJsonValue::Null))), 2});
    response.events.append({QByteArray(), compact(chunk(model, choice({}, finishReason))), 0});
    QJsonObject usage = chunk(model, {});
    usage.insert(QStringLiteral("usage"), vendorUsage());
    response.events.append({QByteArray(), compact(usage), 0});
    response.events.append({QByteArray(), "[DONE]", 0});
    return response;
}

// A whole chat.completion with this assistant message.
MockResponse chatJson(const QString &model, const QJsonObject &message, const QString &finishReason)
{
    MockResponse response;
    response.headers = {{"content-type", "application/json"}, {"x-request-id", "vendor-req-e2e"}};
    response.body =
        compact({{QStringLiteral("id"), QStringLiteral("chatcmpl-e2e")},
                 {QStringLiteral("object"), QStringLiteral("chat.completion")},
                 {QStringLiteral("created"), 1700000000},
                 {QStringLiteral("model"), model},
                 {QStringLiteral("choices"),
                  QJsonArray {QJsonObject {{QStringLiteral("index"), 0},
                                           {QStringLiteral("message"), message},
                                           {QStringLiteral("finish_reason"), finishReason}}}},
                 {QStringLiteral("usage"), vendorUsage()}});
    return response;
}

// The text answer, streamed in pieces or whole as the request asks.
MockResponse textAnswer(const QString &model, bool isStreaming, const QStringList &pieces)
{
    if (!isStreaming) {
        return chatJson(model,
                        {{QStringLiteral("role"), QStringLiteral("assistant")},
                         {QStringLiteral("content"), pieces.join(QString())}},
                        QStringLiteral("stop"));
    }
    QList<QJsonObject> deltas = {{{QStringLiteral("role"), QStringLiteral("assistant")},
                                  {QStringLiteral("content"), QString()}}};
    for (const QString &piece : pieces)
        deltas.append({{QStringLiteral("content"), piece}});
    return chatStream(model, deltas, QStringLiteral("stop"));
}

// A Bash tool call printing the marker, streamed with its arguments in two pieces.
MockResponse bashCall(const QString &model, bool isStreaming)
{
    const QString arguments =
        QStringLiteral("{\"command\": \"echo %1\", \"description\": \"Print the marker\"}")
            .arg(QString::fromLatin1(kMarker));
    const auto call = [](const QString &name, const QString &args) {
        QJsonObject function {{QStringLiteral("arguments"), args}};
        if (!name.isEmpty())
            function.insert(QStringLiteral("name"), name);
        QJsonObject entry {{QStringLiteral("index"), 0}, {QStringLiteral("function"), function}};
        if (!name.isEmpty()) {
            entry.insert(QStringLiteral("id"), QString::fromLatin1(kCallId));
            entry.insert(QStringLiteral("type"), QStringLiteral("function"));
        }
        return QJsonArray {entry};
    };
    if (!isStreaming) {
        QJsonObject entry = call(QStringLiteral("Bash"), arguments).first().toObject();
        entry.remove(QStringLiteral("index"));
        return chatJson(model,
                        {{QStringLiteral("role"), QStringLiteral("assistant")},
                         {QStringLiteral("content"), QJsonValue::Null},
                         {QStringLiteral("tool_calls"), QJsonArray {entry}}},
                        QStringLiteral("tool_calls"));
    }
    const qsizetype half = arguments.indexOf(QLatin1Char(',')) + 1;
    return chatStream(model,
                      {{{QStringLiteral("role"), QStringLiteral("assistant")},
                        {QStringLiteral("content"), QJsonValue::Null},
                        {QStringLiteral("tool_calls"), call(QStringLiteral("Bash"), QString())}},
                       {{QStringLiteral("tool_calls"), call(QString(), arguments.left(half))}},
                       {{QStringLiteral("tool_calls"), call(QString(), arguments.mid(half))}}},
                      QStringLiteral("tool_calls"));
}

MockResponse notFound(const MockRequest &request)
{
    MockResponse response;
    response.status = 404;
    response.headers = {{"content-type", "application/json"}};
    response.body = "{\"error\":{\"message\":\"Unknown path " + request.target
        + "\",\"type\":\"invalid_request_error\",\"code\":null}}";
    return response;
}

// The messages of a chat-completions request with this role.
QList<QJsonObject> messagesWithRole(const QJsonObject &request, const QString &role)
{
    QList<QJsonObject> found;
    for (const QJsonValue &message : request.value(QLatin1String("messages")).toArray()) {
        if (message.toObject().value(QLatin1String("role")).toString() == role)
            found.append(message.toObject());
    }
    return found;
}

// Whether the request offers a tool of this name (OpenAI's {"type":"function","function":{...}}).
bool offersTool(const QJsonObject &request, const QString &name)
{
    for (const QJsonValue &tool : request.value(QLatin1String("tools")).toArray()) {
        if (tool.toObject().value(QLatin1String("function")).toObject().value(QLatin1String("name"))
            == name)
            return true;
    }
    return false;
}

GatewayConfig routedConfig(const QByteArray &anthropicBaseUrl, const QByteArray &vendorBaseUrl,
                           const QString &modelGlob)
{
    GatewayConfig config = GatewayHarness::configFor(anthropicBaseUrl);
    Provider vendor;
    vendor.name = QStringLiteral("vendor");
    vendor.kind = Provider::Kind::OpenAi;
    vendor.auth = Provider::Auth::Bearer;
    vendor.baseUrl = QUrl(QString::fromLatin1(vendorBaseUrl + "/v1"));
    vendor.keys = {{QStringLiteral("vendor-key"), kVendorKey}};
    config.providers = {vendor};
    Route route;
    route.model = modelGlob;
    route.providers = {QStringLiteral("vendor")};
    config.routes = {route};
    return config;
}

int intAt(const QJsonObject &object, const char *parent, const char *name)
{
    return object.value(QLatin1String(parent)).toObject().value(QLatin1String(name)).toInt();
}
} // namespace

class tst_RoutedClients final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void anthropicSdkGetsMessagesFromAnOpenAiProvider();
    void claudeCodeCompletesAToolLoopOnAnOpenAiProvider();
};

void tst_RoutedClients::initTestCase()
{
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("@anthropic-ai/sdk")),
             "Node packages missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("@anthropic-ai/claude-code")),
             "Claude Code missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
}

void tst_RoutedClients::anthropicSdkGetsMessagesFromAnOpenAiProvider()
{
    MockUpstream anthropic;
    MockUpstream vendor;
    QVERIFY(anthropic.listen());
    QVERIFY(vendor.listen());
    vendor.setHandler([](const MockRequest &request) {
        if (request.method != "POST" || request.target != "/v1/chat/completions")
            return notFound(request);
        const QJsonObject body = objectOf(request.body);
        return textAnswer(
            body.value(QLatin1String("model")).toString(),
            body.value(QLatin1String("stream")).toBool(),
            {QStringLiteral("Hello"), QStringLiteral(" from the"), QStringLiteral(" vendor")});
    });
    GatewayHarness gateway;
    QVERIFY(gateway.start(
        routedConfig(anthropic.baseUrl(), vendor.baseUrl(), QStringLiteral("gpt-*"))));

    ClientRun node;
    QVERIFY(node.runNode(QStringLiteral("routed-sdk.mjs"),
                         ClientRun::anthropicEnvironment(gateway.port())));
    QVERIFY2(node.hasSucceeded(), node.errors().constData());
    const QJsonObject out = node.lastJsonLine();
    QVERIFY2(!out.isEmpty(), node.output().constData());

    // messages.create: a proper Message, the vendor's cached tokens split out of the prompt.
    const QJsonObject create = out.value(QLatin1String("create")).toObject();
    QCOMPARE(create.value(QLatin1String("type")).toString(), QStringLiteral("message"));
    QCOMPARE(create.value(QLatin1String("role")).toString(), QStringLiteral("assistant"));
    QCOMPARE(create.value(QLatin1String("model")).toString(), QStringLiteral("gpt-test"));
    QVERIFY(create.value(QLatin1String("id")).toString().startsWith(QLatin1String("msg_")));
    QCOMPARE(create.value(QLatin1String("blocks")).toArray(), QJsonArray {QStringLiteral("text")});
    QCOMPARE(create.value(QLatin1String("text")).toString(),
             QStringLiteral("Hello from the vendor"));
    QCOMPARE(create.value(QLatin1String("stopReason")).toString(), QStringLiteral("end_turn"));
    QCOMPARE(intAt(create, "usage", "input_tokens"), 200);
    QCOMPARE(intAt(create, "usage", "cache_read_input_tokens"), 1000);
    QCOMPARE(intAt(create, "usage", "output_tokens"), 15);

    // messages.stream: Anthropic's event grammar, and finalMessage() with the real usage.
    const QJsonObject stream = out.value(QLatin1String("stream")).toObject();
    const QJsonArray events = stream.value(QLatin1String("events")).toArray();
    QCOMPARE(events.first().toString(), QStringLiteral("message_start"));
    QCOMPARE(events.at(1).toString(), QStringLiteral("content_block_start"));
    QCOMPARE(events.last().toString(), QStringLiteral("message_stop"));
    QCOMPARE(events.at(events.size() - 2).toString(), QStringLiteral("message_delta"));
    QCOMPARE(events.toVariantList().count(QStringLiteral("content_block_delta")), 3);
    QCOMPARE(stream.value(QLatin1String("text")).toString(),
             QStringLiteral("Hello from the vendor"));
    QCOMPARE(stream.value(QLatin1String("finalText")).toString(),
             QStringLiteral("Hello from the vendor"));
    QCOMPARE(stream.value(QLatin1String("blocks")).toArray(), QJsonArray {QStringLiteral("text")});
    QCOMPARE(stream.value(QLatin1String("model")).toString(), QStringLiteral("gpt-test"));
    QCOMPARE(stream.value(QLatin1String("stopReason")).toString(), QStringLiteral("end_turn"));
    QCOMPARE(intAt(stream, "usage", "input_tokens"), 200);
    QCOMPARE(intAt(stream, "usage", "cache_read_input_tokens"), 1000);
    QCOMPARE(intAt(stream, "usage", "output_tokens"), 15);

    // count_tokens: 501 by design, and nothing sent anywhere.
    const QJsonObject count = out.value(QLatin1String("countTokens")).toObject();
    QCOMPARE(count.value(QLatin1String("status")).toInt(), 501);
    QVERIFY(count.value(QLatin1String("message")).toString().contains(QLatin1String("vendor")));

    // What the provider saw: chat completions with its own key, nothing of Anthropic's.
    QCOMPARE(vendor.requests().size(), 2);
    QCOMPARE(anthropic.requests().size(), 0);
    for (const MockRequest &request : vendor.requests()) {
        QCOMPARE(request.method, QByteArray("POST"));
        QCOMPARE(request.target, QByteArray("/v1/chat/completions"));
        QCOMPARE(request.header("authorization"), "Bearer " + kVendorKey);
        QVERIFY(request.header("x-api-key").isNull());
        QVERIFY(request.header("anthropic-version").isNull());
    }
    const QJsonObject first = objectOf(vendor.requests().first().body);
    QCOMPARE(first.value(QLatin1String("model")).toString(), QStringLiteral("gpt-test"));
    const QList<QJsonObject> system = messagesWithRole(first, QStringLiteral("system"));
    QCOMPARE(system.size(), 1);
    QCOMPARE(system.first().value(QLatin1String("content")).toString(),
             QStringLiteral("Be brief."));
    const QJsonObject second = objectOf(vendor.requests().last().body);
    QCOMPARE(second.value(QLatin1String("stream")).toBool(), true);
    QCOMPARE(second.value(QLatin1String("stream_options"))
                 .toObject()
                 .value(QLatin1String("include_usage"))
                 .toBool(),
             true);

    QVERIFY(gateway.waitForRecords(3));
    int routed = 0;
    for (const RequestRecord &record : gateway.records()) {
        QCOMPARE(record.surface, QStringLiteral("anthropic"));
        if (record.target == "/v1/messages/count_tokens") {
            QCOMPARE(record.status, 501);
            continue;
        }
        ++routed;
        QCOMPARE(record.status, 200);
        QCOMPARE(record.provider, QStringLiteral("vendor"));
        QCOMPARE(record.upstreamKeyAlias, QStringLiteral("vendor-key"));
        QCOMPARE(record.usage.inputTokens, 200);
        QCOMPARE(record.usage.cacheReadTokens, 1000);
        QCOMPARE(record.usage.outputTokens, 15);
    }
    QCOMPARE(routed, 2);
}

void tst_RoutedClients::claudeCodeCompletesAToolLoopOnAnOpenAiProvider()
{
    MockUpstream anthropic;
    MockUpstream vendor;
    QVERIFY(anthropic.listen());
    QVERIFY(vendor.listen());
    int toolCalls = 0;
    vendor.setHandler([&toolCalls](const MockRequest &request) {
        if (request.method != "POST" || request.target != "/v1/chat/completions")
            return notFound(request);
        const QJsonObject body = objectOf(request.body);
        const QString model = body.value(QLatin1String("model")).toString();
        const bool isStreaming = body.value(QLatin1String("stream")).toBool();
        // The main loop offers Bash; side requests (titles, summaries) offer no tools.
        const bool isMainLoop = offersTool(body, QStringLiteral("Bash"));
        if (isMainLoop && messagesWithRole(body, QStringLiteral("tool")).isEmpty()) {
            ++toolCalls;
            return bashCall(model, isStreaming);
        }
        if (isMainLoop)
            return textAnswer(
                model, isStreaming,
                {QStringLiteral("Done: the command "), QStringLiteral("printed the marker.")});
        return textAnswer(model, isStreaming, {QStringLiteral("Echo test")});
    });
    QTemporaryDir home;
    QTemporaryDir workdir;
    GatewayHarness gateway;
    QVERIFY(
        gateway.start(routedConfig(anthropic.baseUrl(), vendor.baseUrl(), QStringLiteral("*"))));

    ClientRun claude;
    QVERIFY(claude.runClaudeCode(QStringLiteral("run echo"), QStringLiteral("Bash(echo:*)"),
                                 workdir.path(),
                                 ClientRun::claudeCodeEnvironment(gateway.port(), home.path())));
    QVERIFY2(claude.hasSucceeded(), claude.diagnostics().constData());

    const QJsonObject result = claude.lastJsonLine();
    QVERIFY2(!result.isEmpty(), claude.output().constData());
    QCOMPARE(result.value(QLatin1String("is_error")).toBool(), false);
    QCOMPARE(result.value(QLatin1String("result")).toString(), kFinalText);
    QCOMPARE(toolCalls, 1);

    // Every model went to the provider, as chat completions with the provider's key.
    QVERIFY(vendor.requests().size() >= 2);
    for (const MockRequest &request : vendor.requests()) {
        QCOMPARE(request.target, QByteArray("/v1/chat/completions"));
        QCOMPARE(request.header("authorization"), "Bearer " + kVendorKey);
        QVERIFY(request.header("x-api-key").isNull());
    }
    for (const MockRequest &request : anthropic.requests())
        QVERIFY2(!request.target.startsWith("/v1/messages"), request.target.constData());

    // The second turn carried the call back as tool_calls and the tool's real output as a
    // role "tool" message, so Bash ran.
    const MockRequest *followUp = nullptr;
    for (const MockRequest &request : vendor.requests()) {
        if (!messagesWithRole(objectOf(request.body), QStringLiteral("tool")).isEmpty())
            followUp = &request;
    }
    QVERIFY(followUp);
    const QJsonObject followUpBody = objectOf(followUp->body);
    const QList<QJsonObject> toolMessages = messagesWithRole(followUpBody, QStringLiteral("tool"));
    QCOMPARE(toolMessages.size(), 1);
    QCOMPARE(toolMessages.first().value(QLatin1String("tool_call_id")).toString(),
             QString::fromLatin1(kCallId));
    QVERIFY2(compact(toolMessages.first()).contains(kMarker),
             compact(toolMessages.first()).constData());
    bool hasCall = false;
    for (const QJsonObject &assistant :
         messagesWithRole(followUpBody, QStringLiteral("assistant"))) {
        for (const QJsonValue &call : assistant.value(QLatin1String("tool_calls")).toArray()) {
            const QJsonObject function =
                call.toObject().value(QLatin1String("function")).toObject();
            hasCall = hasCall
                || (call.toObject().value(QLatin1String("id")).toString()
                        == QString::fromLatin1(kCallId)
                    && function.value(QLatin1String("name")).toString() == QLatin1String("Bash")
                    && function.value(QLatin1String("arguments"))
                           .toString()
                           .contains(QString::fromLatin1(kMarker)));
        }
    }
    QVERIFY2(hasCall, followUp->body.constData());

    // The request log: every Messages call served by the provider (token counting is
    // answered 501 by the gateway without asking anyone). Waiting for as many rows of any
    // kind as the provider saw requests could stop at a token count's row while a turn's row
    // was still on its way, so the wait is for the turns' rows.
    const auto turnRows = [&gateway] {
        int rows = 0;
        for (const RequestRecord &record : gateway.records())
            rows += record.target.startsWith("/v1/messages")
                && !record.target.startsWith("/v1/messages/count_tokens");
        return rows;
    };
    QVERIFY(QTest::qWaitFor([&] { return turnRows() >= int(vendor.requests().size()); }, 5000));
    int served = 0;
    for (const RequestRecord &record : gateway.records()) {
        if (record.target.startsWith("/v1/messages/count_tokens")) {
            QCOMPARE(record.status, 501);
        } else if (record.target.startsWith("/v1/messages")) {
            QCOMPARE(record.provider, QStringLiteral("vendor"));
            QCOMPARE(record.status, 200);
            QCOMPARE(record.usage.outputTokens, 15);
            ++served;
        }
    }
    QCOMPARE(served, int(vendor.requests().size()));
}

QTEST_GUILESS_MAIN(tst_RoutedClients)
#include "tst_RoutedClients.moc"
