#include "translate/MessagesStreamToChat.h"
#include "tst_TranslateGolden.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

namespace {

const QString kDirectory = QStringLiteral("openai-to-anthropic/");
constexpr qint64 kCreated = 1700000000;

QList<QJsonObject> chunksOf(const QByteArray &stream)
{
    QList<QJsonObject> chunks;
    for (const StreamEvent &event : eventsOf(stream))
        chunks.append(QJsonDocument::fromJson(event.data).object());
    return chunks;
}

// The Anthropic stream without its `event:` lines: each event then says what it is only in
// its data's type.
QByteArray withoutEventLines(const QByteArray &stream)
{
    QByteArrayList lines = stream.split('\n');
    lines.removeIf([](const QByteArray &line) { return line.startsWith("event:"); });
    return lines.join('\n');
}

} // namespace

class tst_TranslateMessagesStreamToChat : public QObject
{
    Q_OBJECT

private slots:
    void translatesStreamsLikeTheGoldens_data();
    void translatesStreamsLikeTheGoldens();
    void readsEventsWithoutEventLinesByTheirType();
    void stampsChunksWithTheCurrentTimeByDefault();
    void endsAnEmptyUpstreamWithAnErrorLine();
    void saysNothingAfterTheEnd();
    void grammarCheckRejectsBrokenStreams_data();
    void grammarCheckRejectsBrokenStreams();
};

void tst_TranslateMessagesStreamToChat::translatesStreamsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("output");
    QTest::addColumn<QString>("requestedModel");
    QTest::addColumn<bool>("includeUsage");
    QTest::newRow("text, thinking and ping ignored, usage chunk")
        << QStringLiteral("stream-text") << QStringLiteral("stream-text")
        << QStringLiteral("claude-opus-4-8") << true;
    QTest::newRow("text without include_usage")
        << QStringLiteral("stream-text") << QStringLiteral("stream-text-without-usage")
        << QStringLiteral("claude-opus-4-8") << false;
    QTest::newRow("tool calls") << QStringLiteral("stream-tools") << QStringLiteral("stream-tools")
                                << QString() << false;
    QTest::newRow("error event") << QStringLiteral("stream-error") << QStringLiteral("stream-error")
                                 << QString() << true;
    QTest::newRow("cut before message_stop")
        << QStringLiteral("stream-cut") << QStringLiteral("stream-cut") << QString() << true;
}

void tst_TranslateMessagesStreamToChat::translatesStreamsLikeTheGoldens()
{
    QFETCH(QString, input);
    QFETCH(QString, output);
    QFETCH(QString, requestedModel);
    QFETCH(bool, includeUsage);
    const QString difference = streamGoldenDifference<MessagesStreamToChat>(
        [&] {
            return std::make_unique<MessagesStreamToChat>(requestedModel, includeUsage, kCreated);
        },
        readGolden(kDirectory + input + QStringLiteral(".in.sse")),
        readGolden(kDirectory + output + QStringLiteral(".out.sse")),
        goldenObject(kDirectory + input + QStringLiteral(".usage.json")),
        [includeUsage](const QByteArray &stream) {
            return openAiGrammarError(stream, includeUsage);
        });
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMessagesStreamToChat::readsEventsWithoutEventLinesByTheirType()
{
    const QByteArray upstream = readGolden(kDirectory + QStringLiteral("stream-tools.in.sse"));
    QVERIFY(!upstream.isEmpty());
    MessagesStreamToChat named(QString(), true, kCreated);
    MessagesStreamToChat unnamed(QString(), true, kCreated);
    const QByteArray stripped = withoutEventLines(upstream);
    QVERIFY(!stripped.contains("event:"));
    QCOMPARE(runStream(unnamed, stripped), runStream(named, upstream));
}

void tst_TranslateMessagesStreamToChat::stampsChunksWithTheCurrentTimeByDefault()
{
    const qint64 before = QDateTime::currentSecsSinceEpoch();
    MessagesStreamToChat translator(QStringLiteral("m"), false);
    const QByteArray upstream = readGolden(kDirectory + QStringLiteral("stream-tools.in.sse"));
    const QList<QJsonObject> chunks = chunksOf(runStream(translator, upstream));
    const qint64 created = chunks.at(0).value(QStringLiteral("created")).toInteger();
    QVERIFY(created >= before);
    QVERIFY(created <= QDateTime::currentSecsSinceEpoch());
    QCOMPARE(chunks.at(0).value(QStringLiteral("model")).toString(), QStringLiteral("m"));
}

void tst_TranslateMessagesStreamToChat::endsAnEmptyUpstreamWithAnErrorLine()
{
    MessagesStreamToChat translator(QStringLiteral("m"), true, kCreated);
    const QByteArray out = translator.finish();
    QCOMPARE(
        out,
        QByteArray(
            R"(data: {"error":{"code":"api_error","message":"The upstream stream ended before the response was complete","param":null,"type":"server_error"}})"
            "\n\ndata: [DONE]\n\n"));
    QVERIFY(!translator.hasStarted());
    QVERIFY(translator.isFinished());
    QVERIFY(!translator.error().isEmpty());
}

void tst_TranslateMessagesStreamToChat::saysNothingAfterTheEnd()
{
    const QByteArray upstream = readGolden(kDirectory + QStringLiteral("stream-tools.in.sse"));
    MessagesStreamToChat translator(QString(), false, kCreated);
    QVERIFY(translator.feed(upstream.constData(), upstream.size()).endsWith("data: [DONE]\n\n"));
    QVERIFY(translator.feed(upstream.constData(), upstream.size()).isEmpty());
    QVERIFY(translator.finish().isEmpty());
}

void tst_TranslateMessagesStreamToChat::grammarCheckRejectsBrokenStreams_data()
{
    // The check the goldens rely on must itself see what an OpenAI client would choke on.
    const QByteArray head =
        R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]})"
        "\n\n";
    const QByteArray tool =
        R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]},"finish_reason":null}]})"
        "\n\n";
    const QByteArray finish =
        R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
        "\n\n";
    const QByteArray usage =
        R"(data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1}})"
        "\n\n";
    const QByteArray done = "data: [DONE]\n\n";
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<bool>("includeUsage");
    QTest::addColumn<bool>("isValid");
    QTest::newRow("valid") << head + tool + finish + done << false << true;
    QTest::newRow("no [DONE]") << head + finish << false << false;
    QTest::newRow("no role first") << finish + done << false << false;
    QTest::newRow("an event line") << "event: x\n" + head + finish + done << false << false;
    QTest::newRow("tool index skipped") << head
            + QByteArray(tool).replace("\"index\":0,\"id\"", "\"index\":1,\"id\"") + finish
            + done << false << false;
    QTest::newRow("usage chunk not asked for") << head + finish + usage + done << false << false;
    const auto withNullUsage = [](QByteArray chunk) {
        return chunk.replace(R"({"object")", R"({"usage":null,"object")");
    };
    QTest::newRow("valid with usage")
        << withNullUsage(head) + withNullUsage(finish) + usage + done << true << true;
    QTest::newRow("usage chunk missing")
        << withNullUsage(head) + withNullUsage(finish) + done << true << false;
    QTest::newRow("no finish_reason") << head + done << false << false;
}

void tst_TranslateMessagesStreamToChat::grammarCheckRejectsBrokenStreams()
{
    QFETCH(QByteArray, stream);
    QFETCH(bool, includeUsage);
    QFETCH(bool, isValid);
    const QString error = openAiGrammarError(stream, includeUsage);
    QVERIFY2(error.isEmpty() == isValid, qPrintable(error));
}

QTEST_GUILESS_MAIN(tst_TranslateMessagesStreamToChat)
#include "tst_TranslateMessagesStreamToChat.moc"
