#include "Compressors.h"
#include "usage/ResponseObserver.h"
#include "usage/UsageExtractor.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace tollgate {
// Lets QCOMPARE print both sides of a failed Usage comparison.
char *toString(const Usage &usage)
{
    const QString text =
        QStringLiteral("in=%1 out=%2 w5m=%3 w1h=%4 read=%5 search=%6 fetch=%7 tier=%8 "
                       "speed=%9 geo=%10 stop=%11 has=%12")
            .arg(usage.inputTokens)
            .arg(usage.outputTokens)
            .arg(usage.cacheWrite5mTokens)
            .arg(usage.cacheWrite1hTokens)
            .arg(usage.cacheReadTokens)
            .arg(usage.webSearchRequests)
            .arg(usage.webFetchRequests)
            .arg(usage.serviceTier, usage.speed, usage.inferenceGeo, usage.stopReason)
            .arg(usage.hasUsage);
    return qstrdup(text.toUtf8().constData());
}
} // namespace tollgate

namespace {

QByteArray readFixture(const char *name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + QString::fromLatin1(name));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

QByteArray fixtureStream()
{
    return readFixture("sample-response.sse");
}

Usage usageOf(qint64 input, qint64 output, qint64 write5m, qint64 write1h, qint64 read,
              const char *tier, const char *stopReason)
{
    Usage usage;
    usage.inputTokens = input;
    usage.outputTokens = output;
    usage.cacheWrite5mTokens = write5m;
    usage.cacheWrite1hTokens = write1h;
    usage.cacheReadTokens = read;
    usage.serviceTier = QString::fromLatin1(tier);
    usage.stopReason = QString::fromLatin1(stopReason);
    usage.hasUsage = true;
    return usage;
}

// The usage Claude Code reported as $0.005735 for the fixture stream.
Usage fixtureUsage()
{
    return usageOf(12, 7, 0, 300, 5000, "standard", "end_turn");
}

ResponseObservation observeStream(const QList<QByteArray> &chunks,
                                  const QByteArray &contentEncoding = {})
{
    ResponseObserver observer;
    observer.begin("text/event-stream", contentEncoding);
    for (const QByteArray &chunk : chunks)
        observer.feed(chunk.constData(), chunk.size());
    observer.finish();
    return observer.take();
}

ResponseObservation observeStream(const QByteArray &stream)
{
    return observeStream(QList<QByteArray> {stream});
}

ResponseObservation bodyObservation(const QByteArray &body)
{
    ResponseObservation observation;
    observation.body = body;
    return observation;
}

QByteArray sse(const char *event, const QByteArray &data)
{
    return "event: " + QByteArray(event) + "\ndata: " + data + "\n\n";
}

QByteArray messageStart(const QByteArray &usage)
{
    return sse("message_start",
               R"({"type":"message_start","message":{"id":"msg_2","type":"message",)"
               R"("role":"assistant","model":"claude-sonnet-5","content":[],)"
               R"("stop_reason":null,"stop_sequence":null,"usage":)"
                   + usage + "}}");
}

QByteArray messageDelta(const QByteArray &stopReason, const QByteArray &usage)
{
    return sse("message_delta",
               R"({"type":"message_delta","delta":{"stop_reason":)" + stopReason
                   + R"(,"stop_sequence":null},"usage":)" + usage + "}");
}

const QByteArray kBlockStart =
    sse("content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
const QByteArray kBlockStop =
    sse("content_block_stop", R"({"type":"content_block_stop","index":0})");
const QByteArray kMessageStop = sse("message_stop", R"({"type":"message_stop"})");

// A request body shaped like Claude Code's, with the given system and metadata.user_id.
QByteArray requestWith(const QJsonValue &system, const QString &userId)
{
    QJsonObject request {{QStringLiteral("model"), QStringLiteral("claude-sonnet-5")},
                         {QStringLiteral("max_tokens"), 64000},
                         {QStringLiteral("stream"), true},
                         {QStringLiteral("system"), system}};
    if (!userId.isNull())
        request.insert(QStringLiteral("metadata"),
                       QJsonObject {{QStringLiteral("user_id"), userId}});
    return QJsonDocument(request).toJson(QJsonDocument::Compact);
}

} // namespace

class tst_UsageExtractor final : public QObject
{
    Q_OBJECT

private slots:
    void readsFixtureUsageAtEverySplitPoint();
    void readsGzipCompressedStream();
    void keepsMessageStartUsageOfStreamCutBeforeDelta();
    void completesStreamCutAfterFinalDelta();
    void leavesStreamWithOpenBlockIncomplete();
    void reportsErrorEvent();
    void countsCacheWritesWithoutSplitAsFiveMinute();
    void adjustsSplitToDeltaTotal_data();
    void adjustsSplitToDeltaTotal();
    void overwritesCumulativeDeltaFieldsWithoutAdding();
    void ignoresNullDeltaFields();
    void readsEveryUsageField();
    void readsJsonResponse();
    void readsErrorBody();
    void marksTruncatedOrUndecodableBodyIncomplete();
    void ignoresNonJsonBody();
    void sumsSucceededBatchResults();
    void readsBatchResultsError();
    void readsClaudeCodeRequestFixture();
    void readsSessionIdForms_data();
    void readsSessionIdForms();
    void readsProjectFromSystemPrompt_data();
    void readsProjectFromSystemPrompt();
    void readsSpeedAndStream();
    void givesEmptyFactsForInvalidJson_data();
    void givesEmptyFactsForInvalidJson();
    void readsFactsAfterMegabytesOfConversation();
    void readsUsageMemberNotUsageTextInContent();
    void readsABodysUsageAsAStreamsStartReadsIt_data();
    void readsABodysUsageAsAStreamsStartReadsIt();
};

void tst_UsageExtractor::readsFixtureUsageAtEverySplitPoint()
{
    const QByteArray stream = fixtureStream();
    QVERIFY(!stream.isEmpty());
    for (qsizetype split = 0; split <= stream.size(); ++split) {
        const ResponseUsage response = UsageExtractor::responseUsage(
            observeStream({stream.left(split), stream.mid(split)}), false);
        if (!(response.usage == fixtureUsage()))
            qWarning("split at %lld", qlonglong(split));
        QCOMPARE(response.usage, fixtureUsage());
        QCOMPARE(response.model, QStringLiteral("claude-opus-4-8"));
        QVERIFY(!response.isIncomplete);
        QCOMPARE(response.errorType, QString());
    }
    const ResponseUsage response = UsageExtractor::responseUsage(observeStream(stream), false);
    QCOMPARE(response.usage, fixtureUsage());
}

void tst_UsageExtractor::readsGzipCompressedStream()
{
    const QByteArray encoded = Compressors::gzip(fixtureStream());
    QVERIFY(!encoded.isEmpty());
    for (qsizetype split = 0; split <= encoded.size(); ++split) {
        const ResponseUsage response = UsageExtractor::responseUsage(
            observeStream({encoded.left(split), encoded.mid(split)}, "gzip"), false);
        if (!(response.usage == fixtureUsage()))
            qWarning("split at %lld", qlonglong(split));
        QCOMPARE(response.usage, fixtureUsage());
        QCOMPARE(response.model, QStringLiteral("claude-opus-4-8"));
        QVERIFY(!response.isIncomplete);
    }
}

void tst_UsageExtractor::keepsMessageStartUsageOfStreamCutBeforeDelta()
{
    const QByteArray stream = fixtureStream();
    const qsizetype cut = stream.indexOf("event: message_delta");
    QVERIFY(cut > 0);
    const ResponseUsage response =
        UsageExtractor::responseUsage(observeStream(stream.left(cut)), false);
    QCOMPARE(response.usage, usageOf(12, 1, 0, 300, 5000, "standard", ""));
    QCOMPARE(response.model, QStringLiteral("claude-opus-4-8"));
    QVERIFY(response.isIncomplete);
}

void tst_UsageExtractor::completesStreamCutAfterFinalDelta()
{
    const QByteArray stream = fixtureStream();
    const qsizetype cut = stream.indexOf("event: message_stop");
    QVERIFY(cut > 0);
    const ResponseObservation observation = observeStream(stream.left(cut));
    QVERIFY(!observation.sawMessageStop);
    const ResponseUsage response = UsageExtractor::responseUsage(observation, false);
    QCOMPARE(response.usage, fixtureUsage());
    QVERIFY(!response.isIncomplete);
}

void tst_UsageExtractor::leavesStreamWithOpenBlockIncomplete()
{
    const QByteArray stream = messageStart(R"({"input_tokens":5,"output_tokens":1})") + kBlockStart
        + messageDelta(R"("max_tokens")", R"({"output_tokens":9})");
    const ResponseUsage response = UsageExtractor::responseUsage(observeStream(stream), false);
    QVERIFY(response.isIncomplete);
    QCOMPARE(response.usage, usageOf(5, 9, 0, 0, 0, "", "max_tokens"));

    // A delta without a stop_reason does not complete the stream either.
    const QByteArray noStop = messageStart(R"({"input_tokens":5,"output_tokens":1})") + kBlockStart
        + kBlockStop + messageDelta("null", R"({"output_tokens":9})");
    QVERIFY(UsageExtractor::responseUsage(observeStream(noStop), false).isIncomplete);
}

void tst_UsageExtractor::reportsErrorEvent()
{
    const QByteArray stream = messageStart(R"({"input_tokens":40,"output_tokens":1})") + kBlockStart
        + sse("error",
              R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
    const ResponseUsage response = UsageExtractor::responseUsage(observeStream(stream), false);
    QCOMPARE(response.errorType, QStringLiteral("overloaded_error"));
    QVERIFY(response.isIncomplete);
    QCOMPARE(response.usage, usageOf(40, 1, 0, 0, 0, "", ""));
    QCOMPARE(response.model, QStringLiteral("claude-sonnet-5"));

    // An error event without a readable type still counts as an error.
    const ResponseUsage bare =
        UsageExtractor::responseUsage(observeStream(sse("error", "not json")), false);
    QCOMPARE(bare.errorType, QStringLiteral("error"));
    QVERIFY(!bare.usage.hasUsage);
}

void tst_UsageExtractor::countsCacheWritesWithoutSplitAsFiveMinute()
{
    const QByteArray stream = messageStart(R"({"input_tokens":3,"cache_creation_input_tokens":500,)"
                                           R"("cache_read_input_tokens":20,"output_tokens":1})")
        + kBlockStart + kBlockStop
        + messageDelta(R"("end_turn")",
                       R"({"cache_creation_input_tokens":500,)"
                       R"("output_tokens":30})")
        + kMessageStop;
    const ResponseUsage response = UsageExtractor::responseUsage(observeStream(stream), false);
    QCOMPARE(response.usage, usageOf(3, 30, 500, 0, 20, "", "end_turn"));
    QVERIFY(!response.isIncomplete);
}

void tst_UsageExtractor::adjustsSplitToDeltaTotal_data()
{
    QTest::addColumn<int>("deltaTotal");
    QTest::addColumn<int>("write5m");
    QTest::addColumn<int>("write1h");
    // message_start: 100 5m + 200 1h = 300.
    QTest::newRow("same total") << 300 << 100 << 200;
    QTest::newRow("more: added to 5m") << 350 << 150 << 200;
    QTest::newRow("less: taken from 5m") << 250 << 50 << 200;
    QTest::newRow("less than 1h: 5m empty") << 50 << 0 << 50;
    QTest::newRow("zero") << 0 << 0 << 0;
}

void tst_UsageExtractor::adjustsSplitToDeltaTotal()
{
    QFETCH(int, deltaTotal);
    QFETCH(int, write5m);
    QFETCH(int, write1h);
    const QByteArray stream = messageStart(R"({"input_tokens":1,"cache_creation_input_tokens":300,)"
                                           R"("cache_creation":{"ephemeral_5m_input_tokens":100,)"
                                           R"("ephemeral_1h_input_tokens":200},"output_tokens":1})")
        + messageDelta(R"("end_turn")",
                       R"({"cache_creation_input_tokens":)" + QByteArray::number(deltaTotal)
                           + R"(,"output_tokens":2})")
        + kMessageStop;
    const Usage usage = UsageExtractor::responseUsage(observeStream(stream), false).usage;
    QCOMPARE(usage.cacheWrite5mTokens, write5m);
    QCOMPARE(usage.cacheWrite1hTokens, write1h);
    QCOMPARE(usage.cacheWriteTokens(), deltaTotal);
}

void tst_UsageExtractor::overwritesCumulativeDeltaFieldsWithoutAdding()
{
    const QByteArray stream =
        messageStart(R"({"input_tokens":12,"cache_read_input_tokens":100,"output_tokens":1,)"
                     R"("server_tool_use":{"web_search_requests":0}})")
        + kBlockStart + kBlockStop
        + messageDelta(R"("pause_turn")",
                       R"({"cache_read_input_tokens":150,"output_tokens":7,)"
                       R"("server_tool_use":{"web_search_requests":2}})")
        + messageDelta(R"("end_turn")",
                       R"({"output_tokens":11,)"
                       R"("server_tool_use":{"web_search_requests":3,)"
                       R"("web_fetch_requests":1}})")
        + kMessageStop;
    const Usage usage = UsageExtractor::responseUsage(observeStream(stream), false).usage;
    QCOMPARE(usage.inputTokens, 12); // absent from the deltas: kept from message_start
    QCOMPARE(usage.cacheReadTokens, 100); // only the last delta counts, and it has none
    QCOMPARE(usage.outputTokens, 11);
    QCOMPARE(usage.webSearchRequests, 3);
    QCOMPARE(usage.webFetchRequests, 1);
    QCOMPARE(usage.stopReason, QStringLiteral("end_turn"));
}

void tst_UsageExtractor::ignoresNullDeltaFields()
{
    const QByteArray stream = messageStart(R"({"input_tokens":12,"cache_creation_input_tokens":40,)"
                                           R"("cache_read_input_tokens":100,"output_tokens":1,)"
                                           R"("service_tier":"priority"})")
        + messageDelta(R"("end_turn")",
                       R"({"input_tokens":null,)"
                       R"("cache_creation_input_tokens":null,)"
                       R"("cache_read_input_tokens":null,)"
                       R"("server_tool_use":null,"output_tokens":5})")
        + kMessageStop;
    const ResponseUsage response = UsageExtractor::responseUsage(observeStream(stream), false);
    QCOMPARE(response.usage, usageOf(12, 5, 40, 0, 100, "priority", "end_turn"));
}

void tst_UsageExtractor::readsEveryUsageField()
{
    const QByteArray stream =
        messageStart(R"({"input_tokens":7,"cache_creation_input_tokens":30,)"
                     R"("cache_read_input_tokens":9,"cache_creation":)"
                     R"({"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20},)"
                     R"("output_tokens":2,"server_tool_use":{"web_search_requests":1,)"
                     R"("web_fetch_requests":4},"service_tier":"priority","speed":"fast",)"
                     R"("inference_geo":"us"})")
        + messageDelta(R"("tool_use")", R"({"output_tokens":80})") + kMessageStop;
    const Usage usage = UsageExtractor::responseUsage(observeStream(stream), false).usage;
    Usage expected = usageOf(7, 80, 10, 20, 9, "priority", "tool_use");
    expected.webSearchRequests = 1;
    expected.webFetchRequests = 4;
    expected.speed = QStringLiteral("fast");
    expected.inferenceGeo = QStringLiteral("us");
    QCOMPARE(usage, expected);
}

void tst_UsageExtractor::readsJsonResponse()
{
    const QByteArray body =
        R"({"id":"msg_3","type":"message","role":"assistant","model":"claude-haiku-4-5",)"
        R"("content":[{"type":"text","text":"hi"}],"stop_reason":"max_tokens",)"
        R"("stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":64,)"
        R"("cache_read_input_tokens":8,"cache_creation":{"ephemeral_5m_input_tokens":0,)"
        R"("ephemeral_1h_input_tokens":64},"output_tokens":16,"service_tier":"standard"}})";
    const ResponseUsage response = UsageExtractor::responseUsage(bodyObservation(body), false);
    QCOMPARE(response.usage, usageOf(21, 16, 0, 64, 8, "standard", "max_tokens"));
    QCOMPARE(response.model, QStringLiteral("claude-haiku-4-5"));
    QVERIFY(!response.isIncomplete);
    QCOMPARE(response.errorType, QString());
}

void tst_UsageExtractor::readsErrorBody()
{
    const QByteArray body = R"({"type":"error","error":{"type":"rate_limit_error",)"
                            R"("message":"Number of request tokens has exceeded your limit"},)"
                            R"("request_id":"req_1"})";
    const ResponseUsage response = UsageExtractor::responseUsage(bodyObservation(body), false);
    QCOMPARE(response.errorType, QStringLiteral("rate_limit_error"));
    QVERIFY(!response.usage.hasUsage);
    QCOMPARE(response.usage, Usage());
    QCOMPARE(response.model, QString());
}

void tst_UsageExtractor::marksTruncatedOrUndecodableBodyIncomplete()
{
    const QByteArray body = R"({"model":"claude-haiku-4-5","usage":{"input_tokens":2,"output)";
    ResponseObservation truncated = bodyObservation(body);
    truncated.isBodyTruncated = true;
    ResponseUsage response = UsageExtractor::responseUsage(truncated, false);
    QVERIFY(response.isIncomplete);
    QVERIFY(!response.usage.hasUsage);

    ResponseObservation undecodable;
    undecodable.decodeError = QStringLiteral("gzip: corrupt data (incorrect header check)");
    response = UsageExtractor::responseUsage(undecodable, false);
    QVERIFY(response.isIncomplete);
    QVERIFY(!response.usage.hasUsage);
}

void tst_UsageExtractor::ignoresNonJsonBody()
{
    const ResponseUsage response =
        UsageExtractor::responseUsage(bodyObservation("<html>Bad gateway</html>"), false);
    QVERIFY(!response.usage.hasUsage);
    QVERIFY(!response.isIncomplete);
    QCOMPARE(response.errorType, QString());
}

void tst_UsageExtractor::sumsSucceededBatchResults()
{
    const QByteArray body =
        R"({"custom_id":"a","result":{"type":"succeeded","message":{"id":"msg_a",)"
        R"("model":"claude-sonnet-5","stop_reason":"end_turn","usage":{"input_tokens":10,)"
        R"("cache_creation_input_tokens":100,"cache_read_input_tokens":1000,)"
        R"("cache_creation":{"ephemeral_5m_input_tokens":40,"ephemeral_1h_input_tokens":60},)"
        R"("output_tokens":20,"service_tier":"batch"}}}})"
        "\n"
        R"({"custom_id":"b","result":{"type":"errored","error":{"type":"error","error":)"
        R"({"type":"invalid_request_error","message":"bad"}}}})"
        "\n\r\n"
        R"({"custom_id":"c","result":{"type":"succeeded","message":{"id":"msg_c",)"
        R"("model":"claude-opus-4-8","usage":{"input_tokens":5,)"
        R"("cache_creation_input_tokens":7,"cache_read_input_tokens":0,)"
        R"("output_tokens":3,"server_tool_use":{"web_search_requests":2}}}}})"
        "\n"
        R"({"custom_id":"d","result":{"type":"expired"}})"
        "\n";
    const ResponseUsage response = UsageExtractor::responseUsage(bodyObservation(body), true);
    Usage expected = usageOf(15, 23, 47, 60, 1000, "batch", "");
    expected.webSearchRequests = 2;
    QCOMPARE(response.usage, expected);
    QCOMPARE(response.model, QStringLiteral("claude-sonnet-5"));
    QVERIFY(!response.isIncomplete);
    QCOMPARE(response.errorType, QString());

    // A body cut inside a line keeps the whole lines before it.
    ResponseObservation truncated =
        bodyObservation(body.left(body.indexOf("\"custom_id\":\"c\"") + 30));
    truncated.isBodyTruncated = true;
    const ResponseUsage partial = UsageExtractor::responseUsage(truncated, true);
    QCOMPARE(partial.usage, usageOf(10, 20, 40, 60, 1000, "batch", ""));
    QVERIFY(partial.isIncomplete);
}

void tst_UsageExtractor::readsBatchResultsError()
{
    const QByteArray body = R"({"type":"error","error":{"type":"not_found_error",)"
                            R"("message":"batch not found"}})";
    const ResponseUsage response = UsageExtractor::responseUsage(bodyObservation(body), true);
    QCOMPARE(response.errorType, QStringLiteral("not_found_error"));
    QVERIFY(!response.usage.hasUsage);
}

void tst_UsageExtractor::readsClaudeCodeRequestFixture()
{
    const QByteArray body = readFixture("tool-loop.turn1.body.json");
    QVERIFY(body.size() > 10000);
    const RequestFacts facts = UsageExtractor::requestFacts(body);
    QCOMPARE(facts.model, QStringLiteral("claude-opus-4-8"));
    QCOMPARE(facts.sessionId, QByteArray("4e580bf0-743a-437e-8de0-14e327152c1e"));
    QVERIFY(facts.isStream);
    QCOMPARE(facts.speed, QString());
    QCOMPARE(facts.project, QString()); // the fixture's prompt text is filler
}

void tst_UsageExtractor::readsFactsAfterMegabytesOfConversation()
{
    // A long Claude Code session: the facts sit around 8 MiB of messages, with escapes.
    QByteArray messages = "[";
    const QByteArray turn = R"({"role":"user","content":[{"type":"text","text":"line \"quoted\" )"
                            R"(\u00e9 \\ {\"model\":\"not-this\"}\n"}]},)";
    while (messages.size() < 8 * 1024 * 1024)
        messages += turn;
    messages += R"({"role":"user","content":"last"}])";
    const QByteArray body = R"({"stream":true,"messages":)" + messages
        + R"(,"system":[{"type":"text","text":"x-anthropic-billing-header: cc"},)"
          R"({"type":"text","text":"Env\n - Working directory: /home/me/proj\n"}],)"
          R"("metadata":{"user_id":"{\"session_id\":\"abc-123\"}"},"model":"claude-x-9"})";
    const RequestFacts facts = UsageExtractor::requestFacts(body);
    QCOMPARE(facts.model, QStringLiteral("claude-x-9"));
    QVERIFY(facts.isStream);
    QCOMPARE(facts.sessionId, QByteArray("abc-123"));
    QCOMPARE(facts.project, QStringLiteral("/home/me/proj"));
}

void tst_UsageExtractor::readsUsageMemberNotUsageTextInContent()
{
    const QByteArray body =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",)"
        R"("content":[{"type":"text","text":"\"usage\":{\"input_tokens\":999},\"type\":\"error\""}],)"
        R"("stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":34}})";
    const ResponseUsage response = UsageExtractor::responseUsage(bodyObservation(body), false);
    QCOMPARE(response.model, QStringLiteral("claude-x"));
    QCOMPARE(response.usage.inputTokens, qint64(12));
    QCOMPARE(response.usage.outputTokens, qint64(34));
    QCOMPARE(response.usage.stopReason, QStringLiteral("end_turn"));
    QVERIFY(response.errorType.isEmpty());
}

void tst_UsageExtractor::readsSessionIdForms_data()
{
    QTest::addColumn<QString>("userId");
    QTest::addColumn<QByteArray>("sessionId");
    const QString hex = QString(64, u'a');
    QTest::newRow("json") << QStringLiteral(
        R"({"device_id":"80b2f8","account_uuid":"","session_id":"4e580bf0-743a-437e-8de0-14e327152c1e"})")
                          << QByteArray("4e580bf0-743a-437e-8de0-14e327152c1e");
    QTest::newRow("legacy, no account")
        << QStringLiteral("user_%1_account__session_0b7c4d0e-1111-4a2b-9c3d-123456789abc").arg(hex)
        << QByteArray("0b7c4d0e-1111-4a2b-9c3d-123456789abc");
    QTest::newRow("legacy with account")
        << QStringLiteral("user_%1_account_5f0d1e2a-2222-4b3c-8d4e-abcdefabcdef"
                          "_session_0b7c4d0e-1111-4a2b-9c3d-123456789abc")
               .arg(hex)
        << QByteArray("0b7c4d0e-1111-4a2b-9c3d-123456789abc");
    QTest::newRow("sdk user id") << QStringLiteral("user-1234") << QByteArray();
    QTest::newRow("json without session") << QStringLiteral(R"({"device_id":"x"})") << QByteArray();
    QTest::newRow("broken json") << QStringLiteral(R"({"session_id":)") << QByteArray();
    QTest::newRow("hostile id") << QStringLiteral(R"({"session_id":"../../etc/passwd"})")
                                << QByteArray();
    QTest::newRow("legacy empty session")
        << QStringLiteral("user_%1_account__session_").arg(hex) << QByteArray();
    QTest::newRow("empty") << QString() << QByteArray();
}

void tst_UsageExtractor::readsSessionIdForms()
{
    QFETCH(QString, userId);
    QFETCH(QByteArray, sessionId);
    QCOMPARE(UsageExtractor::sessionIdFromUserId(userId), sessionId);
    const RequestFacts facts =
        UsageExtractor::requestFacts(requestWith(QStringLiteral("You are Claude."), userId));
    QCOMPARE(facts.sessionId, sessionId);
}

void tst_UsageExtractor::readsProjectFromSystemPrompt_data()
{
    QTest::addColumn<QJsonValue>("system");
    QTest::addColumn<QString>("project");
    QTest::newRow("string") << QJsonValue(
        QStringLiteral("You are Claude Code.\n\n<env>\nWorking directory: /home/ann/proj\n"
                       "Is directory a git repo: Yes\nPlatform: linux\n</env>"))
                            << QStringLiteral("/home/ann/proj");
    QTest::newRow("primary, bulleted, crlf")
        << QJsonValue(QStringLiteral("# Environment\r\n - Primary working directory: "
                                     "/srv/app with space  \r\n - Platform: darwin"))
        << QStringLiteral("/srv/app with space");
    QTest::newRow("at end of text") << QJsonValue(QStringLiteral("Working directory: C:\\src\\x"))
                                    << QStringLiteral("C:\\src\\x");
    const QJsonArray blocks {
        QJsonObject {{QStringLiteral("type"), QStringLiteral("text")},
                     {QStringLiteral("text"),
                      QStringLiteral("x-anthropic-billing-header: cc_version=2.1.197;")}},
        QJsonObject {{QStringLiteral("type"), QStringLiteral("image")},
                     {QStringLiteral("text"), QStringLiteral("Working directory: /wrong")}},
        QJsonObject {{QStringLiteral("type"), QStringLiteral("text")},
                     {QStringLiteral("text"),
                      QStringLiteral("Notes\nWorking directory: /home/ann/proj\n")}}};
    QTest::newRow("array") << QJsonValue(blocks) << QStringLiteral("/home/ann/proj");
    QTest::newRow("mentioned mid-line") << QJsonValue(QStringLiteral(
        "Always report the Working directory: never guess.\nThe shell's working directory: x"))
                                        << QString();
    QTest::newRow("empty value") << QJsonValue(QStringLiteral("Working directory:   \nmore"))
                                 << QString();
    QTest::newRow("none") << QJsonValue(QStringLiteral("You are a helpful assistant."))
                          << QString();
    QTest::newRow("absent") << QJsonValue() << QString();
}

void tst_UsageExtractor::readsProjectFromSystemPrompt()
{
    QFETCH(QJsonValue, system);
    QFETCH(QString, project);
    QCOMPARE(UsageExtractor::projectFromSystemPrompt(system), project);
    QCOMPARE(UsageExtractor::requestFacts(requestWith(system, QString())).project, project);
}

void tst_UsageExtractor::readsSpeedAndStream()
{
    const RequestFacts facts = UsageExtractor::requestFacts(
        R"({"model":"claude-opus-4-8","speed":"fast","stream":false,"messages":[]})");
    QCOMPARE(facts.model, QStringLiteral("claude-opus-4-8"));
    QCOMPARE(facts.speed, QStringLiteral("fast"));
    QVERIFY(!facts.isStream);
    QCOMPARE(facts.sessionId, QByteArray());
}

void tst_UsageExtractor::givesEmptyFactsForInvalidJson_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("truncated") << QByteArray(R"({"model":"claude-opus-4-8","stream":tr)");
    QTest::newRow("array") << QByteArray(R"([{"model":"claude-opus-4-8"}])");
    QTest::newRow("binary") << QByteArray("\x00\xff\xfe{", 4);
    QTest::newRow("wrong types") << QByteArray(
        R"({"model":7,"stream":"yes","metadata":{"user_id":5},"system":9})");
}

void tst_UsageExtractor::givesEmptyFactsForInvalidJson()
{
    QFETCH(QByteArray, body);
    const RequestFacts facts = UsageExtractor::requestFacts(body);
    QCOMPARE(facts.model, QString());
    QCOMPARE(facts.sessionId, QByteArray());
    QCOMPARE(facts.project, QString());
    QVERIFY(!facts.isStream);
    QCOMPARE(facts.speed, QString());
}

// A whole response's usage is read by a scan, a stream's message_start by QJsonDocument:
// both must give the same figures for every usage object, odd ones included (whole numbers
// written as 5.0 or 1e3, fractions, negatives, numbers past 64 bits, strings and nulls in
// place of counts, members named twice).
void tst_UsageExtractor::readsABodysUsageAsAStreamsStartReadsIt_data()
{
    QTest::addColumn<QByteArray>("usage");
    const QList<QByteArray> members = {
        R"("input_tokens":12)",
        R"("input_tokens":5.0)",
        R"("input_tokens":5.5)",
        R"("input_tokens":-3)",
        R"("input_tokens":1e3)",
        R"("input_tokens":"7")",
        R"("input_tokens":null)",
        R"("output_tokens":9223372036854775807)",
        R"("output_tokens":9223372036854775808)",
        R"("output_tokens":1e20)",
        R"("output_tokens":-0.0)",
        R"("output_tokens":0.5e1)",
        R"("output_tokens":true)",
        R"("cache_read_input_tokens":5000)",
        R"("cache_read_input_tokens":[1])",
        R"("cache_creation_input_tokens":300)",
        R"("cache_creation_input_tokens":250)",
        R"("cache_creation_input_tokens":null)",
        R"("cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200})",
        R"("cache_creation":{"ephemeral_1h_input_tokens":300})",
        R"("cache_creation":{"ephemeral_5m_input_tokens":"x","other":[{"a":1}]})",
        R"("cache_creation":null)",
        R"("cache_creation":[])",
        R"("server_tool_use":{"web_search_requests":2,"web_fetch_requests":1.0})",
        R"("server_tool_use":{"web_fetch_requests":-1})",
        R"("server_tool_use":null)",
        R"("service_tier":"priority")",
        R"("service_tier":null)",
        R"("speed":"fast")",
        R"("speed":1)",
        R"("inference_geo":"us")",
        R"("inference_geo":"\u00e9u")",
        R"("unknown":{"input_tokens":99,"deep":[[],{}]})",
    };
    QTest::newRow("empty") << QByteArray("{}");
    QTest::newRow("array") << QByteArray("[]");
    QTest::newRow("null") << QByteArray("null");
    for (qsizetype i = 0; i < members.size(); ++i)
        QTest::addRow("member %lld", qlonglong(i)) << "{" + members.at(i) + "}";
    // The same member twice, and pairs that give conflicting values.
    for (qsizetype i = 0; i < members.size(); ++i)
        for (qsizetype j = 0; j < members.size(); ++j)
            if (members.at(i).left(members.at(i).indexOf(':'))
                == members.at(j).left(members.at(j).indexOf(':')))
                QTest::addRow("twice %lld %lld", qlonglong(i), qlonglong(j))
                    << "{" + members.at(i) + "," + members.at(j) + "}";
    QRandomGenerator random(20261127);
    for (int n = 0; n < 1500; ++n) {
        QByteArrayList picked;
        const int count = random.bounded(1, 9);
        for (int k = 0; k < count; ++k)
            picked.append(members.at(random.bounded(int(members.size()))));
        QTest::addRow("generated %d", n) << "{" + picked.join(',') + "}";
    }
}

void tst_UsageExtractor::readsABodysUsageAsAStreamsStartReadsIt()
{
    QFETCH(QByteArray, usage);
    const ResponseUsage fromStream =
        UsageExtractor::responseUsage(observeStream(messageStart(usage) + kMessageStop), false);
    const QByteArray body = R"({"id":"msg_4","type":"message","model":"claude-sonnet-5",)"
                            R"("content":[{"type":"text","text":"usage"}],"stop_reason":null,)"
                            R"("usage":)"
        + usage + "}";
    const ResponseUsage fromBody = UsageExtractor::responseUsage(bodyObservation(body), false);
    QCOMPARE(fromBody.usage, fromStream.usage);
    QCOMPARE(fromBody.model, QStringLiteral("claude-sonnet-5"));
}

QTEST_GUILESS_MAIN(tst_UsageExtractor)
#include "tst_UsageExtractor.moc"
