#include "translate/StopReasons.h"
#include "translate/ToolArguments.h"
#include "translate/ToolNameMap.h"
#include "translate/UsageTranslator.h"
#include "tst_TranslateGolden.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

// The small mapping classes behind the translators: tool names, tool arguments, stop
// reasons and usage.
class tst_TranslateMappings : public QObject
{
    Q_OBJECT

private slots:
    void keepsToolNamesThatFit();
    void shortensLongToolNamesStably();
    void keepsSurrogatePairsWholeWhenShortening();
    void parsesToolArguments_data();
    void parsesToolArguments();
    void mapsFinishReasonsToStopReasons_data();
    void mapsFinishReasonsToStopReasons();
    void readsOpenAiUsage_data();
    void readsOpenAiUsage();
    void overwritesUsageFromMessageDelta();
    void writesOpenAiUsage();
};

void tst_TranslateMappings::keepsToolNamesThatFit()
{
    ToolNameMap map;
    const QString fits = QString(64, QLatin1Char('a'));
    QCOMPARE(map.shorten(QStringLiteral("Bash")), QStringLiteral("Bash"));
    QCOMPARE(map.shorten(fits), fits);
    QVERIFY(map.isEmpty());
    QCOMPARE(map.original(QStringLiteral("Bash")), QStringLiteral("Bash"));
}

void tst_TranslateMappings::shortensLongToolNamesStably()
{
    const QString longName = QStringLiteral("mcp__server__") + QString(80, QLatin1Char('x'));
    const QString otherLongName = longName + QStringLiteral("_v2");
    ToolNameMap map;
    const QString shortName = map.shorten(longName);
    const QString otherShortName = map.shorten(otherLongName);

    static const QRegularExpression openAiName(QStringLiteral("^[a-zA-Z0-9_-]{1,64}$"));
    QVERIFY2(openAiName.match(shortName).hasMatch(), qPrintable(shortName));
    QVERIFY(openAiName.match(otherShortName).hasMatch());
    QVERIFY(shortName.startsWith(longName.left(55)));
    QVERIFY(shortName != otherShortName); // same 55-character prefix, different names
    QCOMPARE(ToolNameMap().shorten(longName), shortName); // the same in every request
    QCOMPARE(map.original(shortName), longName);
    QCOMPARE(map.original(otherShortName), otherLongName);
    QCOMPARE(map.size(), 2);
    QCOMPARE(ToolNameMap().original(shortName), shortName); // unknown: passed through
}

void tst_TranslateMappings::keepsSurrogatePairsWholeWhenShortening()
{
    // U+1F600 is a surrogate pair in UTF-16; here its first half is the 55th code unit.
    const QString longName = QString(54, QLatin1Char('a')) + QString::fromUtf8("\xF0\x9F\x98\x80")
        + QString(20, QLatin1Char('b'));
    ToolNameMap map;
    const QString shortName = map.shorten(longName);
    QVERIFY(shortName.size() <= ToolNameMap::kMaxNameLength);
    // A lone surrogate does not survive the trip through UTF-8.
    QCOMPARE(QString::fromUtf8(shortName.toUtf8()), shortName);
    QVERIFY(shortName.startsWith(QString(54, QLatin1Char('a')) + QLatin1Char('_')));
    QCOMPARE(map.original(shortName), longName);
}

void tst_TranslateMappings::parsesToolArguments_data()
{
    QTest::addColumn<QString>("arguments");
    QTest::addColumn<QByteArray>("input");
    QTest::newRow("object") << QStringLiteral(R"({"a":1,"b":[true]})")
                            << QByteArray(R"({"a":1,"b":[true]})");
    QTest::newRow("empty") << QString() << QByteArray("{}");
    QTest::newRow("blank") << QStringLiteral("  \n") << QByteArray("{}");
    QTest::newRow("whitespace around") << QStringLiteral(" {\"a\":1} ") << QByteArray(R"({"a":1})");
    QTest::newRow("encoded twice") << QStringLiteral(R"("{\"a\":1}")") << QByteArray(R"({"a":1})");
    QTest::newRow("cut short") << QStringLiteral(R"({"a":)") << QByteArray(R"({"_raw":"{\"a\":"})");
    QTest::newRow("an array") << QStringLiteral("[1]") << QByteArray(R"({"_raw":"[1]"})");
    QTest::newRow("a string of text")
        << QStringLiteral(R"("ls")") << QByteArray(R"({"_raw":"\"ls\""})");
}

void tst_TranslateMappings::parsesToolArguments()
{
    QFETCH(QString, arguments);
    QFETCH(QByteArray, input);
    const QString difference = jsonDifference(ToolArguments::parse(arguments), objectOf(input));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    QCOMPARE(ToolArguments::parse(ToolArguments::serialize(objectOf(input))), objectOf(input));
}

void tst_TranslateMappings::mapsFinishReasonsToStopReasons_data()
{
    QTest::addColumn<QString>("finishReason");
    QTest::addColumn<QString>("stopReason");
    QTest::newRow("stop") << QStringLiteral("stop") << QStringLiteral("end_turn");
    QTest::newRow("length") << QStringLiteral("length") << QStringLiteral("max_tokens");
    QTest::newRow("tool_calls") << QStringLiteral("tool_calls") << QStringLiteral("tool_use");
    QTest::newRow("function_call") << QStringLiteral("function_call") << QStringLiteral("tool_use");
    QTest::newRow("content_filter")
        << QStringLiteral("content_filter") << QStringLiteral("refusal");
    QTest::newRow("unknown") << QStringLiteral("eos") << QStringLiteral("end_turn");
}

void tst_TranslateMappings::mapsFinishReasonsToStopReasons()
{
    QFETCH(QString, finishReason);
    QFETCH(QString, stopReason);
    QCOMPARE(StopReasons::toAnthropic(finishReason), stopReason);
}

void tst_TranslateMappings::readsOpenAiUsage_data()
{
    QTest::addColumn<QByteArray>("usage");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("OpenAI cached_tokens")
        << QByteArray(
               R"({"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":64}})")
        << QByteArray(
               R"({"inputTokens":36,"outputTokens":5,"cacheReadTokens":64,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"stopReason":"","hasUsage":true})");
    QTest::newRow("DeepSeek prompt_cache_hit_tokens")
        << QByteArray(
               R"({"prompt_tokens":100,"completion_tokens":5,"prompt_cache_hit_tokens":90,"prompt_cache_miss_tokens":10})")
        << QByteArray(
               R"({"inputTokens":10,"outputTokens":5,"cacheReadTokens":90,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"stopReason":"","hasUsage":true})");
    QTest::newRow("cache writes")
        << QByteArray(
               R"({"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":10,"cache_write_tokens":30}})")
        << QByteArray(
               R"({"inputTokens":60,"outputTokens":5,"cacheReadTokens":10,"cacheWrite5mTokens":30,"cacheWrite1hTokens":0,"stopReason":"","hasUsage":true})");
    QTest::newRow("more cached than prompted")
        << QByteArray(
               R"({"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}})")
        << QByteArray(
               R"({"inputTokens":0,"outputTokens":1,"cacheReadTokens":9,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"stopReason":"","hasUsage":true})");
    QTest::newRow("none")
        << QByteArray("{}")
        << QByteArray(
               R"({"inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"stopReason":"","hasUsage":false})");
}

void tst_TranslateMappings::readsOpenAiUsage()
{
    QFETCH(QByteArray, usage);
    QFETCH(QByteArray, expected);
    const QString difference =
        jsonDifference(usageJson(UsageTranslator::fromOpenAi(objectOf(usage))), objectOf(expected));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateMappings::overwritesUsageFromMessageDelta()
{
    Usage usage = UsageTranslator::fromAnthropic(objectOf(
        R"({"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":5000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":1})"));
    QCOMPARE(usage.cacheWrite5mTokens, 100);
    QCOMPARE(usage.cacheWrite1hTokens, 200);
    UsageTranslator::applyAnthropicDelta(usage, objectOf(R"({"output_tokens":7})"));
    QCOMPARE(usage.outputTokens, 7);
    QCOMPARE(usage.inputTokens, 12); // absent: kept
    UsageTranslator::applyAnthropicDelta(
        usage,
        objectOf(R"({"output_tokens":9,"input_tokens":13,"cache_creation_input_tokens":300})"));
    QCOMPARE(usage.outputTokens, 9); // overwritten, never added
    QCOMPARE(usage.inputTokens, 13);
    QCOMPARE(usage.cacheWrite5mTokens, 100); // the split stands when the total does
    QCOMPARE(usage.cacheWrite1hTokens, 200);
}

void tst_TranslateMappings::writesOpenAiUsage()
{
    Usage usage;
    usage.inputTokens = 12;
    usage.cacheReadTokens = 5000;
    usage.cacheWrite1hTokens = 300;
    usage.outputTokens = 7;
    const QString difference = jsonDifference(
        UsageTranslator::toOpenAi(usage),
        objectOf(
            R"({"prompt_tokens":5312,"completion_tokens":7,"total_tokens":5319,"prompt_tokens_details":{"cached_tokens":5000,"cache_creation_tokens":300}})"));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    // And back: what this side writes, the other side reads as the same counts.
    const Usage readBack = UsageTranslator::fromOpenAi(UsageTranslator::toOpenAi(usage));
    QCOMPARE(readBack.inputTokens, usage.inputTokens);
    QCOMPARE(readBack.cacheReadTokens, usage.cacheReadTokens);
    QCOMPARE(readBack.cacheWriteTokens(), usage.cacheWriteTokens());
    QCOMPARE(readBack.outputTokens, usage.outputTokens);
}

QTEST_APPLESS_MAIN(tst_TranslateMappings)
#include "tst_TranslateMappings.moc"
