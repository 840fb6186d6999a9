// The official OpenAI TypeScript SDK (npm openai) through Tollgate's /v1/chat/completions to
// an upstream that speaks only Anthropic Messages: text, a streamed tool call assembled by
// the SDK, the tool's result sent back, the model list, a wrong key, and the request log.
#include "ClientRun.h"
#include "GatewayHarness.h"
#include "MockUpstream.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <algorithm>
#include <memory>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kToolId = "toolu_e2e_weather_01";
// The tool input as the mock streams it: split inside a key and inside a string value.
const QList<QByteArray> kInputPieces = {"{\"city\": \"Pa", "ris\", \"un", "it\": \"c\"}"};
const QByteArray kFinalText = "It is 18 degrees and sunny in Paris.";

QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

QByteArray jsonString(const QByteArray &text)
{
    const QByteArray array = QJsonDocument(QJsonArray {QString::fromUtf8(text)})
                                 .toJson(QJsonDocument::Compact); // ["..."]
    return array.mid(1, array.size() - 2);
}

// An Anthropic stream that says a few words, then calls get_weather with its input in
// input_json_delta pieces, and stops for the tool.
MockResponse toolUseStream(const QByteArray &model)
{
    MockResponse response;
    response.headers = {{"content-type", "text/event-stream"}, {"request-id", "req_e2e_tool"}};
    response.events = {
        {"message_start",
         "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_e2e_tool\",\"type\":\"message\","
         "\"role\":\"assistant\",\"model\":\""
             + model
             + "\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
               "\"input_tokens\":310,\"cache_creation_input_tokens\":0,"
               "\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}",
         0},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
         "\"text\":\"\"}}",
         0},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
         "\"text\":\"Checking.\"}}",
         0},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}", 0},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
         "\"id\":\""
             + kToolId + "\",\"name\":\"get_weather\",\"input\":{}}}",
         0},
        {"ping", "{\"type\":\"ping\"}", 0},
    };
    for (const QByteArray &piece : kInputPieces) {
        response.events.append({"content_block_delta",
                                "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
                                "\"input_json_delta\",\"partial_json\":"
                                    + jsonString(piece) + "}}",
                                5});
    }
    response.events.append(
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}", 0});
    response.events.append({"message_delta",
                            "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
                            "\"stop_sequence\":null},\"usage\":{\"output_tokens\":23}}",
                            0});
    response.events.append({"message_stop", "{\"type\":\"message_stop\"}", 0});
    return response;
}

// Anthropic's answers: the tool call for a streamed request with tools, the final text once
// the tool's result came back, plain text otherwise.
MockResponse answer(const MockRequest &request)
{
    if (request.method == "GET" && request.target.startsWith("/v1/models")) {
        MockResponse list;
        list.headers = {{"content-type", "application/json"}};
        list.body = "{\"data\":[{\"type\":\"model\",\"id\":\"claude-opus-4-8\",\"display_name\":"
                    "\"Claude Opus 4.8\",\"created_at\":\"2026-01-01T00:00:00Z\"},{\"type\":"
                    "\"model\",\"id\":\"claude-haiku-4-5\",\"display_name\":\"Claude Haiku "
                    "4.5\",\"created_at\":\"2025-10-01T00:00:00Z\"}],\"has_more\":false,"
                    "\"first_id\":\"claude-opus-4-8\",\"last_id\":\"claude-haiku-4-5\"}";
        return list;
    }
    if (request.method != "POST" || request.target != "/v1/messages") {
        MockResponse notFound;
        notFound.status = 404;
        notFound.body = MockUpstream::errorBody("not_found_error", "no");
        return notFound;
    }
    const QJsonObject body = objectOf(request.body);
    const QByteArray model = body.value(QLatin1String("model")).toString().toUtf8();
    const bool isStreaming = body.value(QLatin1String("stream")).toBool();
    if (request.body.contains("\"tool_result\""))
        return MockUpstream::messageJson(model, MockUsage {350, 0, 0, 2000, 11}, kFinalText);
    if (isStreaming && body.contains(QLatin1String("tools")))
        return toolUseStream(model);
    if (isStreaming)
        return MockUpstream::messageStream(model);
    return MockUpstream::messageJson(model, MockUsage {21, 0, 0, 400, 9}, "Hello from the mock");
}

QJsonObject member(const QJsonObject &object, const char *path)
{
    QJsonObject current = object;
    for (const QByteArray &name : QByteArray(path).split('.'))
        current = current.value(QLatin1String(name)).toObject();
    return current;
}
} // namespace

class tst_OpenAiSdk final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void answersTextAsChatCompletion();
    void sendsTheRequestAsAnthropicMessages();
    void streamsAToolCallIntact();
    void sdkAccumulatorAgreesOnTheToolCall();
    void carriesTheToolResultBack();
    void listsModelsInOpenAiShape();
    void refusesAWrongKey();
    void logsTheOpenAiSurfaceAndTokens();
    void cleanupTestCase();

private:
    std::unique_ptr<MockUpstream> m_mock;
    std::unique_ptr<GatewayHarness> m_gateway;
    QJsonObject m_out; // what the script printed
};

void tst_OpenAiSdk::initTestCase()
{
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("openai")),
             "Node packages missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
    m_mock = std::make_unique<MockUpstream>();
    QVERIFY(m_mock->listen());
    m_mock->setHandler(answer);
    m_gateway = std::make_unique<GatewayHarness>();
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));

    ClientRun node;
    QVERIFY(node.runNode(QStringLiteral("openai-client.mjs"),
                         ClientRun::openAiEnvironment(m_gateway->port())));
    QVERIFY2(node.hasSucceeded(), node.errors().constData());
    m_out = node.lastJsonLine();
    QVERIFY2(!m_out.isEmpty(), node.output().constData());
    // Five calls reach Anthropic; the wrong key is refused by the gateway.
    QCOMPARE(m_mock->requests().size(), 5);
    QVERIFY(m_gateway->waitForRecords(5));
}

void tst_OpenAiSdk::answersTextAsChatCompletion()
{
    const QJsonObject create = m_out.value(QLatin1String("create")).toObject();
    QCOMPARE(create.value(QLatin1String("object")).toString(), QStringLiteral("chat.completion"));
    QCOMPARE(create.value(QLatin1String("model")).toString(), QStringLiteral("claude-opus-4-8"));
    QCOMPARE(create.value(QLatin1String("role")).toString(), QStringLiteral("assistant"));
    QCOMPARE(create.value(QLatin1String("text")).toString(), QStringLiteral("Hello from the mock"));
    QCOMPARE(create.value(QLatin1String("finishReason")).toString(), QStringLiteral("stop"));
    const QJsonObject usage = create.value(QLatin1String("usage")).toObject();
    // OpenAI counts cached tokens inside prompt_tokens: 21 uncached + 400 read.
    QCOMPARE(usage.value(QLatin1String("prompt_tokens")).toInt(), 421);
    QCOMPARE(usage.value(QLatin1String("completion_tokens")).toInt(), 9);
    QCOMPARE(usage.value(QLatin1String("total_tokens")).toInt(), 430);
    QCOMPARE(member(usage, "prompt_tokens_details").value(QLatin1String("cached_tokens")).toInt(),
             400);
}

void tst_OpenAiSdk::sendsTheRequestAsAnthropicMessages()
{
    for (const MockRequest &request : m_mock->requests().mid(0, 4)) {
        QCOMPARE(request.target, QByteArray("/v1/messages"));
        QCOMPARE(request.header("x-api-key"), GatewayHarness::upstreamKey());
        QCOMPARE(request.header("anthropic-version"), QByteArray("2023-06-01"));
        QVERIFY(request.header("authorization").isNull()); // the virtual key stays home
    }
    const QJsonObject first = objectOf(m_mock->requests().first().body);
    QCOMPARE(first.value(QLatin1String("model")).toString(), QStringLiteral("claude-opus-4-8"));
    QCOMPARE(first.value(QLatin1String("max_tokens")).toInt(), 64);
    // A string or a list of text blocks (with the gateway's cache marker), either way.
    const QJsonValue system = first.value(QLatin1String("system"));
    QVERIFY(system.toString() == QLatin1String("Be brief.")
            || system.toArray().first().toObject().value(QLatin1String("text"))
                == QLatin1String("Be brief."));
    const QJsonArray messages = first.value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.size(), 1); // the system message left the list
    QCOMPARE(messages.first().toObject().value(QLatin1String("role")).toString(),
             QStringLiteral("user"));

    // The function tool became an Anthropic tool with an input_schema.
    const QJsonObject streamed = objectOf(m_mock->requests().at(1).body);
    QCOMPARE(streamed.value(QLatin1String("stream")).toBool(), true);
    QVERIFY(!streamed.contains(QLatin1String("stream_options")));
    const QJsonObject tool = streamed.value(QLatin1String("tools")).toArray().first().toObject();
    QCOMPARE(tool.value(QLatin1String("name")).toString(), QStringLiteral("get_weather"));
    QCOMPARE(member(tool, "input_schema").value(QLatin1String("required")).toArray(),
             QJsonArray {QStringLiteral("city")});
}

void tst_OpenAiSdk::streamsAToolCallIntact()
{
    const QJsonObject stream = m_out.value(QLatin1String("stream")).toObject();
    QCOMPARE(stream.value(QLatin1String("objects")).toArray(),
             QJsonArray {QStringLiteral("chat.completion.chunk")});
    QCOMPARE(stream.value(QLatin1String("content")).toString(), QStringLiteral("Checking."));
    const QJsonArray calls = stream.value(QLatin1String("toolCalls")).toArray();
    QCOMPARE(calls.size(), 1);
    const QJsonObject call = calls.first().toObject();
    QCOMPARE(call.value(QLatin1String("id")).toString(), QString::fromLatin1(kToolId));
    QCOMPARE(call.value(QLatin1String("type")).toString(), QStringLiteral("function"));
    QCOMPARE(call.value(QLatin1String("name")).toString(), QStringLiteral("get_weather"));
    // Every input_json_delta arrived as its own arguments delta, in order.
    QCOMPARE(call.value(QLatin1String("pieces")).toInt(), int(kInputPieces.size()));
    QCOMPARE(call.value(QLatin1String("arguments")).toString().toUtf8(), kInputPieces.join());
    const QJsonObject arguments =
        objectOf(call.value(QLatin1String("arguments")).toString().toUtf8());
    QCOMPARE(arguments.value(QLatin1String("city")).toString(), QStringLiteral("Paris"));
    QCOMPARE(arguments.value(QLatin1String("unit")).toString(), QStringLiteral("c"));
    QCOMPARE(stream.value(QLatin1String("finishReason")).toString(), QStringLiteral("tool_calls"));

    // include_usage: one usage chunk, the last one.
    const QJsonObject usage = stream.value(QLatin1String("usage")).toObject();
    QCOMPARE(usage.value(QLatin1String("prompt_tokens")).toInt(), 2310);
    QCOMPARE(usage.value(QLatin1String("completion_tokens")).toInt(), 23);
    QCOMPARE(usage.value(QLatin1String("total_tokens")).toInt(), 2333);
    QCOMPARE(member(usage, "prompt_tokens_details").value(QLatin1String("cached_tokens")).toInt(),
             2000);
    QCOMPARE(stream.value(QLatin1String("chunksAfterUsage")).toInt(), 0);
}

void tst_OpenAiSdk::sdkAccumulatorAgreesOnTheToolCall()
{
    const QJsonObject helper = m_out.value(QLatin1String("helper")).toObject();
    QCOMPARE(helper.value(QLatin1String("finishReason")).toString(), QStringLiteral("tool_calls"));
    const QJsonArray calls = helper.value(QLatin1String("toolCalls")).toArray();
    QCOMPARE(calls.size(), 1);
    const QJsonObject call = calls.first().toObject();
    QCOMPARE(call.value(QLatin1String("id")).toString(), QString::fromLatin1(kToolId));
    QCOMPARE(member(call, "function").value(QLatin1String("name")).toString(),
             QStringLiteral("get_weather"));
    QCOMPARE(member(call, "function").value(QLatin1String("arguments")).toString().toUtf8(),
             kInputPieces.join());
    QCOMPARE(member(helper, "usage").value(QLatin1String("completion_tokens")).toInt(), 23);
}

void tst_OpenAiSdk::carriesTheToolResultBack()
{
    const QJsonObject result = m_out.value(QLatin1String("toolResult")).toObject();
    QCOMPARE(result.value(QLatin1String("text")).toString(), QString::fromLatin1(kFinalText));
    QCOMPARE(result.value(QLatin1String("finishReason")).toString(), QStringLiteral("stop"));

    // Anthropic got the assistant's tool_use and the user's tool_result, paired by id.
    const QJsonArray messages =
        objectOf(m_mock->requests().at(3).body).value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.size(), 3);
    const QJsonObject assistant = messages.at(1).toObject();
    QCOMPARE(assistant.value(QLatin1String("role")).toString(), QStringLiteral("assistant"));
    const QJsonObject toolUse =
        assistant.value(QLatin1String("content")).toArray().last().toObject();
    QCOMPARE(toolUse.value(QLatin1String("type")).toString(), QStringLiteral("tool_use"));
    QCOMPARE(toolUse.value(QLatin1String("id")).toString(), QString::fromLatin1(kToolId));
    QCOMPARE(toolUse.value(QLatin1String("name")).toString(), QStringLiteral("get_weather"));
    QCOMPARE(member(toolUse, "input").value(QLatin1String("city")).toString(),
             QStringLiteral("Paris"));
    const QJsonObject user = messages.at(2).toObject();
    QCOMPARE(user.value(QLatin1String("role")).toString(), QStringLiteral("user"));
    const QJsonObject toolResult =
        user.value(QLatin1String("content")).toArray().first().toObject();
    QCOMPARE(toolResult.value(QLatin1String("type")).toString(), QStringLiteral("tool_result"));
    QCOMPARE(toolResult.value(QLatin1String("tool_use_id")).toString(),
             QString::fromLatin1(kToolId));
    QVERIFY(QJsonDocument(toolResult).toJson().contains("18 degrees, sunny"));
}

void tst_OpenAiSdk::listsModelsInOpenAiShape()
{
    const QJsonArray models = m_out.value(QLatin1String("models")).toArray();
    QCOMPARE(models.size(), 2);
    const QJsonObject first = models.first().toObject();
    QCOMPARE(first.value(QLatin1String("id")).toString(), QStringLiteral("claude-opus-4-8"));
    QCOMPARE(first.value(QLatin1String("object")).toString(), QStringLiteral("model"));
    QCOMPARE(first.value(QLatin1String("owned_by")).toString(), QStringLiteral("anthropic"));
    QCOMPARE(first.value(QLatin1String("created")).toInteger(), 1767225600); // 2026-01-01
    QVERIFY(!first.contains(QLatin1String("display_name")));
    QCOMPARE(models.last().toObject().value(QLatin1String("id")).toString(),
             QStringLiteral("claude-haiku-4-5"));

    // Anthropic was asked in its own dialect, with the upstream key.
    const MockRequest &sent = m_mock->requests().at(4);
    QCOMPARE(sent.method, QByteArray("GET"));
    QVERIFY(sent.target.startsWith("/v1/models"));
    QCOMPARE(sent.header("x-api-key"), GatewayHarness::upstreamKey());
    QCOMPARE(sent.header("anthropic-version"), QByteArray("2023-06-01"));
    QVERIFY(sent.header("authorization").isNull());
}

void tst_OpenAiSdk::refusesAWrongKey()
{
    const QJsonObject wrong = m_out.value(QLatin1String("wrongKey")).toObject();
    QCOMPARE(wrong.value(QLatin1String("status")).toInt(), 401);
    QCOMPARE(wrong.value(QLatin1String("name")).toString(), QStringLiteral("AuthenticationError"));
    QVERIFY(!wrong.value(QLatin1String("message")).toString().isEmpty());
}

void tst_OpenAiSdk::logsTheOpenAiSurfaceAndTokens()
{
    QList<RequestRecord> chats;
    for (const RequestRecord &record : m_gateway->records()) {
        if (record.target == "/v1/chat/completions" && record.status == 200)
            chats.append(record);
    }
    QCOMPARE(chats.size(), 4);
    std::sort(chats.begin(), chats.end(),
              [](const RequestRecord &a, const RequestRecord &b) { return a.id < b.id; });
    for (const RequestRecord &record : chats) {
        QCOMPARE(record.surface, QStringLiteral("openai"));
        QCOMPARE(record.provider, QStringLiteral("anthropic"));
        QVERIFY(record.costPicoUsd.has_value());
    }
    // Tokens as Anthropic counted them, not as the OpenAI client saw them.
    QCOMPARE(chats.at(0).usage.inputTokens, 21);
    QCOMPARE(chats.at(0).usage.cacheReadTokens, 400);
    QCOMPARE(chats.at(0).usage.outputTokens, 9);
    QVERIFY(!chats.at(0).isStreaming);
    QVERIFY(chats.at(1).isStreaming);
    QCOMPARE(chats.at(1).usage.inputTokens, 310);
    QCOMPARE(chats.at(1).usage.cacheReadTokens, 2000);
    QCOMPARE(chats.at(1).usage.outputTokens, 23);
    QCOMPARE(chats.at(1).usage.stopReason, QStringLiteral("tool_use"));
    QCOMPARE(chats.at(3).usage.outputTokens, 11);
}

void tst_OpenAiSdk::cleanupTestCase()
{
    if (m_gateway)
        QVERIFY(m_gateway->stop());
}

QTEST_GUILESS_MAIN(tst_OpenAiSdk)
#include "tst_OpenAiSdk.moc"
