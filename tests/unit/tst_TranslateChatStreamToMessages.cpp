#include "translate/ChatStreamToMessages.h"
#include "tst_TranslateGolden.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

Q_DECLARE_METATYPE(tollgate::VendorReasoning)

namespace {

const QString kDirectory = QStringLiteral("anthropic-to-openai/");
const QString kModel = QStringLiteral("claude-sonnet-4-5");
const QString kLongToolName =
    QStringLiteral("mcp__workspace_indexer__search_symbols_across_all_repositories_by_fuzzy_name");

QByteArray chunk(const QByteArray &choicesOrMembers)
{
    return R"(data: {"id":"chatcmpl-T","object":"chat.completion.chunk","model":"gpt-4.1",)"
        + choicesOrMembers + "}\n\n";
}

QByteArray deltaChunk(const QByteArray &delta, const QByteArray &finishReason = "null")
{
    return chunk(R"("choices":[{"index":0,"delta":)" + delta + R"(,"finish_reason":)" + finishReason
                 + "}]");
}

QByteArray translate(const QByteArray &input)
{
    ChatStreamToMessages translator(kModel);
    return runStream(translator, input);
}

QList<QJsonObject> dataOf(const QByteArray &stream)
{
    QList<QJsonObject> objects;
    for (const StreamEvent &event : eventsOf(stream))
        objects.append(QJsonDocument::fromJson(event.data).object());
    return objects;
}

QStringList typesOf(const QByteArray &stream)
{
    QStringList types;
    for (const QJsonObject &data : dataOf(stream))
        types.append(data.value(QStringLiteral("type")).toString());
    return types;
}

} // namespace

class tst_TranslateChatStreamToMessages : public QObject
{
    Q_OBJECT

private slots:
    void translatesStreamsLikeTheGoldens_data();
    void translatesStreamsLikeTheGoldens();
    void holdsMessageDeltaBackUntilTheUsageChunk();
    void pingBeforeTheFirstChunkStartsTheMessage();
    void endsAnEmptyUpstreamWithAnError();
    void endsTheTurnAtDoneWithoutFinishReason();
    void treatsToolCallsEndedWithStopAsToolUse();
    void followsToolCallIdsWhenTheVendorSendsNoIndex();
    void separatesWholeCallsThatHaveNeitherIdNorIndex();
    void startsAToolBlockOnlyOnceItsNameIsKnown();
    void saysNothingAfterTheEnd();
    void grammarCheckRejectsBrokenStreams_data();
    void grammarCheckRejectsBrokenStreams();
};

void tst_TranslateChatStreamToMessages::translatesStreamsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("output");
    QTest::addColumn<VendorReasoning>("reasoning");
    QTest::newRow("text") << QStringLiteral("stream-text") << QStringLiteral("stream-text")
                          << VendorReasoning::Drop;
    QTest::newRow("sequential tool calls, CRLF, DeepSeek usage")
        << QStringLiteral("stream-tools") << QStringLiteral("stream-tools")
        << VendorReasoning::Drop;
    QTest::newRow("interleaved tool-call arguments")
        << QStringLiteral("stream-interleaved") << QStringLiteral("stream-interleaved")
        << VendorReasoning::Drop;
    QTest::newRow("reasoning dropped")
        << QStringLiteral("stream-thinking") << QStringLiteral("stream-thinking")
        << VendorReasoning::Drop;
    QTest::newRow("reasoning as thinking blocks")
        << QStringLiteral("stream-thinking") << QStringLiteral("stream-thinking-as-blocks")
        << VendorReasoning::AsThinking;
    QTest::newRow("cut before finish_reason")
        << QStringLiteral("stream-cut") << QStringLiteral("stream-cut") << VendorReasoning::Drop;
    QTest::newRow("cut after finish_reason")
        << QStringLiteral("stream-cut-after-finish") << QStringLiteral("stream-cut-after-finish")
        << VendorReasoning::Drop;
    QTest::newRow("usage on the finish chunk")
        << QStringLiteral("stream-usage-in-finish-chunk")
        << QStringLiteral("stream-usage-in-finish-chunk") << VendorReasoning::Drop;
    QTest::newRow("vendor error chunk")
        << QStringLiteral("stream-error-chunk") << QStringLiteral("stream-error-chunk")
        << VendorReasoning::Drop;
}

void tst_TranslateChatStreamToMessages::translatesStreamsLikeTheGoldens()
{
    QFETCH(QString, input);
    QFETCH(QString, output);
    QFETCH(VendorReasoning, reasoning);
    ToolNameMap toolNames;
    toolNames.shorten(kLongToolName);

    const QString difference = streamGoldenDifference<ChatStreamToMessages>(
        [&] { return std::make_unique<ChatStreamToMessages>(kModel, toolNames, reasoning); },
        readGolden(kDirectory + input + QStringLiteral(".in.sse")),
        readGolden(kDirectory + output + QStringLiteral(".out.sse")),
        goldenObject(kDirectory + input + QStringLiteral(".usage.json")), anthropicGrammarError);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateChatStreamToMessages::holdsMessageDeltaBackUntilTheUsageChunk()
{
    const QByteArray upstream = readGolden(kDirectory + QStringLiteral("stream-text.in.sse"));
    const qsizetype usageChunk = upstream.indexOf("\"choices\":[]");
    QVERIFY(usageChunk > 0);
    const qsizetype cut = upstream.lastIndexOf("data:", usageChunk);
    ChatStreamToMessages translator(kModel);

    const QByteArray beforeUsage = translator.feed(upstream.constData(), cut);
    QVERIFY(beforeUsage.contains("event: content_block_stop"));
    QVERIFY(!beforeUsage.contains("message_delta"));
    QVERIFY(translator.hasStarted());
    QVERIFY(!translator.isFinished());

    const QByteArray rest = translator.feed(upstream.constData() + cut, upstream.size() - cut);
    QCOMPARE(typesOf(rest),
             (QStringList {QStringLiteral("message_delta"), QStringLiteral("message_stop")}));
    QCOMPARE(dataOf(rest)
                 .at(0)
                 .value(QStringLiteral("usage"))
                 .toObject()
                 .value(QStringLiteral("input_tokens")),
             QJsonValue(176));
    QVERIFY(translator.isFinished());
    QVERIFY(translator.finish().isEmpty());
}

void tst_TranslateChatStreamToMessages::pingBeforeTheFirstChunkStartsTheMessage()
{
    ChatStreamToMessages translator(kModel);
    QVERIFY(!translator.hasStarted());
    const QByteArray ping = translator.ping();
    QCOMPARE(typesOf(ping),
             (QStringList {QStringLiteral("message_start"), QStringLiteral("ping")}));
    QVERIFY(ping.endsWith("event: ping\ndata: {\"type\":\"ping\"}\n\n"));
    const QString id = dataOf(ping)
                           .at(0)
                           .value(QStringLiteral("message"))
                           .toObject()
                           .value(QStringLiteral("id"))
                           .toString();
    QVERIFY2(id.startsWith(QStringLiteral("msg_tg_")) && id.size() == 31, qPrintable(id));
    QVERIFY(translator.hasStarted());

    const QByteArray upstream = readGolden(kDirectory + QStringLiteral("stream-text.in.sse"));
    const QByteArray rest = runStream(translator, upstream);
    QVERIFY(!rest.contains("message_start"));
    const QByteArray whole = ping + translator.ping() + rest;
    QVERIFY(translator.ping().isEmpty()); // the stream is over
    const QString error = anthropicGrammarError(ping + rest);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(typesOf(whole).count(QStringLiteral("ping")), 1);
}

void tst_TranslateChatStreamToMessages::endsAnEmptyUpstreamWithAnError()
{
    ChatStreamToMessages translator(kModel);
    const QByteArray out = translator.finish();
    QCOMPARE(typesOf(out), QStringList {QStringLiteral("error")});
    QVERIFY(out.startsWith("event: error\n"));
    QVERIFY(!translator.hasStarted());
    QVERIFY(translator.isFinished());
    QCOMPARE(translator.error(),
             QStringLiteral("The upstream stream ended before the response was complete"));
}

void tst_TranslateChatStreamToMessages::endsTheTurnAtDoneWithoutFinishReason()
{
    const QByteArray out = translate(deltaChunk(R"({"content":"hi"})") + "data: [DONE]\n\n");
    QCOMPARE(
        typesOf(out),
        (QStringList {QStringLiteral("message_start"), QStringLiteral("content_block_start"),
                      QStringLiteral("content_block_delta"), QStringLiteral("content_block_stop"),
                      QStringLiteral("message_delta"), QStringLiteral("message_stop")}));
    QCOMPARE(dataOf(out)
                 .at(4)
                 .value(QStringLiteral("delta"))
                 .toObject()
                 .value(QStringLiteral("stop_reason")),
             QJsonValue(QStringLiteral("end_turn")));
}

void tst_TranslateChatStreamToMessages::treatsToolCallsEndedWithStopAsToolUse()
{
    const QByteArray out = translate(
        deltaChunk(
            R"({"tool_calls":[{"index":0,"id":"c1","function":{"name":"Bash","arguments":"{}"}}]})")
        + deltaChunk("{}", "\"stop\"") + "data: [DONE]\n\n");
    const QList<QJsonObject> events = dataOf(out);
    QCOMPARE(events.at(events.size() - 2)
                 .value(QStringLiteral("delta"))
                 .toObject()
                 .value(QStringLiteral("stop_reason")),
             QJsonValue(QStringLiteral("tool_use")));
    const QString error = anthropicGrammarError(out);
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void tst_TranslateChatStreamToMessages::followsToolCallIdsWhenTheVendorSendsNoIndex()
{
    const QByteArray out = translate(
        deltaChunk(
            R"({"tool_calls":[{"id":"a","function":{"name":"Read","arguments":"{\"path\":"}}]})")
        + deltaChunk(R"({"tool_calls":[{"function":{"arguments":"\"x\"}"}}]})")
        + deltaChunk(
            R"({"tool_calls":[{"id":"b","function":{"name":"Read","arguments":"{\"path\":\"y\"}"}}]})")
        + deltaChunk("{}", "\"tool_calls\"") + "data: [DONE]\n\n");
    const QString error = anthropicGrammarError(out);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QStringList toolIds;
    QString arguments;
    for (const QJsonObject &event : dataOf(out)) {
        const QJsonObject block = event.value(QStringLiteral("content_block")).toObject();
        if (block.value(QStringLiteral("type")) == QJsonValue(QStringLiteral("tool_use")))
            toolIds.append(block.value(QStringLiteral("id")).toString());
        arguments += event.value(QStringLiteral("delta"))
                         .toObject()
                         .value(QStringLiteral("partial_json"))
                         .toString();
    }
    QCOMPARE(toolIds, (QStringList {QStringLiteral("a"), QStringLiteral("b")}));
    QCOMPARE(arguments, QStringLiteral("{\"path\":\"x\"}{\"path\":\"y\"}"));
}

void tst_TranslateChatStreamToMessages::separatesWholeCallsThatHaveNeitherIdNorIndex()
{
    const QByteArray out = translate(
        deltaChunk(R"({"tool_calls":[{"function":{"name":"Read","arguments":"{\"path\":\"x\"}"}},)"
                   R"({"function":{"name":"Read","arguments":"{\"path\":\"y\"}"}}]})")
        + deltaChunk("{}", "\"tool_calls\"") + "data: [DONE]\n\n");
    const QString error = anthropicGrammarError(out);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QStringList toolIds;
    QStringList arguments;
    for (const QJsonObject &event : dataOf(out)) {
        const QJsonObject block = event.value(QStringLiteral("content_block")).toObject();
        if (block.value(QStringLiteral("type")) == QJsonValue(QStringLiteral("tool_use")))
            toolIds.append(block.value(QStringLiteral("id")).toString());
        const QJsonValue fragment =
            event.value(QStringLiteral("delta")).toObject().value(QStringLiteral("partial_json"));
        if (fragment.isString())
            arguments.append(fragment.toString());
    }
    QCOMPARE(toolIds, (QStringList {QStringLiteral("toolu_T_0"), QStringLiteral("toolu_T_1")}));
    QCOMPARE(
        arguments,
        (QStringList {QStringLiteral("{\"path\":\"x\"}"), QStringLiteral("{\"path\":\"y\"}")}));
}

void tst_TranslateChatStreamToMessages::startsAToolBlockOnlyOnceItsNameIsKnown()
{
    // A vendor sending the id first and the name later: the block waits for the name, and an
    // id it never sent is made up from the message id.
    ChatStreamToMessages translator(kModel);
    const QByteArray nameless =
        deltaChunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]})");
    const QByteArray first = translator.feed(nameless.constData(), nameless.size());
    QCOMPARE(typesOf(first), QStringList {QStringLiteral("message_start")});
    const QByteArray rest = runStream(
        translator,
        deltaChunk(R"({"tool_calls":[{"index":0,"function":{"name":"Edit","arguments":":1}"}}]})")
            + deltaChunk("{}", "\"tool_calls\"") + "data: [DONE]\n\n");
    const QList<QJsonObject> events = dataOf(rest);
    const QJsonObject block = events.at(0).value(QStringLiteral("content_block")).toObject();
    QCOMPARE(block.value(QStringLiteral("name")).toString(), QStringLiteral("Edit"));
    QCOMPARE(block.value(QStringLiteral("id")).toString(), QStringLiteral("toolu_T_0"));
    QCOMPARE(events.at(1)
                 .value(QStringLiteral("delta"))
                 .toObject()
                 .value(QStringLiteral("partial_json")),
             QJsonValue(QStringLiteral("{\"a\":1}")));
    const QString error = anthropicGrammarError(first + rest);
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void tst_TranslateChatStreamToMessages::saysNothingAfterTheEnd()
{
    ChatStreamToMessages translator(kModel);
    const QByteArray done = deltaChunk(R"({"content":"x"})", "\"stop\"") + "data: [DONE]\n\n";
    QVERIFY(translator.feed(done.constData(), done.size()).contains("message_stop"));
    const QByteArray late = deltaChunk(R"({"content":"late"})");
    QVERIFY(translator.feed(late.constData(), late.size()).isEmpty());
    QVERIFY(translator.finish().isEmpty());
    QVERIFY(translator.finish().isEmpty());
    QVERIFY(translator.ping().isEmpty());
}

void tst_TranslateChatStreamToMessages::grammarCheckRejectsBrokenStreams_data()
{
    // The check the goldens rely on must itself see what a client would choke on.
    const QByteArray start =
        R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0,"cache_creation":{}}}}

)";
    const QByteArray text = R"(event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}

)";
    const QByteArray stop = R"(event: content_block_stop
data: {"type":"content_block_stop","index":0}

)";
    const QByteArray end = R"(event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}

event: message_stop
data: {"type":"message_stop"}

)";
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<bool>("isValid");
    QTest::newRow("valid") << start + text + stop + end << true;
    QTest::newRow("data-only event")
        << start + text + stop + QByteArray(end).replace("event: message_stop\n", "") << false;
    QTest::newRow("delta after its block stopped")
        << start + text + stop + text.mid(text.indexOf("event: content_block_delta")) + end
        << false;
    QTest::newRow("block left open") << start + text + end << false;
    QTest::newRow("no message_stop")
        << start + text + stop + end.left(end.indexOf("event: message_stop")) << false;
    QTest::newRow("message_start usage incomplete")
        << QByteArray(start).replace(R"(,"cache_creation":{})", "") + text + stop + end << false;
    QTest::newRow("tool input not an object") << start + R"(event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}

)" + stop + QByteArray(end).replace("end_turn", "tool_use")
                                              << false;
}

void tst_TranslateChatStreamToMessages::grammarCheckRejectsBrokenStreams()
{
    QFETCH(QByteArray, stream);
    QFETCH(bool, isValid);
    const QString error = anthropicGrammarError(stream);
    QVERIFY2(error.isEmpty() == isValid, qPrintable(error));
}

QTEST_GUILESS_MAIN(tst_TranslateChatStreamToMessages)
#include "tst_TranslateChatStreamToMessages.moc"
