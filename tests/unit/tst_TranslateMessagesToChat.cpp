#include "translate/MessagesToChat.h"
#include "tst_TranslateGolden.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

Q_DECLARE_METATYPE(tollgate::VendorReasoning)

namespace {

const QString kDirectory = QStringLiteral("anthropic-to-openai/");
// Longer than OpenAI's 64 characters: the vendor sees a shortened name.
const QString kLongToolName =
    QStringLiteral("mcp__workspace_indexer__search_symbols_across_all_repositories_by_fuzzy_name");

QByteArray readClaudeCodeFixture(const QString &name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + name);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

// A minimal valid Messages request with the given members added.
QByteArray request(const QByteArray &members)
{
    return R"({"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}])"
        + (members.isEmpty() ? QByteArray() : "," + members) + "}";
}

QJsonObject translatedBody(const QByteArray &members,
                           const MessagesToChat::Options &options = MessagesToChat::Options())
{
    const MessagesToChat::Request result =
        MessagesToChat::translateRequest(request(members), QString(), options);
    return objectOf(result.body);
}

} // namespace

class tst_TranslateMessagesToChat : public QObject
{
    Q_OBJECT

private slots:
    void translatesRequestsLikeTheGoldens_data();
    void translatesRequestsLikeTheGoldens();
    void translatesResponsesLikeTheGoldens_data();
    void translatesResponsesLikeTheGoldens();
    void refusesBodiesThatAreNotMessagesRequests_data();
    void refusesBodiesThatAreNotMessagesRequests();
    void mapsToolChoice_data();
    void mapsToolChoice();
    void sendsNoToolChoiceWithoutTools();
    void mapsThinkingToReasoningEffort_data();
    void mapsThinkingToReasoningEffort();
    void honoursVendorOptions();
    void mapsStructuredOutputToResponseFormat();
    void asksForUsageOnEveryStream();
    void givesLongToolNamesBackInTheResponse();
    void translatesClaudeCodeToolLoop();
    void pairsEveryToolCallWithItsResult_data();
    void pairsEveryToolCallWithItsResult();
    void reportsResponsesThatAreNotCompletions_data();
    void reportsResponsesThatAreNotCompletions();
};

void tst_TranslateMessagesToChat::translatesRequestsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("modelOverride");
    QTest::newRow("text and sampling")
        << QStringLiteral("request-text") << QStringLiteral("gpt-4.1");
    QTest::newRow("system blocks and mid-conversation system")
        << QStringLiteral("request-system-mid-conversation") << QString();
    QTest::newRow("tools, tool results before the user's text")
        << QStringLiteral("request-tools") << QStringLiteral("gpt-4.1");
    QTest::newRow("images and documents")
        << QStringLiteral("request-images") << QStringLiteral("gpt-4o");
    QTest::newRow("a role OpenAI has but Messages has not")
        << QStringLiteral("request-bad-role") << QString();
}

void tst_TranslateMessagesToChat::translatesRequestsLikeTheGoldens()
{
    QFETCH(QString, name);
    QFETCH(QString, modelOverride);
    const QByteArray input = readGolden(kDirectory + name + QStringLiteral(".in.json"));
    const QJsonObject expected = goldenObject(kDirectory + name + QStringLiteral(".out.json"));
    QVERIFY(!input.isEmpty());
    QVERIFY(!expected.isEmpty());

    const MessagesToChat::Request result = MessagesToChat::translateRequest(input, modelOverride);

    const QString difference =
        requestDifference(expected, result.error, result.body, result.stream, result.dropped);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMessagesToChat::translatesResponsesLikeTheGoldens_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("output");
    QTest::addColumn<bool>("hasLongToolName");
    QTest::addColumn<VendorReasoning>("reasoning");
    QTest::newRow("text, cached tokens in OpenAI's spelling")
        << QStringLiteral("response-text") << QStringLiteral("response-text") << false
        << VendorReasoning::Drop;
    QTest::newRow("tool calls, cached tokens in DeepSeek's spelling")
        << QStringLiteral("response-tool-calls") << QStringLiteral("response-tool-calls") << true
        << VendorReasoning::Drop;
    QTest::newRow("length, reasoning dropped, cache writes")
        << QStringLiteral("response-length") << QStringLiteral("response-length") << false
        << VendorReasoning::Drop;
    QTest::newRow("length, reasoning as thinking")
        << QStringLiteral("response-length") << QStringLiteral("response-length-thinking") << false
        << VendorReasoning::AsThinking;
    QTest::newRow("content filter")
        << QStringLiteral("response-content-filter") << QStringLiteral("response-content-filter")
        << false << VendorReasoning::Drop;
    QTest::newRow("error object with a 2xx")
        << QStringLiteral("response-error-body") << QStringLiteral("response-error-body") << false
        << VendorReasoning::Drop;
}

void tst_TranslateMessagesToChat::translatesResponsesLikeTheGoldens()
{
    QFETCH(QString, input);
    QFETCH(QString, output);
    QFETCH(bool, hasLongToolName);
    QFETCH(VendorReasoning, reasoning);
    const QByteArray body = readGolden(kDirectory + input + QStringLiteral(".in.json"));
    const QJsonObject expected = goldenObject(kDirectory + output + QStringLiteral(".out.json"));
    QVERIFY(!body.isEmpty());
    QVERIFY(!expected.isEmpty());
    ToolNameMap toolNames;
    if (hasLongToolName)
        toolNames.shorten(kLongToolName);

    const MessagesToChat::Response result = MessagesToChat::translateResponse(
        body, QStringLiteral("claude-sonnet-4-5"), toolNames, reasoning);

    const QString difference =
        responseDifference(expected, result.error, result.body, result.usage);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMessagesToChat::refusesBodiesThatAreNotMessagesRequests_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("error");
    QTest::newRow("not JSON") << QByteArray("{\"model\":")
                              << QStringLiteral("The request body is not a JSON object");
    QTest::newRow("an array") << QByteArray("[]")
                              << QStringLiteral("The request body is not a JSON object");
    QTest::newRow("no model") << QByteArray(R"({"max_tokens":1,"messages":[]})")
                              << QStringLiteral("model: Field required");
    QTest::newRow("no messages") << QByteArray(R"({"model":"m","max_tokens":1})")
                                 << QStringLiteral(
                                        "messages: Field required (an array of messages)");
    QTest::newRow("message not an object") << QByteArray(R"({"model":"m","messages":["hi"]})")
                                           << QStringLiteral("messages.0: expected an object");
    QTest::newRow("content a number")
        << QByteArray(R"({"model":"m","messages":[{"role":"user","content":5}]})")
        << QStringLiteral("messages.0.content: expected a string or an array of content blocks");
    QTest::newRow("tool_result without an id") << QByteArray(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]})")
                                               << QStringLiteral("messages.0.content.0.tool_use_id:"
                                                                 " Field required");
    QTest::newRow("tool_use without a name") << QByteArray(
        R"({"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","input":{}}]}]})")
                                             << QStringLiteral(
                                                    "messages.0.content.0.name: Field required");
    QTest::newRow("system a number")
        << QByteArray(R"({"model":"m","system":1,"messages":[]})")
        << QStringLiteral("system: expected a string or an array of text blocks");
    QTest::newRow("tools an object") << QByteArray(R"({"model":"m","tools":{},"messages":[]})")
                                     << QStringLiteral("tools: expected an array");
}

void tst_TranslateMessagesToChat::refusesBodiesThatAreNotMessagesRequests()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, error);
    const MessagesToChat::Request result = MessagesToChat::translateRequest(body, QString());
    QCOMPARE(result.error, error);
    QVERIFY(result.body.isEmpty());
}

void tst_TranslateMessagesToChat::mapsToolChoice_data()
{
    QTest::addColumn<QByteArray>("choice");
    QTest::addColumn<QByteArray>("expected"); // {"tool_choice":...,"parallel_tool_calls":...}
    QTest::newRow("auto") << QByteArray(R"({"type":"auto"})")
                          << QByteArray(R"({"tool_choice":"auto"})");
    QTest::newRow("any is required")
        << QByteArray(R"({"type":"any"})") << QByteArray(R"({"tool_choice":"required"})");
    QTest::newRow("none") << QByteArray(R"({"type":"none"})")
                          << QByteArray(R"({"tool_choice":"none"})");
    QTest::newRow("one tool")
        << QByteArray(R"({"type":"tool","name":"Bash"})")
        << QByteArray(R"({"tool_choice":{"type":"function","function":{"name":"Bash"}}})");
    QTest::newRow("no parallel calls")
        << QByteArray(R"({"type":"auto","disable_parallel_tool_use":true})")
        << QByteArray(R"({"tool_choice":"auto","parallel_tool_calls":false})");
    QTest::newRow("absent") << QByteArray() << QByteArray("{}");
}

void tst_TranslateMessagesToChat::mapsToolChoice()
{
    QFETCH(QByteArray, choice);
    QFETCH(QByteArray, expected);
    QByteArray members = R"("tools":[{"name":"Bash","input_schema":{"type":"object"}}])";
    if (!choice.isEmpty())
        members += ",\"tool_choice\":" + choice;
    const QJsonObject body = translatedBody(members);
    QJsonObject actual;
    for (const QString &key :
         {QStringLiteral("tool_choice"), QStringLiteral("parallel_tool_calls")}) {
        if (body.contains(key))
            actual.insert(key, body.value(key));
    }
    const QString difference = jsonDifference(actual, objectOf(expected));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMessagesToChat::sendsNoToolChoiceWithoutTools()
{
    // OpenAI refuses tool_choice and parallel_tool_calls without tools; a request whose only
    // tool is a server tool has none left.
    const MessagesToChat::Request result = MessagesToChat::translateRequest(
        request(R"("tools":[{"type":"web_search_20250305","name":"web_search"}],)"
                R"("tool_choice":{"type":"any","disable_parallel_tool_use":true})"),
        QString());
    const QJsonObject body = objectOf(result.body);
    QVERIFY(!body.contains(QStringLiteral("tools")));
    QVERIFY(!body.contains(QStringLiteral("tool_choice")));
    QVERIFY(!body.contains(QStringLiteral("parallel_tool_calls")));
    QCOMPARE(result.dropped, QStringList {QStringLiteral("server tool web_search_20250305")});
}

void tst_TranslateMessagesToChat::mapsThinkingToReasoningEffort_data()
{
    QTest::addColumn<QByteArray>("members");
    QTest::addColumn<QString>("effort"); // empty: no reasoning_effort
    QTest::newRow("small budget") << QByteArray(
        R"("thinking":{"type":"enabled","budget_tokens":1024})")
                                  << QStringLiteral("low");
    QTest::newRow("medium budget")
        << QByteArray(R"("thinking":{"type":"enabled","budget_tokens":4096})")
        << QStringLiteral("medium");
    QTest::newRow("large budget") << QByteArray(
        R"("thinking":{"type":"enabled","budget_tokens":16384})")
                                  << QStringLiteral("high");
    QTest::newRow("adaptive, Anthropic's default effort")
        << QByteArray(R"("thinking":{"type":"adaptive"})") << QStringLiteral("high");
    QTest::newRow("effort wins over the budget") << QByteArray(
        R"("thinking":{"type":"enabled","budget_tokens":30000},"output_config":{"effort":"low"})")
                                                 << QStringLiteral("low");
    QTest::newRow("max effort") << QByteArray(R"("output_config":{"effort":"max"})")
                                << QStringLiteral("high");
    QTest::newRow("disabled") << QByteArray(R"("thinking":{"type":"disabled"})") << QString();
    QTest::newRow("absent") << QByteArray() << QString();
}

void tst_TranslateMessagesToChat::mapsThinkingToReasoningEffort()
{
    QFETCH(QByteArray, members);
    QFETCH(QString, effort);
    const QJsonObject body = translatedBody(members);
    QVERIFY(!body.isEmpty());
    QCOMPARE(body.value(QStringLiteral("reasoning_effort")).toString(), effort);
    QCOMPARE(body.contains(QStringLiteral("reasoning_effort")), !effort.isEmpty());
}

void tst_TranslateMessagesToChat::honoursVendorOptions()
{
    MessagesToChat::Options options;
    options.sendsReasoningEffort = false;
    options.usesMaxCompletionTokens = true;
    const MessagesToChat::Request result = MessagesToChat::translateRequest(
        request(R"("thinking":{"type":"adaptive"})"), QStringLiteral("o4-mini"), options);
    const QJsonObject body = objectOf(result.body);
    QCOMPARE(body.value(QStringLiteral("max_completion_tokens")).toInt(), 100);
    QVERIFY(!body.contains(QStringLiteral("max_tokens")));
    QVERIFY(!body.contains(QStringLiteral("reasoning_effort")));
    QCOMPARE(result.dropped, QStringList {QStringLiteral("thinking")});
    QCOMPARE(body.value(QStringLiteral("model")).toString(), QStringLiteral("o4-mini"));
}

void tst_TranslateMessagesToChat::mapsStructuredOutputToResponseFormat()
{
    const QJsonObject body = translatedBody(
        R"("output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}})");
    const QString difference = jsonDifference(
        body.value(QStringLiteral("response_format")),
        objectOf(
            R"({"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object","properties":{"a":{"type":"string"}}}}})"));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMessagesToChat::asksForUsageOnEveryStream()
{
    const MessagesToChat::Request result =
        MessagesToChat::translateRequest(request(R"("stream":true)"), QString());
    QVERIFY(result.stream);
    const QJsonObject body = objectOf(result.body);
    QCOMPARE(body.value(QStringLiteral("stream")).toBool(), true);
    QCOMPARE(body.value(QStringLiteral("stream_options"))
                 .toObject()
                 .value(QStringLiteral("include_usage"))
                 .toBool(),
             true);
}

void tst_TranslateMessagesToChat::givesLongToolNamesBackInTheResponse()
{
    const QByteArray tool = R"("tools":[{"name":")" + kLongToolName.toUtf8()
        + R"(","input_schema":{"type":"object"}}])";
    const MessagesToChat::Request first =
        MessagesToChat::translateRequest(request(tool), QString());
    const MessagesToChat::Request second =
        MessagesToChat::translateRequest(request(tool), QString());
    const QString vendorName = objectOf(first.body)
                                   .value(QStringLiteral("tools"))
                                   .toArray()
                                   .at(0)
                                   .toObject()
                                   .value(QStringLiteral("function"))
                                   .toObject()
                                   .value(QStringLiteral("name"))
                                   .toString();
    QCOMPARE(vendorName.size(), 64);
    QCOMPARE(first.body, second.body); // the same bytes every turn, for the vendor's cache

    const QByteArray completion =
        R"({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":")"
        + vendorName.toUtf8() + R"(","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})";
    const MessagesToChat::Response response =
        MessagesToChat::translateResponse(completion, QString(), first.toolNames);
    const QJsonObject block =
        objectOf(response.body).value(QStringLiteral("content")).toArray().at(0).toObject();
    QCOMPARE(block.value(QStringLiteral("name")).toString(), kLongToolName);
}

void tst_TranslateMessagesToChat::translatesClaudeCodeToolLoop()
{
    const QByteArray input = readClaudeCodeFixture(QStringLiteral("tool-loop.turn2.body.json"));
    QVERIFY(!input.isEmpty());
    const QJsonObject original = objectOf(input);

    const MessagesToChat::Request result =
        MessagesToChat::translateRequest(input, QStringLiteral("gpt-4.1"));
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    const QJsonObject chat = objectOf(result.body);

    // Every one of the 24 tools, as a function with the same name, description and schema.
    const QJsonArray originalTools = original.value(QStringLiteral("tools")).toArray();
    const QJsonArray tools = chat.value(QStringLiteral("tools")).toArray();
    QCOMPARE(originalTools.size(), 24);
    QCOMPARE(tools.size(), originalTools.size());
    for (qsizetype i = 0; i < tools.size(); ++i) {
        const QJsonObject tool = originalTools.at(i).toObject();
        const QJsonObject function =
            tools.at(i).toObject().value(QStringLiteral("function")).toObject();
        QCOMPARE(tools.at(i).toObject().value(QStringLiteral("type")).toString(),
                 QStringLiteral("function"));
        QCOMPARE(function.value(QStringLiteral("name")), tool.value(QStringLiteral("name")));
        QCOMPARE(function.value(QStringLiteral("description")),
                 tool.value(QStringLiteral("description")));
        const QString difference = jsonDifference(function.value(QStringLiteral("parameters")),
                                                  tool.value(QStringLiteral("input_schema")));
        QVERIFY2(difference.isEmpty(), qPrintable(difference));
    }

    // The system prompt without the attribution block, as the first message.
    const QJsonArray system = original.value(QStringLiteral("system")).toArray();
    const QJsonArray messages = chat.value(QStringLiteral("messages")).toArray();
    QCOMPARE(messages.size(), 5);
    const QJsonObject first = messages.at(0).toObject();
    QCOMPARE(first.value(QStringLiteral("role")).toString(), QStringLiteral("system"));
    QCOMPARE(first.value(QStringLiteral("content")).toString(),
             system.at(1).toObject().value(QStringLiteral("text")).toString()
                 + QStringLiteral("\n\n")
                 + system.at(2).toObject().value(QStringLiteral("text")).toString());
    QVERIFY(!result.body.contains("x-anthropic-billing-header"));

    // The user turn, then the mid-conversation system message where Claude Code put it.
    const QJsonArray originalMessages = original.value(QStringLiteral("messages")).toArray();
    QCOMPARE(messages.at(1).toObject().value(QStringLiteral("role")).toString(),
             QStringLiteral("user"));
    QCOMPARE(messages.at(2).toObject().value(QStringLiteral("role")).toString(),
             QStringLiteral("system"));
    QCOMPARE(messages.at(2).toObject().value(QStringLiteral("content")),
             originalMessages.at(1).toObject().value(QStringLiteral("content")));

    // The Bash call, and its result as the tool message right after it.
    const QJsonObject assistant = messages.at(3).toObject();
    const QJsonArray calls = assistant.value(QStringLiteral("tool_calls")).toArray();
    QCOMPARE(calls.size(), 1);
    const QJsonObject call = calls.at(0).toObject();
    const QJsonObject originalUse = originalMessages.at(2)
                                        .toObject()
                                        .value(QStringLiteral("content"))
                                        .toArray()
                                        .at(0)
                                        .toObject();
    QCOMPARE(call.value(QStringLiteral("id")).toString(), QStringLiteral("toolu_01"));
    const QJsonObject function = call.value(QStringLiteral("function")).toObject();
    QCOMPARE(function.value(QStringLiteral("name")).toString(), QStringLiteral("Bash"));
    const QString difference =
        jsonDifference(objectOf(function.value(QStringLiteral("arguments")).toString().toUtf8()),
                       originalUse.value(QStringLiteral("input")));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    const QJsonObject toolMessage = messages.at(4).toObject();
    QCOMPARE(toolMessage.value(QStringLiteral("role")).toString(), QStringLiteral("tool"));
    QCOMPARE(toolMessage.value(QStringLiteral("tool_call_id")).toString(),
             QStringLiteral("toolu_01"));
    QCOMPARE(toolMessage.value(QStringLiteral("content")).toString(),
             QStringLiteral("hi-from-tool"));

    // The rest of the request.
    QVERIFY(result.stream);
    QCOMPARE(chat.value(QStringLiteral("max_tokens")).toInt(), 64000);
    QCOMPARE(
        chat.value(QStringLiteral("user")),
        original.value(QStringLiteral("metadata")).toObject().value(QStringLiteral("user_id")));
    QCOMPARE(chat.value(QStringLiteral("reasoning_effort")).toString(), QStringLiteral("high"));
    QCOMPARE(sorted(result.dropped),
             sorted({QStringLiteral("cache_control"), QStringLiteral("context_management"),
                     QStringLiteral("system attribution block")}));
}

void tst_TranslateMessagesToChat::pairsEveryToolCallWithItsResult_data()
{
    QTest::addColumn<QString>("fixture");
    const QStringList bodies = QDir(QStringLiteral(TOLLGATE_FIXTURES_DIR))
                                   .entryList({QStringLiteral("*.body.json")}, QDir::Files);
    QVERIFY(bodies.size() >= 3);
    for (const QString &body : bodies)
        QTest::newRow(qPrintable(body)) << body;
}

void tst_TranslateMessagesToChat::pairsEveryToolCallWithItsResult()
{
    // OpenAI answers 400 unless every tool call is answered by tool messages right after
    // the assistant message that made it, and every tool message answers such a call.
    QFETCH(QString, fixture);
    const MessagesToChat::Request result =
        MessagesToChat::translateRequest(readClaudeCodeFixture(fixture), QString());
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    const QJsonArray messages = objectOf(result.body).value(QStringLiteral("messages")).toArray();
    QVERIFY(!messages.isEmpty());
    QStringList awaited;
    for (const QJsonValue &value : messages) {
        const QJsonObject message = value.toObject();
        const QString role = message.value(QStringLiteral("role")).toString();
        if (role == QStringLiteral("tool")) {
            QVERIFY2(!awaited.isEmpty(), "a tool message answers no call");
            QCOMPARE(message.value(QStringLiteral("tool_call_id")).toString(), awaited.takeFirst());
            continue;
        }
        QVERIFY2(awaited.isEmpty(),
                 qPrintable(QStringLiteral("unanswered: ") + awaited.join(u',')));
        QVERIFY(role == QStringLiteral("system") || role == QStringLiteral("user")
                || role == QStringLiteral("assistant"));
        for (const QJsonValue &call : message.value(QStringLiteral("tool_calls")).toArray())
            awaited.append(call.toObject().value(QStringLiteral("id")).toString());
    }
    QVERIFY(awaited.isEmpty());
}

void tst_TranslateMessagesToChat::reportsResponsesThatAreNotCompletions_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("error");
    QTest::newRow("not JSON") << QByteArray("<html>")
                              << QStringLiteral("The upstream response is not a chat completion");
    QTest::newRow("no choices") << QByteArray(R"({"id":"x","choices":[]})")
                                << QStringLiteral("The upstream response is not a chat completion");
    QTest::newRow("error string") << QByteArray(R"({"error":"quota exhausted"})")
                                  << QStringLiteral("quota exhausted");
}

void tst_TranslateMessagesToChat::reportsResponsesThatAreNotCompletions()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, error);
    const MessagesToChat::Response result = MessagesToChat::translateResponse(body, QString());
    QCOMPARE(result.error, error);
    QVERIFY(result.body.isEmpty());
}

QTEST_GUILESS_MAIN(tst_TranslateMessagesToChat)
#include "tst_TranslateMessagesToChat.moc"
