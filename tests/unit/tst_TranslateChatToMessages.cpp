#include "translate/ChatToMessages.h"
#include "tst_TranslateGolden.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

namespace {

const QString kDirectory = QStringLiteral("openai-to-anthropic/");
constexpr qint64 kCreated = 1700000000;

// A minimal chat-completions request with the given members added.
QByteArray request(const QByteArray &members)
{
    return R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}])"
        + (members.isEmpty() ? QByteArray() : "," + members) + "}";
}

QJsonObject translatedBody(const QByteArray &members)
{
    return objectOf(ChatToMessages::translateRequest(request(members)).body);
}

} // namespace

class tst_TranslateChatToMessages : public QObject
{
    Q_OBJECT

private slots:
    void translatesRequestsLikeTheGoldens_data();
    void translatesRequestsLikeTheGoldens();
    void translatesResponsesLikeTheGoldens_data();
    void translatesResponsesLikeTheGoldens();
    void refusesRequestsItCannotTranslate_data();
    void refusesRequestsItCannotTranslate();
    void mapsToolChoice_data();
    void mapsToolChoice();
    void suppliesMaxTokens_data();
    void suppliesMaxTokens();
    void acceptsAnExplicitSingleChoice();
    void replacesTheModelWhenTold();
    void mapsFinishReasons_data();
    void mapsFinishReasons();
};

void tst_TranslateChatToMessages::translatesRequestsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("system and developer hoisted, sampling") << QStringLiteral("request-text");
    QTest::newRow("tool calls and merged tool results") << QStringLiteral("request-tools");
    QTest::newRow("images, a PDF, json_schema") << QStringLiteral("request-images");
    QTest::newRow("n above 1") << QStringLiteral("request-n2");
}

void tst_TranslateChatToMessages::translatesRequestsLikeTheGoldens()
{
    QFETCH(QString, name);
    const QByteArray input = readGolden(kDirectory + name + QStringLiteral(".in.json"));
    const QJsonObject expected = goldenObject(kDirectory + name + QStringLiteral(".out.json"));
    QVERIFY(!input.isEmpty());
    QVERIFY(!expected.isEmpty());

    const ChatToMessages::Request result = ChatToMessages::translateRequest(input);

    const QString difference =
        requestDifference(expected, result.error, result.body, result.stream, result.dropped);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    QCOMPARE(result.includeUsage, expected.value(QStringLiteral("includeUsage")).toBool());
}

void tst_TranslateChatToMessages::translatesResponsesLikeTheGoldens_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("requestedModel");
    QTest::newRow("text, thinking left out, cache usage")
        << QStringLiteral("response-text") << QString();
    QTest::newRow("tool calls") << QStringLiteral("response-tools") << QStringLiteral("my-alias");
    QTest::newRow("refusal") << QStringLiteral("response-refusal") << QStringLiteral("my-alias");
    QTest::newRow("error body with a 2xx") << QStringLiteral("response-error") << QString();
}

void tst_TranslateChatToMessages::translatesResponsesLikeTheGoldens()
{
    QFETCH(QString, name);
    QFETCH(QString, requestedModel);
    const QByteArray body = readGolden(kDirectory + name + QStringLiteral(".in.json"));
    const QJsonObject expected = goldenObject(kDirectory + name + QStringLiteral(".out.json"));
    QVERIFY(!body.isEmpty());
    QVERIFY(!expected.isEmpty());

    const ChatToMessages::Response result =
        ChatToMessages::translateResponse(body, requestedModel, kCreated);

    const QString difference =
        responseDifference(expected, result.error, result.body, result.usage);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateChatToMessages::refusesRequestsItCannotTranslate_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("error");
    QTest::newRow("not JSON") << QByteArray("{")
                              << QStringLiteral("The request body is not a JSON object");
    QTest::newRow("no model") << QByteArray(R"({"messages":[]})")
                              << QStringLiteral("model: a model is required");
    QTest::newRow("no messages") << QByteArray(R"({"model":"m"})")
                                 << QStringLiteral("messages: an array of messages is required");
    QTest::newRow("unknown role")
        << QByteArray(R"({"model":"m","messages":[{"role":"critic","content":"x"}]})")
        << QStringLiteral("messages.0.role: expected system, developer, user, assistant or tool");
    QTest::newRow("tool message without id")
        << QByteArray(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})")
        << QStringLiteral("messages.0.tool_call_id: required for a tool message");
    QTest::newRow("content a number")
        << QByteArray(R"({"model":"m","messages":[{"role":"user","content":1}]})")
        << QStringLiteral("messages.0.content: expected a string or an array of content parts");
    QTest::newRow("n of 3") << QByteArray(R"({"model":"m","n":3,"messages":[]})")
                            << QStringLiteral("n: only 1 is supported");
}

void tst_TranslateChatToMessages::refusesRequestsItCannotTranslate()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, error);
    const ChatToMessages::Request result = ChatToMessages::translateRequest(body);
    QCOMPARE(result.error, error);
    QVERIFY(result.body.isEmpty());
}

void tst_TranslateChatToMessages::mapsToolChoice_data()
{
    QTest::addColumn<QByteArray>("members");
    QTest::addColumn<QByteArray>("expected"); // tool_choice, or {} for none
    QTest::newRow("auto") << QByteArray(R"("tool_choice":"auto")")
                          << QByteArray(R"({"type":"auto"})");
    QTest::newRow("required is any")
        << QByteArray(R"("tool_choice":"required")") << QByteArray(R"({"type":"any"})");
    QTest::newRow("none") << QByteArray(R"("tool_choice":"none")")
                          << QByteArray(R"({"type":"none"})");
    QTest::newRow("one function") << QByteArray(
        R"("tool_choice":{"type":"function","function":{"name":"f"}})")
                                  << QByteArray(R"({"type":"tool","name":"f"})");
    QTest::newRow("no parallel calls")
        << QByteArray(R"("parallel_tool_calls":false)")
        << QByteArray(R"({"type":"auto","disable_parallel_tool_use":true})");
    QTest::newRow("parallel calls allowed")
        << QByteArray(R"("parallel_tool_calls":true)") << QByteArray("{}");
}

void tst_TranslateChatToMessages::mapsToolChoice()
{
    QFETCH(QByteArray, members);
    QFETCH(QByteArray, expected);
    const QJsonObject withTools = translatedBody(
        R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],)"
        + members);
    const QString difference = jsonDifference(
        withTools.value(QStringLiteral("tool_choice")).toObject(), objectOf(expected));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    // Anthropic refuses a tool_choice without tools.
    QVERIFY(!translatedBody(members).contains(QStringLiteral("tool_choice")));
}

void tst_TranslateChatToMessages::suppliesMaxTokens_data()
{
    QTest::addColumn<QByteArray>("members");
    QTest::addColumn<int>("maxTokens");
    QTest::newRow("absent: the default") << QByteArray() << ChatToMessages::kDefaultMaxTokens;
    QTest::newRow("max_tokens") << QByteArray(R"("max_tokens":77)") << 77;
    QTest::newRow("max_completion_tokens wins")
        << QByteArray(R"("max_tokens":77,"max_completion_tokens":88)") << 88;
    QTest::newRow("null") << QByteArray(R"("max_tokens":null)")
                          << ChatToMessages::kDefaultMaxTokens;
}

void tst_TranslateChatToMessages::suppliesMaxTokens()
{
    QFETCH(QByteArray, members);
    QFETCH(int, maxTokens);
    QCOMPARE(translatedBody(members).value(QStringLiteral("max_tokens")).toInt(), maxTokens);
}

void tst_TranslateChatToMessages::acceptsAnExplicitSingleChoice()
{
    for (const QByteArray &n : {QByteArray(R"("n":1)"), QByteArray(R"("n":null)")}) {
        const ChatToMessages::Request result = ChatToMessages::translateRequest(request(n));
        QVERIFY2(result.error.isEmpty(), n.constData());
        QVERIFY(result.dropped.isEmpty());
    }
}

void tst_TranslateChatToMessages::replacesTheModelWhenTold()
{
    const ChatToMessages::Request result =
        ChatToMessages::translateRequest(request({}), QStringLiteral("claude-opus-4-8"));
    QCOMPARE(objectOf(result.body).value(QStringLiteral("model")).toString(),
             QStringLiteral("claude-opus-4-8"));
}

void tst_TranslateChatToMessages::mapsFinishReasons_data()
{
    QTest::addColumn<QString>("stopReason");
    QTest::addColumn<QString>("finishReason");
    QTest::newRow("end_turn") << QStringLiteral("end_turn") << QStringLiteral("stop");
    QTest::newRow("stop_sequence") << QStringLiteral("stop_sequence") << QStringLiteral("stop");
    QTest::newRow("pause_turn") << QStringLiteral("pause_turn") << QStringLiteral("stop");
    QTest::newRow("max_tokens") << QStringLiteral("max_tokens") << QStringLiteral("length");
    QTest::newRow("context window")
        << QStringLiteral("model_context_window_exceeded") << QStringLiteral("length");
    QTest::newRow("tool_use") << QStringLiteral("tool_use") << QStringLiteral("tool_calls");
    QTest::newRow("refusal") << QStringLiteral("refusal") << QStringLiteral("content_filter");
}

void tst_TranslateChatToMessages::mapsFinishReasons()
{
    QFETCH(QString, stopReason);
    QFETCH(QString, finishReason);
    const QByteArray message =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"x"}],"stop_reason":")"
        + stopReason.toUtf8() + R"(","usage":{"input_tokens":1,"output_tokens":1}})";
    const ChatToMessages::Response result =
        ChatToMessages::translateResponse(message, QString(), kCreated);
    const QJsonObject choice =
        objectOf(result.body).value(QStringLiteral("choices")).toArray().at(0).toObject();
    QCOMPARE(choice.value(QStringLiteral("finish_reason")).toString(), finishReason);
    QCOMPARE(result.usage.stopReason, stopReason);
}

QTEST_GUILESS_MAIN(tst_TranslateChatToMessages)
#include "tst_TranslateChatToMessages.moc"
